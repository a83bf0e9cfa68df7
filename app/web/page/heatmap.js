/** The picture of what the network computes, from one /forward: for 2 inputs a decision heatmap
 * over a grid, for 1 input its curve; the training points filled and the test points ringed. With
 * 2 inputs the same /forward answers every layer's a over the grid (`layers`), so each hidden unit
 * gets its own small map (TF Playground's signature), which `showUnit` shows large in the
 * decision map's place; each input (x₁, x₂ or a feature of them) gets the map of its value over
 * the same grid, the grid's own column. */

import { post } from "./api.js";
import { element, short } from "./format.js";
import { rows } from "./request.js";

/** The numbers one /forward answer may carry (the outputs, and with hidden layers every layer's
 * z and a, per grid point): the grid is as fine as that allows within bounds, so a ten-class map
 * or a wide network gets a coarser grid than a two-class one with no hidden layer. */
const ANSWER_NUMBERS = 8_192;
const [MIN_SIDE, MAX_SIDE] = [32, 64];

/** Whether `network` has hidden units, whose maps the one /forward then answers too. */
function hasHidden(network) {
  return network.layers.length > 1;
}

/** The side of the square grid for `network`: as fine as ANSWER_NUMBERS allows, within bounds. */
export function gridSide(network) {
  const sizes = network.layers.map((layer) => layer.bias.length);
  const outputs = sizes[sizes.length - 1];
  const perPoint = hasHidden(network) ? outputs + 2 * sizes.reduce((sum, size) => sum + size, 0) : outputs;
  return Math.max(MIN_SIDE, Math.min(MAX_SIDE, Math.floor(Math.sqrt(ANSWER_NUMBERS / perPoint))));
}

/** The pixels of one unit's map: blue where its a is positive, orange where negative, white at 0,
 * scaled by the largest |a| over the grid (so that a ReLU's and a tanh's maps both show their
 * shape); `alpha` 0-255. */
function unitPixels(values, side, alpha) {
  const largest = values.reduce((most, value) => Math.max(most, Math.abs(value)), 0) || 1;
  const cells = new ImageData(side, side);
  values.forEach((value, index) => {
    const t = Math.max(-1, Math.min(1, value / largest));
    const [r, g, b] = t >= 0 ? CLASS_COLOURS[0] : CLASS_COLOURS[1];
    const w = Math.abs(t);
    cells.data.set([255 + (r - 255) * w, 255 + (g - 255) * w, 255 + (b - 255) * w, alpha], index * 4);
  });
  return cells;
}
/** Class colours: blue and orange first, as the weights' signs. */
export const CLASS_COLOURS = [[37, 99, 235], [234, 88, 12], [21, 128, 61], [147, 51, 234], [202, 138, 4], [219, 39, 119], [8, 145, 178], [87, 83, 78], [132, 204, 22], [239, 68, 68]];

/** The box the points span, widened by a tenth on each side. */
function bounds(points) {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const box = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const padX = (box[1] - box[0]) * 0.1 || 1;
  const padY = (box[3] - box[2]) * 0.1 || 1;
  return [box[0] - padX, box[1] + padX, box[2] - padY, box[3] + padY];
}

/** The colour of one output row: the classes' colours mixed by their probabilities (softmax),
 * blue to orange by the value (one output), so that the boundaries come out smooth. */
function colour(output) {
  if (output.length === 1) {
    const t = Math.max(0, Math.min(1, output[0]));
    const [a, b] = [CLASS_COLOURS[0], CLASS_COLOURS[1]];
    return [0, 1, 2].map((i) => a[i] * (1 - t) + b[i] * t);
  }
  const total = output.reduce((sum, p) => sum + Math.max(0, p), 0) || 1;
  const mixed = [0, 0, 0];
  output.forEach((p, k) => {
    const c = CLASS_COLOURS[k % CLASS_COLOURS.length];
    for (let i = 0; i < 3; i++) mixed[i] += (c[i] * Math.max(0, p)) / total;
  });
  return mixed;
}

/** Round ticks over [low, high]: steps of 1, 2 or 5 times a power of ten, at most 6 of them. */
export function ticks(low, high) {
  const range = high - low;
  if (!(range > 0)) return [];
  const power = 10 ** Math.floor(Math.log10(range / 6));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => range / s <= 6);
  const values = [];
  for (let k = Math.ceil(low / step); k * step <= high; k++) values.push(Number((k * step).toPrecision(12)));
  return values;
}

/** An output row as its most likely class alone: one-hot, or 0/1 for one output. */
function discrete(output) {
  if (output.length === 1) return [output[0] >= 0.5 ? 1 : 0];
  const best = output.indexOf(Math.max(...output));
  return output.map((_, k) => (k === best ? 1 : 0));
}

/** The class of a target row (one-hot or one 0/1 column), or null for a regression value. */
function classOf(target) {
  if (target.length === 1) return target[0] >= 0.5 ? 1 : 0;
  return target.indexOf(Math.max(...target));
}

export class Heatmap {
  /** A heatmap on `canvas`; `report(ms, what)` hears each redraw's time and what was evaluated;
   * `paintUnits(drawInto)` gets, after each map over the plane, a function that draws an input's
   * or a hidden unit's small map (layer 1-based as the diagram counts, the inputs layer 0, unit
   * 0-based) into a canvas and says whether that unit has one. */
  constructor(canvas, report, paintUnits, scale) {
    this.canvas = canvas;
    /** The colour scale's element, under the map. */
    this.scale = scale;
    this.report = report;
    this.paintUnits = paintUnits;
    this.token = 0;
    this.size = 0;
    /** The last map's grid and data, and each hidden layer's a over it (rows of units). */
    this.last = null;
    /** The unit whose map is shown large ({layer, unit}), or null for the network's output. */
    this.unit = null;
    /** Whether the test points are drawn, and whether the output map shows classes alone. */
    this.options = { test: true, discrete: false };
    // The box's width, kept as it changes, so that a redraw never forces a layout to read it.
    new ResizeObserver(([entry]) => (this.size = entry.contentRect.width)).observe(canvas);
  }

  /** Redraw for `network` over `data` ({inputs, targets, test_inputs, test_targets}, `box` when
   * the plane shown is fixed (points being drawn), and `plane` when the inputs are features of the
   * points: see request.js's dataOf). */
  async draw(network, data) {
    if (!data.plane && rows(data.inputs)[0].length === 1) return this.drawCurve(network, data);
    const token = ++this.token;
    const started = performance.now();
    const own = data.plane || data;
    const train = rows(own.inputs);
    const test = own.test_inputs ? rows(own.test_inputs) : [];
    let box = data.box || bounds([...train, ...test]);
    const side = gridSide(network);
    const grid = [];
    if (data.plane) {
      // A square from /datasets' grid, its features computed there: its rows go up the plane
      // (x₂ rising), the picture's go down it; each value is a cell's centre.
      const [low, high] = [Math.min(box[0], box[2]), Math.max(box[1], box[3])];
      const features = await data.plane.grid(low, high, side);
      if (token !== this.token) return;
      for (let j = side - 1; j >= 0; j--) grid.push(...features.slice(j * side, (j + 1) * side));
      const half = (high - low) / (side - 1) / 2;
      box = [low - half, high + half, low - half, high + half];
    } else {
      for (let j = 0; j < side; j++) {
        for (let i = 0; i < side; i++) {
          grid.push([box[0] + ((i + 0.5) * (box[1] - box[0])) / side, box[3] - ((j + 0.5) * (box[3] - box[2])) / side]);
        }
      }
    }
    const answer = await post("/forward", { network, inputs: grid, layers: hasHidden(network) });
    if (token !== this.token) return;
    const hidden = (answer.layers || []).slice(0, -1).map((layer) => layer.a);
    this.last = { outputs: answer.outputs, inputs: grid, hidden, side, box, data, train, test };
    this.repaint();
    this.paintUnits((canvas, layer, unit) => this.drawUnit(canvas, layer, unit));
    const elapsed = performance.now() - started;
    this.canvas.dataset.drawMs = elapsed.toFixed(1);
    this.report(elapsed, `a ${side} × ${side} grid${hidden.length ? ", each hidden unit's a with it" : ""}`);
  }

  /** The network's first output over the inputs' range (1 input), with the data as points. */
  async drawCurve(network, data) {
    const token = ++this.token;
    const started = performance.now();
    const train = rows(data.inputs).map((row, i) => [row[0], rows(data.targets)[i][0]]);
    const test = data.test_inputs ? rows(data.test_inputs).map((row, i) => [row[0], rows(data.test_targets)[i][0]]) : [];
    const [x0, x1] = bounds([...train, ...test]);
    const xs = Array.from({ length: 200 }, (_, i) => x0 + ((x1 - x0) * i) / 199);
    const answer = await post("/forward", { network, inputs: xs.map((x) => [x]), layers: false });
    if (token !== this.token) return;
    this.last = null;
    this.paintUnits(() => false);
    const curve = xs.map((x, i) => [x, answer.outputs[i][0]]);
    const box = bounds([...train, ...test, ...curve]);
    const context = this.prepare();
    const at = this.mapper(box);
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, this.canvas.width, this.canvas.height);
    context.strokeStyle = "#e5e7eb";
    context.lineWidth = 1;
    const [, zeroY] = at([0, 0]);
    context.beginPath();
    context.moveTo(0, zeroY);
    context.lineTo(this.canvas.width, zeroY);
    context.stroke();
    const ratio = window.devicePixelRatio || 1;
    train.forEach((point) => this.dot(context, at(point), CLASS_COLOURS[0], false));
    test.forEach((point) => this.dot(context, at(point), CLASS_COLOURS[0], true));
    context.strokeStyle = `rgb(${CLASS_COLOURS[1].join(",")})`;
    context.lineWidth = 2.5 * ratio;
    context.beginPath();
    curve.forEach((point, i) => (i ? context.lineTo(...at(point)) : context.moveTo(...at(point))));
    context.stroke();
    const elapsed = performance.now() - started;
    this.canvas.dataset.drawMs = elapsed.toFixed(1);
    this.report(elapsed, `${xs.length} points`);
  }

  /** Size the canvas to its box (in device pixels) and return its 2-D context. */
  prepare() {
    const ratio = window.devicePixelRatio || 1;
    const size = this.size || this.canvas.clientWidth || 320;
    const pixels = Math.round(size * ratio);
    if (this.canvas.width !== pixels) this.canvas.width = pixels;
    if (this.canvas.height !== pixels) this.canvas.height = pixels;
    return this.canvas.getContext("2d");
  }

  /** A function from data coordinates in `box` to canvas pixels. */
  mapper(box) {
    const { width, height } = this.canvas;
    return (point) => [((point[0] - box[0]) / (box[1] - box[0])) * width, ((box[3] - point[1]) / (box[3] - box[2])) * height];
  }

  /** One data point: filled (training) or ringed (test). */
  dot(context, [px, py], [r, g, b], ringed) {
    const ratio = window.devicePixelRatio || 1;
    context.beginPath();
    context.arc(px, py, 3.5 * ratio, 0, 2 * Math.PI);
    context.fillStyle = ringed ? "#ffffff" : `rgb(${r},${g},${b})`;
    context.strokeStyle = ringed ? `rgb(${r},${g},${b})` : "rgba(17, 24, 39, 0.55)";
    context.lineWidth = (ringed ? 2 : 0.8) * ratio;
    context.fill();
    context.stroke();
  }

  /** The values of hidden unit `unit` of layer `layer` (1-based; layer 0 the inputs, whose values
   * are the grid's) over the last grid, or null. */
  unitValues(layer, unit) {
    const a = this.last && (layer === 0 ? this.last.inputs : this.last.hidden[layer - 1]);
    return a && unit < a[0].length ? a.map((row) => row[unit]) : null;
  }

  /** Draw an input's or a hidden unit's small map into `canvas` (one pixel per grid point); false
   * when the unit has none (an output unit, a curve, a network drawn since). */
  drawUnit(canvas, layer, unit) {
    const values = this.unitValues(layer, unit);
    if (!values) return false;
    const side = this.last.side;
    if (canvas.width !== side) canvas.width = side;
    if (canvas.height !== side) canvas.height = side;
    canvas.getContext("2d").putImageData(unitPixels(values, side, 255), 0, 0);
    return true;
  }

  /** Show unit `unit` of layer `layer` (1-based; layer 0 an input) large, or the network's output
   * (null); returns whether that unit has a map. */
  showUnit(item) {
    const values = item ? this.unitValues(item.layer, item.unit) : null;
    this.unit = values ? { layer: item.layer, unit: item.unit } : null;
    if (this.last) this.repaint();
    return values !== null;
  }

  /** Paint the last grid: the output's map, or the shown unit's. */
  repaint() {
    const { outputs, side, box, data, train, test } = this.last;
    const values = this.unit ? this.unitValues(this.unit.layer, this.unit.unit) : null;
    if (!values) this.unit = null;
    this.canvas.dataset.shows = this.unit ? `${this.unit.layer}.${this.unit.unit}` : "output";
    this.canvas.dataset.discrete = String(this.options.discrete);
    this.showScale(values, outputs[0].length, this.unit && this.unit.layer === 0 ? "value" : "a");
    this.paint(values ? unitPixels(values, side, 150) : this.outputPixels(outputs, side), side, box, data, train, test);
  }

  /** The colour scale of the map shown: a unit's a (`symbol`, an input's "value") from −max|a|
   * (orange) through 0 (white) to max|a| (blue); the classes' colours; or one output's 0 (blue)
   * to 1 (orange). */
  showScale(values, outputs, symbol) {
    const swatch = (rgb, text) => {
      const item = element("span", "key-item");
      const key = element("span", "key swatch");
      key.style.background = `rgb(${rgb.join(",")})`;
      item.append(key, text);
      return item;
    };
    let items;
    if (values) {
      const largest = values.reduce((most, value) => Math.max(most, Math.abs(value)), 0);
      items = [swatch(CLASS_COLOURS[1], `${symbol} = −${short(largest)}`), swatch([255, 255, 255], "0"), swatch(CLASS_COLOURS[0], `+${short(largest)}`)];
    } else if (outputs === 1) {
      items = [swatch(CLASS_COLOURS[0], "output ≤ 0"), swatch(CLASS_COLOURS[1], "output ≥ 1 (mixed between)")];
    } else {
      items = Array.from({ length: outputs }, (_, k) => swatch(CLASS_COLOURS[k % CLASS_COLOURS.length], `class ${k + 1}`));
    }
    this.scale.replaceChildren(...items);
  }

  /** Show or hide the test points, and discretize the output map or not; redraws. */
  setOptions(options) {
    this.options = { ...this.options, ...options };
    if (this.last) this.repaint();
  }

  /** The pixels of the output's map: the classes' colours, stronger where the network is surer;
   * discretized, each cell its most likely class (one output: above or below 0.5) at full strength. */
  outputPixels(outputs, side) {
    const cells = new ImageData(side, side);
    outputs.forEach((original, index) => {
      const output = this.options.discrete ? discrete(original) : original;
      const [r, g, b] = colour(output);
      const chance = 1 / output.length;
      const margin = output.length === 1 ? Math.abs(output[0] - 0.5) * 2 : (Math.max(...output) - chance) / (1 - chance);
      const alpha = 0.1 + 0.45 * Math.max(0, Math.min(1, margin));
      cells.data.set([r, g, b, Math.round(255 * alpha)], index * 4);
    });
    return cells;
  }

  /** Paint the grid's colours (`cells`, side × side), then the points. */
  paint(cells, side, box, data, train, test) {
    const context = this.prepare();
    const small = new OffscreenCanvas(side, side);
    small.getContext("2d").putImageData(cells, 0, 0);
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, this.canvas.width, this.canvas.height);
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "high";
    context.drawImage(small, 0, 0, this.canvas.width, this.canvas.height);
    const at = this.mapper(box);
    const colourOf = (target) => CLASS_COLOURS[classOf(target) % CLASS_COLOURS.length];
    rows(data.targets).forEach((target, i) => this.dot(context, at(train[i]), colourOf(target), false));
    const shownTest = this.options.test && data.test_targets ? rows(data.test_targets) : [];
    shownTest.forEach((target, i) => this.dot(context, at(test[i]), colourOf(target), true));
    this.canvas.dataset.testPoints = String(shownTest.length);
    this.axes(context, box);
  }

  /** Ticks and their values along the bottom (x₁) and the left (x₂) edge, inside the map. */
  axes(context, box) {
    const ratio = window.devicePixelRatio || 1;
    const at = this.mapper(box);
    const [xs, ys] = [ticks(box[0], box[1]), ticks(box[2], box[3])];
    this.canvas.dataset.ticksX = xs.join(",");
    this.canvas.dataset.ticksY = ys.join(",");
    context.fillStyle = "rgba(17, 24, 39, 0.8)";
    context.strokeStyle = "rgba(17, 24, 39, 0.6)";
    context.lineWidth = ratio;
    context.font = `${10 * ratio}px system-ui, sans-serif`;
    const { width, height } = this.canvas;
    context.textAlign = "center";
    context.textBaseline = "bottom";
    for (const x of xs) {
      const [px] = at([x, 0]);
      context.beginPath();
      context.moveTo(px, height);
      context.lineTo(px, height - 4 * ratio);
      context.stroke();
      context.fillText(String(x), px, height - 5 * ratio);
    }
    context.textAlign = "left";
    context.textBaseline = "middle";
    for (const y of ys) {
      const [, py] = at([0, y]);
      context.beginPath();
      context.moveTo(0, py);
      context.lineTo(4 * ratio, py);
      context.stroke();
      context.fillText(String(y), 6 * ratio, py);
    }
    context.textAlign = "right";
    context.textBaseline = "top";
    context.fillText("x₁ →", width - 4 * ratio, 4 * ratio);
    context.textAlign = "left";
    context.fillText("↑ x₂", 4 * ratio, 4 * ratio);
  }
}
