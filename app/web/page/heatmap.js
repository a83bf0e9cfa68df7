/** The decision heatmap of a 2-input network: one /forward over a grid, painted on a canvas,
 * with the training points (filled) and test points (ringed) on top. */

import { post } from "./api.js";
import { rows } from "./request.js";

const GRID = 40;
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

/** The colour of one output row: the winning class faded by its margin, or a value's sign. */
function colour(output) {
  if (output.length === 1) {
    const p = output[0];
    const t = Math.max(0, Math.min(1, p));
    const [a, b] = [CLASS_COLOURS[0], CLASS_COLOURS[1]];
    return [0, 1, 2].map((i) => a[i] * (1 - t) + b[i] * t);
  }
  let best = 0;
  for (let i = 1; i < output.length; i++) if (output[i] > output[best]) best = i;
  return CLASS_COLOURS[best % CLASS_COLOURS.length];
}

/** The class of a target row (one-hot or one 0/1 column), or null for a regression value. */
function classOf(target) {
  if (target.length === 1) return target[0] >= 0.5 ? 1 : 0;
  return target.indexOf(Math.max(...target));
}

export class Heatmap {
  /** A heatmap on `canvas`; `report(ms)` hears each redraw's time. */
  constructor(canvas, report) {
    this.canvas = canvas;
    this.report = report;
    this.token = 0;
  }

  /** Redraw for `network` over `data` ({inputs, targets, test_inputs, test_targets}). */
  async draw(network, data) {
    const token = ++this.token;
    const started = performance.now();
    const train = rows(data.inputs);
    const test = data.test_inputs ? rows(data.test_inputs) : [];
    const box = bounds([...train, ...test]);
    const grid = [];
    for (let j = 0; j < GRID; j++) {
      for (let i = 0; i < GRID; i++) {
        grid.push([box[0] + ((i + 0.5) * (box[1] - box[0])) / GRID, box[3] - ((j + 0.5) * (box[3] - box[2])) / GRID]);
      }
    }
    const answer = await post("/forward", { network, inputs: grid });
    if (token !== this.token) return;
    this.paint(answer.outputs, box, data, train, test);
    const elapsed = performance.now() - started;
    this.canvas.dataset.drawMs = elapsed.toFixed(1);
    this.report(elapsed);
  }

  /** Paint the grid's colours, then the points. */
  paint(outputs, box, data, train, test) {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const size = canvas.clientWidth || 320;
    canvas.width = Math.round(size * ratio);
    canvas.height = Math.round(size * ratio);
    const context = canvas.getContext("2d");
    const cells = new ImageData(GRID, GRID);
    outputs.forEach((output, index) => {
      const [r, g, b] = colour(output);
      const margin = output.length === 1 ? Math.abs(output[0] - 0.5) * 2 : Math.max(...output);
      const alpha = 0.25 + 0.45 * Math.min(1, margin);
      cells.data.set([r, g, b, Math.round(255 * alpha)], index * 4);
    });
    const small = new OffscreenCanvas(GRID, GRID);
    small.getContext("2d").putImageData(cells, 0, 0);
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.imageSmoothingEnabled = true;
    context.drawImage(small, 0, 0, canvas.width, canvas.height);
    const at = (point) => [
      ((point[0] - box[0]) / (box[1] - box[0])) * canvas.width,
      ((box[3] - point[1]) / (box[3] - box[2])) * canvas.height,
    ];
    const dot = (point, target, ringed) => {
      const [px, py] = at(point);
      const [r, g, b] = CLASS_COLOURS[classOf(target) % CLASS_COLOURS.length];
      context.beginPath();
      context.arc(px, py, 3.5 * ratio, 0, 2 * Math.PI);
      context.fillStyle = ringed ? "#ffffff" : `rgb(${r},${g},${b})`;
      context.strokeStyle = ringed ? `rgb(${r},${g},${b})` : "#ffffff";
      context.lineWidth = (ringed ? 2 : 1) * ratio;
      context.fill();
      context.stroke();
    };
    const targets = rows(data.targets);
    train.forEach((point, index) => dot(point, targets[index], false));
    const testTargets = data.test_targets ? rows(data.test_targets) : [];
    test.forEach((point, index) => dot(point, testTargets[index], true));
  }
}
