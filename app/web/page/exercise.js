/** The exercise: the student types one step's numbers (z, a, loss, gradients, updated weights)
 * for one sample; /check marks each field, with its hint and a link to the worked solution. */

import { element } from "./format.js";

/** The fields of one step of `network`, in the order of the computation, by /check path. */
export function fieldsOf(network) {
  const layers = network.layers;
  const fields = [];
  layers.forEach((layer, l) => {
    fields.push({ path: `layers[${l}].z`, label: `z${l + 1}`, shape: "vector" });
    fields.push({ path: `layers[${l}].a`, label: `a${l + 1}`, shape: "vector" });
  });
  fields.push({ path: "loss", label: "loss L", shape: "number" });
  for (let l = layers.length - 1; l >= 0; l--) {
    fields.push({ path: `gradients[${l}].weights`, label: `∂L/∂W${l + 1}`, shape: "matrix", rows: layers[l].bias.length });
    fields.push({ path: `gradients[${l}].bias`, label: `∂L/∂b${l + 1}`, shape: "vector" });
  }
  layers.forEach((layer, l) => {
    fields.push({ path: `network.layers[${l}].weights`, label: `W${l + 1} after the step`, shape: "matrix", rows: layer.bias.length });
    fields.push({ path: `network.layers[${l}].bias`, label: `b${l + 1} after the step`, shape: "vector" });
  });
  return fields;
}

/** Numbers typed as "0.1, 1.45" (rows split by ";" or new lines); null when the field is empty. */
export function parseField(text, shape) {
  const trimmed = text.trim();
  if (!trimmed) return null;
  const rowsOf = trimmed.replace(/[[\]]/g, " ").split(/[;\n]+/).map((row) => row.trim()).filter(Boolean);
  const matrix = rowsOf.map((row) => row.split(/[\s,]+/).filter(Boolean).map(Number));
  if (matrix.flat().some((value) => !Number.isFinite(value))) throw new Error("numbers only, e.g. 0.1, -2.5e-3");
  if (shape === "number") return matrix.flat()[0];
  return shape === "matrix" ? matrix : matrix.flat();
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

/** Build the form's fields into `root`; returns the input elements by path. */
export function buildExercise(root, network) {
  root.replaceChildren();
  const inputs = new Map();
  for (const field of fieldsOf(network)) {
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
    inputs.set(field.path, { input, verdict, row });
  }
  return inputs;
}

/** The claimed object of the filled fields; marks unparsable ones and throws when any is. */
export function claimedOf(inputs) {
  const claimed = {};
  let bad = 0;
  for (const [path, { input, verdict, row }] of inputs) {
    row.classList.remove("right", "carried", "wrong");
    verdict.replaceChildren();
    try {
      const value = parseField(input.value, input.dataset.shape);
      if (value !== null) setPath(claimed, path, value);
    } catch (error) {
      bad += 1;
      row.classList.add("wrong");
      verdict.textContent = error.message;
    }
  }
  if (bad) throw new Error("some fields hold something other than numbers");
  return claimed;
}

/** How each of /check's verdicts is shown: the field's class and the mark beside it. */
const MARKS = {
  correct: ["right", "✓ right"],
  carried_forward: ["carried", "↪ carried forward"],
  wrong: ["wrong", "✗ wrong"],
};

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
      verdict.append(document.createTextNode(` from your ${check.carried_from}: right from there`));
    }
    if (check.verdict === "wrong") {
      if (check.hint) verdict.append(document.createTextNode(` — ${check.hint} `));
      if (check.explain) verdict.append(link(check.explain.step));
    }
  }
}
