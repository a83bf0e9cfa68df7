/** The loss curve (uPlot): the loss, and the validation loss and the accuracies when the trace
 * has them, drawn as lines arrive, at most once a frame, decimated to about two points per pixel;
 * the selected epoch and early stopping's best epoch as vertical lines. */

import uPlot from "/static/vendor/uplot@1.6.32/dist/uPlot.esm.js";
import { short } from "./format.js";

const BLUE = "#2563eb";
const ORANGE = "#ea580c";
const GREEN = "#15803d";

/** Keep every `step`-th point plus each bucket's lowest and highest loss (and the last point). */
export function decimate(xs, ys, maxPoints) {
  if (xs.length <= maxPoints) return [xs, ys];
  const bucket = Math.ceil((2 * xs.length) / maxPoints);
  const keep = [];
  for (let start = 0; start < xs.length; start += bucket) {
    const end = Math.min(xs.length, start + bucket);
    let low = start;
    let high = start;
    for (let i = start; i < end; i++) {
      if (ys[0][i] < ys[0][low]) low = i;
      if (ys[0][i] > ys[0][high]) high = i;
    }
    keep.push(...(low < high ? [low, high] : low > high ? [high, low] : [low]));
  }
  if (keep[keep.length - 1] !== xs.length - 1) keep.push(xs.length - 1);
  return [keep.map((i) => xs[i]), ys.map((series) => keep.map((i) => series[i]))];
}

/** Ticks at whole decades within the axis, at most about eight (uPlot's own log splits, with every
 * minor tick, take seconds over the 30 decades a loss can fall through); 2 and 5 times a decade
 * too when the axis spans less than two. Each gets its label: uPlot's log filter, which thins
 * labels by index assuming a tick per decade, would leave one of these. */
export function decadeSplits(plot, axis, min, max) {
  const low = Math.floor(Math.log10(min));
  const high = Math.ceil(Math.log10(max));
  const step = Math.max(1, Math.ceil((high - low) / 8));
  const within = (value) => value >= min * (1 - 1e-9) && value <= max * (1 + 1e-9);
  const ticks = [];
  for (let k = low; k <= high; k += step) {
    const mantissas = high - low <= 2 ? [1, 2, 5] : [1];
    for (const m of mantissas) if (within(m * 10 ** k)) ticks.push(m * 10 ** k);
  }
  return ticks;
}

/** A tick's label: 0.5, 1, 20 near 1, else 1e-12 (or 5e-12); none for a tick whose label
 * uPlot's log axis leaves out for want of room (null). */
function decadeLabel(value) {
  if (value === null) return "";
  const k = Math.floor(Math.log10(value) + 1e-9);
  const m = Math.round(value / 10 ** k);
  return Math.abs(k) <= 3 ? String(Number(value.toPrecision(1))) : `${m}e${k}`;
}

/** A positive number for the log axis, or null (a loss of exactly 0 has no place on it). */
function positive(value) {
  return typeof value === "number" && value > 0 ? value : null;
}

/** A number, or null (an accuracy that is not defined). */
function number(value) {
  return typeof value === "number" ? value : null;
}

/** Every series the curve can show, in its order: a trace field, its line, its axis. The loss is
 * always shown; the others once a line holds a number for them. Dashed: on the validation data. */
const SERIES = [
  { field: "loss", label: "loss", stroke: BLUE, width: 2, scale: "loss", value: positive },
  { field: "validation_loss", label: "validation loss", stroke: ORANGE, width: 2, dash: [6, 4], scale: "loss", value: positive },
  { field: "accuracy", label: "accuracy", stroke: GREEN, width: 1.5, scale: "acc", value: number },
  { field: "validation_accuracy", label: "validation accuracy", stroke: GREEN, width: 1.5, dash: [6, 4], scale: "acc", value: number },
];

export class Curve {
  /** A curve in `element`; `onPick(epoch)` is called when a point is clicked. */
  constructor(element, onPick) {
    this.element = element;
    this.onPick = onPick;
    this.plot = null;
    this.frame = 0;
    this.reset();
    new ResizeObserver(() => this.resize()).observe(element);
  }

  /** Forget every point and mark. */
  reset() {
    this.epochs = [];
    this.values = Object.fromEntries(SERIES.map((series) => [series.field, []]));
    this.shown = new Set(["loss"]);
    this.selected = null;
    this.best = null;
    this.rebuild();
  }

  /** Add trace entries (one point each). */
  add(entries) {
    for (const entry of entries) {
      this.epochs.push(entry.epoch);
      for (const series of SERIES) {
        const value = series.value(entry[series.field]);
        this.values[series.field].push(value);
        if (typeof entry[series.field] === "number" && !this.shown.has(series.field)) {
          this.shown.add(series.field);
          this.plot = null;
        }
      }
    }
    this.count();
    this.schedule();
  }

  /** Keep only the points of the epochs in `epochs` (a Set): a long open-ended run thins its
   * trace, and the curve with it. */
  keep(epochs) {
    const kept = this.epochs.map((epoch) => epochs.has(epoch));
    this.epochs = this.epochs.filter((epoch, index) => kept[index]);
    for (const field of Object.keys(this.values)) this.values[field] = this.values[field].filter((value, index) => kept[index]);
    this.count();
    this.schedule();
  }

  /** Mark the selected epoch with a cursor line. */
  select(epoch) {
    this.selected = epoch;
    this.schedule();
  }

  /** Mark the best epoch of early stopping (the network it kept is that epoch's), or none. */
  markBest(epoch) {
    this.best = epoch;
    this.count();
    this.schedule();
  }

  /** The points, series and best epoch drawn, as data attributes for scripts and tests. */
  count() {
    this.element.dataset.points = String(this.epochs.length);
    this.element.dataset.best = this.best === null ? "" : String(this.best);
    this.element.dataset.series = this.shownSeries().map((series) => series.label).join(",");
    this.element.dataset.validationPoints = String(this.values.validation_loss.filter((value) => value !== null).length);
  }

  /** Redraw at the next frame (once, however many lines arrived before it). */
  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** The series shown, in SERIES's order. */
  shownSeries() {
    return SERIES.filter((series) => this.shown.has(series.field));
  }

  /** The epoch axis's range: the data's, widened to the best epoch (0: the network sent). */
  epochRange(plot, min, max) {
    const low = this.best === null ? min : Math.min(min, this.best);
    const high = this.best === null ? max : Math.max(max, this.best);
    return low === high ? [low - 1, high + 1] : [low, high];
  }

  /** Build a new uPlot for the current series. */
  rebuild() {
    if (this.plot) this.plot.destroy();
    this.element.replaceChildren();
    const width = Math.max(260, this.element.clientWidth || 600);
    const axes = [
      { label: "epoch" },
      { label: "loss", scale: "loss", splits: decadeSplits, filter: (plot, ticks) => ticks, values: (plot, ticks) => this.lossLabels(ticks) },
    ];
    const shown = this.shownSeries();
    if (shown.some((series) => series.scale === "acc")) axes.push({ label: "accuracy", scale: "acc", side: 1, grid: { show: false } });
    this.plot = new uPlot(
      {
        width,
        height: 240,
        series: [{ label: "epoch" }, ...shown.map(({ field, value, ...line }) => ({ ...line, value: (plot, number) => short(number) }))],
        scales: { x: { time: false, range: (plot, min, max) => this.epochRange(plot, min, max) }, loss: { distr: 3 }, acc: { range: [0, 1] } },
        axes,
        cursor: { drag: { x: false, y: false } },
        legend: { live: true },
        hooks: { draw: [(plot) => this.mark(plot)] },
      },
      this.data(width),
      this.element,
    );
    this.plot.over.addEventListener("click", () => {
      const index = this.plot.cursor.idx;
      if (index !== null && index !== undefined) this.onPick(this.plot.data[0][index]);
    });
    this.count();
  }

  /** The loss axis's labels for `ticks`, kept in data-loss-labels for scripts and tests. */
  lossLabels(ticks) {
    const labels = ticks.map(decadeLabel);
    this.element.dataset.lossLabels = labels.filter(Boolean).join(",");
    return labels;
  }

  /** Draw the selected epoch and the best one as vertical lines, the best one labelled. */
  mark(plot) {
    if (!this.epochs.length) return;
    if (this.selected !== null) this.line(plot, this.selected, "#7c3aed", [4, 4]);
    if (this.best !== null) this.line(plot, this.best, ORANGE, [], `best epoch ${this.best}`);
  }

  /** A vertical line at `epoch` in `color`, dashed as `dash`, with an optional label at its top. */
  line(plot, epoch, color, dash, label) {
    const ratio = window.devicePixelRatio || 1;
    const x = Math.round(plot.valToPos(epoch, "x", true));
    const { left, top, width, height } = plot.bbox;
    const context = plot.ctx;
    context.save();
    context.strokeStyle = color;
    context.lineWidth = 2 * ratio;
    context.setLineDash(dash.map((length) => length * ratio));
    context.beginPath();
    context.moveTo(x, top);
    context.lineTo(x, top + height);
    context.stroke();
    if (label) {
      context.fillStyle = color;
      context.font = `${12 * ratio}px system-ui, sans-serif`;
      const right = x + context.measureText(label).width + 8 * ratio > left + width;
      context.textAlign = right ? "right" : "left";
      context.fillText(label, x + (right ? -4 : 4) * ratio, top + 14 * ratio);
    }
    context.restore();
  }

  /** The (decimated) data arrays for a plot `width` pixels wide. */
  data(width) {
    const ys = this.shownSeries().map((series) => this.values[series.field]);
    const [xs, kept] = decimate(this.epochs, ys, 2 * width);
    return [xs, ...kept];
  }

  /** Draw the points so far. */
  draw() {
    if (!this.plot) return this.rebuild();
    this.plot.setData(this.data(this.plot.width));
    return undefined;
  }

  /** Follow the element's width. */
  resize() {
    if (!this.plot) return;
    const width = Math.max(260, this.element.clientWidth);
    if (width !== this.plot.width) {
      this.plot.setSize({ width, height: 240 });
      this.draw();
    }
  }
}
