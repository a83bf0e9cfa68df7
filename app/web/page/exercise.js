/** The exercise: the student types one step's numbers (z, a, loss, gradients, updated weights)
 * for one sample of the run, or for a variant drawn from POST /exercises; /check marks each
 * field, with its mistake and a link to the worked solution of that very step. Labels count
 * layers from 1, as the worked solution and /check's texts (shown as sent) do. The sheet beside
 * the fields is what a print of the exercise shows: the task, the network with its numbers, blank
 * boxes. */

import { element, layerMark, tensorTable } from "./format.js";

/** How /check grades, said beside the form. */
export const EXERCISE_RULE =
  "Rounded or truncated answers are right; give at least 3 significant figures. A value computed correctly from an earlier wrong one is marked carried forward.";

/** The fields of one step of `network`, in the order of the computation, by /check path;
 * `dims` is each value's shape (a box per number on the printed sheet). */
export function fieldsOf(network) {
  const layers = network.layers;
  const fields = [];
  layers.forEach((layer, l) => {
    const units = [layer.bias.length];
    fields.push({ path: `layers[${l}].z`, label: `z${layerMark(l + 1)}`, shape: "vector", dims: units });
    fields.push({ path: `layers[${l}].a`, label: `a${layerMark(l + 1)}`, shape: "vector", dims: units });
  });
  fields.push({ path: "loss", label: "loss L", shape: "number", dims: [] });
  for (let l = layers.length - 1; l >= 0; l--) {
    const dims = [layers[l].weights.length, layers[l].weights[0].length];
    fields.push({ path: `gradients[${l}].weights`, label: `∂L/∂W${layerMark(l + 1)}`, shape: "matrix", rows: dims[0], dims });
    fields.push({ path: `gradients[${l}].bias`, label: `∂L/∂b${layerMark(l + 1)}`, shape: "vector", dims: [dims[0]] });
  }
  layers.forEach((layer, l) => {
    const dims = [layer.weights.length, layer.weights[0].length];
    fields.push({ path: `network.layers[${l}].weights`, label: `W${layerMark(l + 1)} after the step`, shape: "matrix", rows: dims[0], dims });
    fields.push({ path: `network.layers[${l}].bias`, label: `b${layerMark(l + 1)} after the step`, shape: "vector", dims: [dims[0]] });
  });
  return fields;
}

/** The label of a /check path: "layers[0].a" → "a⁽¹⁾", "outputs" → "outputs y". */
function labelOf(path) {
  const match = /^(network\.)?(layers|gradients)\[(\d+)\]\.(\w+)$/.exec(path);
  if (!match) return path === "loss" ? "loss L" : path === "outputs" ? "outputs y" : path;
  const [, updated, kind, index, part] = match;
  const letter = { weights: "W", bias: "b" }[part] || part;
  const mark = layerMark(Number(index) + 1);
  if (updated) return `${letter}${mark} after the step`;
  return kind === "gradients" ? `∂L/∂${letter}${mark}` : `${letter}${mark}`;
}

/** The fields of a drawn exercise's values to compute (/exercises' `compute`): a batch's
 * z, a and outputs have a row per sample, so they are matrices. */
export function fieldsOfCompute(compute) {
  return compute.map(({ path, shape }) => ({
    path,
    label: labelOf(path),
    shape: shape.length === 0 ? "number" : shape.length === 1 ? "vector" : "matrix",
    rows: shape[0],
    dims: shape,
  }));
}

/** A table of blank boxes in `dims` (a number, a vector or a matrix), captioned. */
function blankTable(caption, dims) {
  const table = element("table", "tensor blank");
  table.append(element("caption", "", caption));
  const [rows, columns] = dims.length === 2 ? dims : [1, dims[0] || 1];
  for (let r = 0; r < rows; r++) {
    const tr = element("tr");
    for (let c = 0; c < columns; c++) tr.append(element("td"));
    table.append(tr);
  }
  return table;
}

/** The exercise sheet into `root`: `title`, the task, the network's weights and biases, the
 * data, the loss and step (`given`: network, inputs and targets as rows, loss, learning_rate,
 * and momentum with its earlier buffer when the step has one), then a blank box per value of
 * `fields` (shown when printed). */
export function renderSheet(root, title, given, fields) {
  root.replaceChildren();
  const { network, inputs, targets, loss, learning_rate: lr } = given;
  const samples = inputs.length === 1 ? "one sample" : `${inputs.length} samples`;
  root.append(element("h3", "", title));
  const step = given.momentum ? `one step of SGD with momentum μ = ${given.momentum} and learning rate η = ${lr}` : `one SGD step with learning rate η = ${lr}`;
  root.append(element("p", "sheet-task", `Compute by hand ${step} of the network below on ${samples}, loss ${loss}: the values under “Your values”, in order. Keep 4 significant figures. Each W has a row per unit; x and t have a row per sample${given.buffer ? "; the buffers are the momentum of the earlier step" : ""}.`));
  const tables = element("div", "sheet-tables");
  network.layers.forEach((layer, l) => {
    tables.append(tensorTable(`W${layerMark(l + 1)}, ${layer.activation}`, layer.weights), tensorTable(`b${layerMark(l + 1)}`, layer.bias));
  });
  tables.append(tensorTable("inputs x", inputs), tensorTable("targets t", targets));
  if (given.buffer) {
    given.buffer.forEach((layer, l) => {
      tables.append(tensorTable(`buffer of W${layerMark(l + 1)}`, layer.weights), tensorTable(`buffer of b${layerMark(l + 1)}`, layer.bias));
    });
  }
  root.append(tables);
  const boxes = element("div", "sheet-boxes");
  boxes.append(element("h4", "", "Your values"));
  for (const field of fields) boxes.append(blankTable(field.label, field.dims));
  root.append(boxes);
}

/** A JSON number's text. */
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** A number typed in a field, sent to /check as written ("0.470" keeps its three decimals, which
 * /check reads as its precision): its JSON text as typed (".5" as "0.5", "+2" as "2"), or its
 * value when the browser cannot send a number's text; NaN when it is no finite number. */
export function writtenNumber(token) {
  const value = Number(token);
  if (!Number.isFinite(value)) return NaN;
  const text = token.replace(/^\+/, "").replace(/^(-?)\./, "$10.").replace(/\.(?=[eE]|$)/, "");
  return typeof JSON.rawJSON === "function" && JSON_NUMBER.test(text) ? JSON.rawJSON(text) : value;
}

/** Numbers typed as "0.1, 1.45" (rows split by ";" or new lines), each as written; null when the
 * field is empty. Rows typed in a vector's field are sent as rows: /check marks the shape beside
 * the field. */
export function parseField(text, shape) {
  const trimmed = text.trim();
  if (!trimmed) return null;
  const rowsOf = trimmed.replace(/[[\]]/g, " ").split(/[;\n]+/).map((row) => row.trim()).filter(Boolean);
  const matrix = rowsOf.map((row) => row.split(/[\s,]+/).filter(Boolean).map(writtenNumber));
  if (matrix.flat().some((value) => Number.isNaN(value))) throw new Error("numbers only, e.g. 0.1, -2.5e-3");
  if (shape === "number") {
    if (matrix.flat().length > 1) throw new Error("one number");
    return matrix[0][0];
  }
  return shape === "matrix" || matrix.length > 1 ? matrix : matrix[0];
}

/** Put `value` into the claimed object at a /check path ("gradients[1].bias"). */
export function setPath(claimed, path, value) {
  const keys = path.replace(/\[(\d+)\]/g, ".$1").split(".");
  let node = claimed;
  keys.slice(0, -1).forEach((key, index) => {
    const next = keys[index + 1];
    if (node[key] === undefined) node[key] = /^\d+$/.test(next) ? [] : {};
    node = node[key];
  });
  node[keys[keys.length - 1]] = value;
  for (const list of [claimed.layers, claimed.gradients, claimed.network && claimed.network.layers]) {
    if (list) for (let i = 0; i < list.length; i++) if (list[i] === undefined) list[i] = {};
  }
}

/** Build the form's `fields` into `root`; returns the input elements by path. */
export function buildExercise(root, fields) {
  root.replaceChildren();
  const inputs = new Map();
  for (const field of fields) {
    const row = element("div", "field exercise-field");
    const id = `claim-${field.path.replace(/[^a-z0-9]+/gi, "-")}`;
    const label = element("label", "", field.label);
    label.htmlFor = id;
    const input = element(field.shape === "matrix" ? "textarea" : "input");
    input.id = id;
    input.dataset.path = field.path;
    input.dataset.shape = field.shape;
    input.spellcheck = false;
    input.autocomplete = "off";
    if (field.shape === "matrix") input.rows = Math.min(4, field.rows);
    input.placeholder = field.shape === "matrix" ? "one row per unit, e.g. 1, 2; 3, 4" : field.shape === "number" ? "a number" : "numbers, e.g. 1, 2";
    const verdict = element("p", "verdict");
    verdict.setAttribute("aria-live", "polite");
    row.append(label, input, verdict);
    root.append(row);
    inputs.set(field.path, { input, verdict, row, label: field.label });
  }
  return inputs;
}

/** The claimed object of the filled fields it can read, and how many it cannot (each marked
 * beside itself, unread). */
export function claimedOf(inputs) {
  const claimed = {};
  let unread = 0;
  for (const [path, { input, verdict, row }] of inputs) {
    row.classList.remove("right", "carried", "wrong", "unread");
    verdict.replaceChildren();
    try {
      const value = parseField(input.value, input.dataset.shape);
      if (value !== null) setPath(claimed, path, value);
    } catch (error) {
      unread += 1;
      row.classList.add("wrong", "unread");
      verdict.replaceChildren(element("strong", "", "✗ not read"), document.createTextNode(` — ${error.message}`));
    }
  }
  return { claimed, unread };
}

/** How each of /check's verdicts is shown: the field's class and the mark beside it. */
const MARKS = {
  correct: ["right", "✓ right"],
  carried_forward: ["carried", "↪ carried forward"],
  wrong: ["wrong", "✗ wrong"],
};

/** A link to the field of a value a carried-forward one follows from, which it focuses. */
function fieldLink(inputs, path) {
  const source = inputs.get(path);
  const link = element("a", "carried-link", source ? source.label : path);
  link.href = source ? `#${source.input.id}` : "#";
  link.addEventListener("click", (event) => {
    event.preventDefault();
    if (source) {
      source.input.scrollIntoView({ block: "center" });
      source.input.focus();
    }
  });
  return link;
}

/** Mark each field from /check's answer; `link(step)` makes the link to a worked-solution step. */
export function markExercise(inputs, answer, link) {
  for (const check of answer.checks) {
    const field = inputs.get(check.path);
    if (!field) continue;
    const { verdict, row } = field;
    const [className, mark] = MARKS[check.verdict];
    row.classList.add(className);
    verdict.replaceChildren(element("strong", "", mark));
    if (check.carried_from) {
      verdict.append(document.createTextNode(" from your "), fieldLink(inputs, check.carried_from), document.createTextNode(": right from there"));
    }
    if (check.verdict === "wrong") {
      const text = check.mistakes.length ? check.mistakes.map((mistake) => mistake.text).join(" — or ") : check.hint;
      if (text) verdict.append(document.createTextNode(` — ${text} `));
      if (check.explain) verdict.append(link(check.explain.step));
    }
  }
}
