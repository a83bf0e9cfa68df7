/** The picture of what the network computes, from one /forward: for 2 inputs a decision heatmap
 * over a grid, for 1 input its curve; the training points filled and the test points ringed. */

import { post } from "./api.js";
import { rows } from "./request.js";

/** The output numbers one /forward answer may carry (it asks for the outputs alone, no z or a):
 * the grid is as fine as that allows, so a ten-class map gets a coarser grid than a two-class one. */
const ANSWER_NUMBERS = 8_192;
const [MIN_SIDE, MAX_SIDE] = [32, 64];

/** The side of the square grid for `network`: as fine as ANSWER_NUMBERS allows, within bounds. */
export function gridSide(network) {
  const outputs = network.layers[network.layers.length - 1].bias.length;
  return Math.max(MIN_SIDE, Math.min(MAX_SIDE, Math.floor(Math.sqrt(ANSWER_NUMBERS / outputs))));
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

/** The class of a target row (one-hot or one 0/1 column), or null for a regression value. */
function classOf(target) {
  if (target.length === 1) return target[0] >= 0.5 ? 1 : 0;
  return target.indexOf(Math.max(...target));
}

export class Heatmap {
  /** A heatmap on `canvas`; `report(ms, what)` hears each redraw's time and what was evaluated. */
  constructor(canvas, report) {
    this.canvas = canvas;
    this.report = report;
    this.token = 0;
    this.size = 0;
    // The box's width, kept as it changes, so that a redraw never forces a layout to read it.
    new ResizeObserver(([entry]) => (this.size = entry.contentRect.width)).observe(canvas);
  }

  /** Redraw for `network` over `data` ({inputs, targets, test_inputs, test_targets}). */
  async draw(network, data) {
    if (rows(data.inputs)[0].length === 1) return this.drawCurve(network, data);
    const token = ++this.token;
    const started = performance.now();
    const train = rows(data.inputs);
    const test = data.test_inputs ? rows(data.test_inputs) : [];
    const box = bounds([...train, ...test]);
    const side = gridSide(network);
    const grid = [];
    for (let j = 0; j < side; j++) {
      for (let i = 0; i < side; i++) {
        grid.push([box[0] + ((i + 0.5) * (box[1] - box[0])) / side, box[3] - ((j + 0.5) * (box[3] - box[2])) / side]);
      }
    }
    const answer = await post("/forward", { network, inputs: grid, layers: false });
    if (token !== this.token) return;
    this.paint(answer.outputs, side, box, data, train, test);
    const elapsed = performance.now() - started;
    this.canvas.dataset.drawMs = elapsed.toFixed(1);
    this.report(elapsed, `a ${side} × ${side} grid`);
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

  /** Paint the grid's colours, then the points. */
  paint(outputs, side, box, data, train, test) {
    const context = this.prepare();
    const cells = new ImageData(side, side);
    outputs.forEach((output, index) => {
      const [r, g, b] = colour(output);
      const chance = 1 / output.length;
      const margin = output.length === 1 ? Math.abs(output[0] - 0.5) * 2 : (Math.max(...output) - chance) / (1 - chance);
      const alpha = 0.1 + 0.45 * Math.max(0, Math.min(1, margin));
      cells.data.set([r, g, b, Math.round(255 * alpha)], index * 4);
    });
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
    (data.test_targets ? rows(data.test_targets) : []).forEach((target, i) => this.dot(context, at(test[i]), colourOf(target), true));
  }
}
