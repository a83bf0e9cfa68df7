/** "Why is it not learning?": the training-health panel. Each run asks for `health` in its trace;
 * the panel shows each layer's numbers in the latest recorded epoch as bars, the summary's
 * diagnoses in plain words, and per diagnosis a button that applies its change to the form. */

import { element, short } from "./format.js";

/** Update-to-weight ratios within these bounds are the usual healthy range around 1e-3. */
const RATIO_LOW = 1e-5;
const RATIO_HIGH = 1e-1;

/** A health figure in 3 significant digits, in powers of ten when small or large ("4.67e-5"): the
 * full value is its title. */
function figure(value) {
  if (value === null) return "–";
  if (value === 0) return "0";
  const size = Math.abs(value);
  return size < 1e-3 || size >= 1e4 ? value.toExponential(2).replace("e+", "e") : String(Number(value.toPrecision(3)));
}

/** The change of a diagnosis in words: "learning rate 0.01", "ReLU in layers 1–3, He init". */
export function changeText(change) {
  const parts = [];
  if (change.learning_rate !== null) parts.push(`learning rate ${short(change.learning_rate)}`);
  if (change.activation !== null) {
    const layers = change.layers || [];
    parts.push(`${change.activation} in layer${layers.length > 1 ? "s" : ""} ${layers.join(", ")}`);
  }
  if (change.init !== null) parts.push(`init ${change.init}`);
  return parts.join(", ");
}

/** `state` with a diagnosis's change applied (a copy): the learning rate, the activation of
 * layers (numbered from 1: the hidden layers, then the output), the init scheme; a new activation or init draws the weights
 * again (a preset's own weights are dropped). */
export function applyChange(state, change) {
  const next = structuredClone(state);
  if (change.learning_rate !== null) next.train.learning_rate = change.learning_rate;
  if (change.activation !== null) {
    const hidden = next.net.hidden;
    for (const layer of change.layers || []) {
      if (layer <= hidden.length) hidden[layer - 1].activation = change.activation;
      else if (layer === hidden.length + 1) next.net.output = change.activation;
    }
    next.net.fixed = null;
  }
  if (change.init !== null) {
    next.net.init = change.init;
    next.net.fixed = null;
  }
  return next;
}

/** A bar of `fraction` (0 to 1) with its text beside it. */
function bar(fraction, text, title, warn = false) {
  const cell = element("td", "health-cell");
  const track = element("span", "health-track");
  const fill = element("span", warn ? "health-fill warn" : "health-fill");
  fill.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  track.append(fill);
  const value = element("span", "health-value", text);
  value.title = title;
  cell.append(track, value);
  return cell;
}

/** The gradient norms on a log axis: each bar's length from the smallest decade to the largest. */
function logScale(values) {
  const logs = values.filter((v) => v > 0).map(Math.log10);
  const low = Math.floor(Math.min(...logs, 0) - 1);
  const high = Math.ceil(Math.max(...logs, low + 1));
  return (value) => (value > 0 ? (Math.log10(value) - low) / (high - low) : 0);
}

/** The table of each layer's health in `entry` (a trace entry with `health`). */
function healthTable(entry, activations) {
  const table = element("table", "health-table");
  table.append(element("caption", "", `Each layer in epoch ${entry.epoch} (the latest recorded)`));
  const head = element("tr");
  for (const title of ["layer", "gradient norm ‖∂L/∂θ‖", "update ratio", "dead ReLUs or saturated"]) head.append(element("th", "", title));
  table.append(head);
  const scale = logScale(entry.health.map((layer) => layer.gradient_norm));
  entry.health.forEach((layer, index) => {
    const row = element("tr");
    row.dataset.layer = String(index + 1);
    const name = element("th", "", String(index + 1));
    name.append(element("span", "health-activation", ` (${activations[index]})`));
    row.append(name);
    row.append(bar(scale(layer.gradient_norm), figure(layer.gradient_norm), String(layer.gradient_norm)));
    const ratio = layer.update_ratio;
    const far = ratio !== null && (ratio > RATIO_HIGH || ratio < RATIO_LOW);
    const ratioScale = logScale([ratio ?? 0, RATIO_LOW, RATIO_HIGH]);
    row.append(bar(ratio === null ? 0 : ratioScale(ratio), figure(ratio), String(ratio), far));
    const share = layer.dead_share ?? layer.saturated_share;
    const text = share === null ? "–" : `${(share * 100).toFixed(0)}%`;
    row.append(bar(share ?? 0, text, share === null ? "not measured for this activation" : String(share), share !== null && share >= 0.5));
    table.append(row);
  });
  return table;
}

/** A diagnosis's `text` with each "epoch N" counted from the run's start: its request began
 * after `offset` epochs of the run. */
export function runEpochs(text, offset) {
  return offset > 0 ? text.replace(/\bepoch (\d+)/g, (_, n) => `epoch ${Number(n) + offset}`) : text;
}

/** Show the health of `run` in `root`: nothing before it has recorded an epoch; then the latest
 * recorded epoch's table and, once it rests, its diagnoses, each with a button calling
 * `apply(change)`. */
export function renderHealth(root, run, apply) {
  const entries = run ? run.entries.filter((entry) => entry.health) : [];
  const latest = entries[entries.length - 1];
  if (!latest) {
    root.replaceChildren(element("p", "note", "Train: each layer's gradient, update and dead or saturated units show here, and what they say when a run is not learning."));
    return;
  }
  const activations = run.body.network.layers.map((layer) => layer.activation);
  const parts = [healthTable(latest, activations)];
  const diagnoses = run.summary && run.status !== "running" ? run.summary.diagnoses || [] : null;
  if (diagnoses === null) parts.push(element("p", "note", "Diagnoses when the run pauses or ends."));
  else if (!diagnoses.length) parts.push(element("p", "health-ok", "No clear sign of trouble: gradients, updates and units look healthy."));
  else {
    // A long run goes in requests, and the summary's texts count the epochs of the last one:
    // each "epoch N" is told as the run's own epoch, as the counter and the curve show it.
    const offset = run.done - run.summary.epochs_run;
    const list = element("ul", "diagnoses");
    for (const diagnosis of diagnoses) {
      const item = element("li", "diagnosis");
      item.dataset.id = diagnosis.id;
      item.append(element("p", "", runEpochs(diagnosis.text, offset)));
      const button = element("button", "small", `Try ${changeText(diagnosis.change)}`);
      button.type = "button";
      button.addEventListener("click", () => apply(diagnosis.change));
      item.append(button);
      list.append(item);
    }
    parts.push(list);
    const counted = offset > 0 ? ` They read the run's last request, from epoch ${offset + 1} on.` : "";
    parts.push(element("p", "note", `A button changes the form; press Train to try it. Layers are numbered from 1.${counted}`));
  }
  root.replaceChildren(...parts);
}
