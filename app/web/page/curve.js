/** The loss curve (uPlot): loss, validation loss and accuracy when the trace has them, drawn as
 * lines arrive, at most once a frame, decimated to about two points per pixel. */

import uPlot from "/static/vendor/uplot@1.6.32/dist/uPlot.esm.js";

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
 * too when the axis spans less than two. */
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

/** A tick's label: 0.5, 1, 20 near 1, else 1e-12 (or 5e-12). */
function decadeLabel(value) {
  const k = Math.floor(Math.log10(value) + 1e-9);
  const m = Math.round(value / 10 ** k);
  return Math.abs(k) <= 3 ? String(Number(value.toPrecision(1))) : `${m}e${k}`;
}

/** A positive number for the log axis, or null (a loss of exactly 0 has no place on it). */
function positive(value) {
  return typeof value === "number" && value > 0 ? value : null;
}

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

  /** Forget every point. */
  reset() {
    this.epochs = [];
    this.loss = [];
    this.validation = [];
    this.accuracy = [];
    this.hasValidation = false;
    this.hasAccuracy = false;
    this.selected = null;
    this.rebuild();
  }

  /** Add trace entries (one point each). */
  add(entries) {
    for (const entry of entries) {
      this.epochs.push(entry.epoch);
      this.loss.push(positive(entry.loss));
      this.validation.push(positive(entry.validation_loss));
      this.accuracy.push(typeof entry.accuracy === "number" ? entry.accuracy : null);
      if (typeof entry.validation_loss === "number" && !this.hasValidation) {
        this.hasValidation = true;
        this.plot = null;
      }
      if (typeof entry.accuracy === "number" && !this.hasAccuracy) {
        this.hasAccuracy = true;
        this.plot = null;
      }
    }
    this.element.dataset.points = String(this.epochs.length);
    this.schedule();
  }

  /** Mark the selected epoch with a cursor line. */
  select(epoch) {
    this.selected = epoch;
    this.schedule();
  }

  /** Redraw at the next frame (once, however many lines arrived before it). */
  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** The series the plot shows, in its order. */
  series() {
    const series = [{ label: "epoch" }, { label: "loss", stroke: BLUE, width: 2, scale: "loss" }];
    if (this.hasValidation) series.push({ label: "validation loss", stroke: ORANGE, width: 2, dash: [6, 4], scale: "loss" });
    if (this.hasAccuracy) series.push({ label: "accuracy", stroke: GREEN, width: 1.5, scale: "acc" });
    return series;
  }

  /** Build a new uPlot for the current series. */
  rebuild() {
    if (this.plot) this.plot.destroy();
    this.element.replaceChildren();
    const width = Math.max(260, this.element.clientWidth || 600);
    const axes = [
      { label: "epoch" },
      { label: "loss", scale: "loss", splits: decadeSplits, values: (plot, ticks) => ticks.map(decadeLabel) },
    ];
    if (this.hasAccuracy) axes.push({ label: "accuracy", scale: "acc", side: 1, grid: { show: false } });
    this.plot = new uPlot(
      {
        width,
        height: 240,
        series: this.series(),
        scales: { x: { time: false }, loss: { distr: 3 }, acc: { range: [0, 1] } },
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
    this.element.dataset.points = String(this.epochs.length);
  }

  /** Draw the selected epoch as a vertical line. */
  mark(plot) {
    if (this.selected === null || !this.epochs.length) return;
    const x = Math.round(plot.valToPos(this.selected, "x", true));
    const { top, height } = plot.bbox;
    const context = plot.ctx;
    context.save();
    context.strokeStyle = "#7c3aed";
    context.lineWidth = 2 * (window.devicePixelRatio || 1);
    context.setLineDash([4, 4]);
    context.beginPath();
    context.moveTo(x, top);
    context.lineTo(x, top + height);
    context.stroke();
    context.restore();
  }

  /** The (decimated) data arrays for a plot `width` pixels wide. */
  data(width) {
    const ys = [this.loss];
    if (this.hasValidation) ys.push(this.validation);
    if (this.hasAccuracy) ys.push(this.accuracy);
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
