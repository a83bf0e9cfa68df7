/** The Build form: state in, state out, and each 422 problem shown beside the field it names. */

import { problemText } from "./api.js";
import { sliderValue, unitButtons, writeControls } from "./controls.js";
import { element } from "./format.js";
import { emptyOwn, withOwn } from "./owndata.js";
import { PRESETS } from "./presets.js";
import { validates } from "./state.js";
import { ACTIVATIONS, FEATURES, INITS, LAST_LAYER_ONLY, LOSSES, OPTIMIZERS, REGULARIZATIONS } from "./vocab.js";

/** The features a set's own inputs are: no `input_features` sent. */
const PLAIN_FEATURES = ["x1", "x2"];

/** The rate the form offers when a penalty is chosen and none was set (TF Playground's smallest). */
const REGULARIZATION_RATE = 0.001;

const $ = (id) => document.getElementById(id);

/** Fill a <select> with options (value, label). */
function options(select, entries) {
  select.replaceChildren(...entries.map(([value, label]) => {
    const option = element("option", "", label);
    option.value = value;
    return option;
  }));
}

/** Fill the fixed menus once: presets, activations, inits, losses, optimizers, data sets. */
export function setUpForm(catalog) {
  options($("preset"), [...Object.entries(PRESETS).map(([key, preset]) => [key, preset.label]), ["paste", "Pasted request"]]);
  options($("output"), ACTIVATIONS.map((name) => [name, name]));
  options($("init"), INITS.map((name) => [name, name]));
  options($("loss"), LOSSES.map((name) => [name, name]));
  options($("optimizer"), OPTIMIZERS.map((name) => [name, name]));
  $("features").replaceChildren($("features").querySelector("legend"), ...Object.entries(FEATURES).map(([name, label]) => {
    const field = element("div", "field check feature");
    const input = element("input");
    input.type = "checkbox";
    input.id = `feature-${name}`;
    input.dataset.feature = name;
    const text = element("label", "", label);
    text.htmlFor = input.id;
    field.append(input, text);
    return field;
  }));
  options($("regularization"), [["none", "none"], ...REGULARIZATIONS.map((name) => [name, name.toUpperCase()])]);
  options($("dataset"), [["fixed", "the preset's own data"], ["own", "your own data (CSV or clicks)"], ...catalog.map((set) => [set.name, `${set.name} (${set.task})`])]);
}

/** One hidden layer's row: units (with − and + buttons) and activation, with a remove button. */
function layerRow(layer, index) {
  const row = element("div", "layer-row");
  const units = element("input");
  units.type = "number";
  units.min = "1";
  units.step = "1";
  units.value = String(layer.units);
  units.id = `units-${index}`;
  units.className = "units";
  const unitsLabel = element("label", "", `Hidden ${index + 1}: units`);
  unitsLabel.htmlFor = units.id;
  const activation = element("select");
  activation.id = `activation-${index}`;
  activation.className = "activation";
  options(activation, ACTIVATIONS.filter((name) => !LAST_LAYER_ONLY.includes(name)).map((name) => [name, name]));
  activation.value = layer.activation;
  const activationLabel = element("label", "visually-hidden", `Hidden ${index + 1}: activation`);
  activationLabel.htmlFor = activation.id;
  const remove = element("button", "small remove", "×");
  remove.type = "button";
  remove.dataset.index = String(index);
  remove.setAttribute("aria-label", `Remove hidden layer ${index + 1}`);
  const stepper = element("span", "units-step");
  const [minus, plus] = unitButtons(layer.units, index);
  stepper.append(minus, units, plus);
  row.append(unitsLabel, stepper, activationLabel, activation, remove);
  return row;
}

/** The set's own parameters (from GET /datasets) as number fields: every parameter but those all
 * sets share and the derived inputs (`input_features`, `grid`), which are not numbers. */
function setParams(info, values) {
  const root = $("set-params");
  root.replaceChildren();
  if (!info) return;
  const common = new Set(["samples", "noise", "seed", "test_fraction", "encoding", "input_features", "grid"]);
  for (const [name, schema] of Object.entries(info.parameters)) {
    if (common.has(name)) continue;
    const field = element("div", "field");
    const input = element("input");
    input.type = "number";
    input.id = `param-${name}`;
    input.dataset.param = name;
    input.step = schema.type === "integer" ? "1" : "any";
    input.value = String(values[name] ?? schema.default);
    const label = element("label", "", name);
    label.htmlFor = input.id;
    label.title = schema.description || "";
    field.append(label, input);
    root.append(field);
  }
}

/** Show `state` in the form. */
export function writeForm(state, catalog) {
  $("preset").value = state.preset;
  const fixed = Boolean(state.net.fixed);
  $("fixed-note").textContent = fixed
    ? "The preset's own weights. Change a layer to draw new ones with the init scheme below."
    : "Weights drawn by /init with the scheme and seed below.";
  $("layers").replaceChildren(...state.net.hidden.map(layerRow));
  $("output").value = state.net.output;
  $("init").value = state.net.init;
  $("init-seed").value = String(state.net.init_seed);
  $("dataset").value = state.data.fixed ? "fixed" : state.data.name;
  $("data-settings").hidden = Boolean(state.data.fixed || state.data.own);
  $("samples").value = String(state.data.samples);
  $("data-seed").value = String(state.data.seed);
  const info = catalog.find((set) => set.name === state.data.name);
  setParams(info, state.data.params);
  writeControls(state, info);
  const features = state.data.features ?? PLAIN_FEATURES;
  for (const input of $("features").querySelectorAll("input")) input.checked = features.includes(input.dataset.feature);
  const t = state.train;
  $("loss").value = t.loss;
  $("optimizer").value = t.optimizer;
  $("lr").value = String(t.learning_rate);
  $("momentum").value = String(t.momentum);
  $("weight-decay").value = String(t.weight_decay);
  $("beta1").value = String(t.beta1);
  $("beta2").value = String(t.beta2);
  $("sgd-settings").querySelector("#momentum").parentElement.hidden = t.optimizer !== "sgd";
  $("adam-settings").hidden = t.optimizer === "sgd";
  const penalty = t.regularization ?? null;
  $("regularization").value = penalty ? penalty.type : "none";
  $("regularization-rate").value = String(penalty ? penalty.rate : REGULARIZATION_RATE);
  $("regularization-rate").disabled = !penalty;
  $("epochs").value = String(t.epochs);
  $("batch-size").value = t.batch_size === null ? "" : String(t.batch_size);
  $("shuffle").checked = t.shuffle;
  $("train-seed").value = String(t.seed);
  $("every").value = t.every ? String(t.every) : "";
  $("stop-below").value = t.stop_below === null ? "" : String(t.stop_below);
  writeValidationStops(t, validates(state));
}

/** The stops that read the validation loss: their values, enabled only with validation data. */
function writeValidationStops(train, validated) {
  $("stop-validation").value = String(train.stop_validation_below ?? "");
  $("patience").value = String(train.patience ?? "");
  $("stop-validation").disabled = !validated;
  $("patience").disabled = !validated;
  $("validation-note").textContent = validated
    ? "Measured on the test split (dashed on the curve). With patience the run is one request, so that early stopping keeps its best network: no Pause or One epoch."
    : "These read the validation loss: set a test split above (or paste a request with validation) to use them.";
}

/** A field's text as a number, or the text itself when it is not one (the API says why). */
function numeric(text) {
  const value = Number(text.trim());
  return text.trim() !== "" && Number.isFinite(value) ? value : text.trim();
}

/** A number field's value: a number, or the text itself when it is not one. */
function number(id) {
  return numeric($(id).value);
}

/** A field that may be left empty: null when empty. */
function optional(id) {
  return $(id).value.trim() === "" ? null : number(id);
}

/** The state the form shows, over `previous` (whose fixed network is kept while the layers match). */
export function readForm(previous) {
  const state = structuredClone(previous);
  const hidden = [...$("layers").querySelectorAll(".layer-row")].map((row) => ({
    units: number(row.querySelector(".units").id),
    activation: row.querySelector(".activation").value,
  }));
  const net = state.net;
  const sameLayers = JSON.stringify(hidden) === JSON.stringify(net.hidden) && $("output").value === net.output;
  if (!sameLayers) net.fixed = null;
  net.hidden = hidden;
  net.output = $("output").value;
  net.init = $("init").value;
  net.init_seed = number("init-seed");
  const dataset = $("dataset").value;
  if (dataset !== "fixed") {
    if (dataset !== state.data.name || state.data.fixed) state.data.params = {};
    state.data.fixed = null;
    state.data.name = dataset;
    if (dataset !== "own") delete state.data.own;
  }
  state.data.samples = number("samples");
  state.data.noise = numeric(sliderValue("noise"));
  state.data.seed = number("data-seed");
  state.data.test_fraction = numeric(sliderValue("test-fraction"));
  for (const input of $("set-params").querySelectorAll("input")) state.data.params[input.dataset.param] = number(input.id);
  const features = [...$("features").querySelectorAll("input:checked")].map((input) => input.dataset.feature);
  state.data.features = JSON.stringify(features) === JSON.stringify(PLAIN_FEATURES) ? null : features;
  const t = state.train;
  t.loss = $("loss").value;
  t.optimizer = $("optimizer").value;
  t.learning_rate = number("lr");
  t.momentum = number("momentum");
  t.weight_decay = number("weight-decay");
  t.beta1 = number("beta1");
  t.beta2 = number("beta2");
  const penalty = $("regularization").value;
  t.regularization = penalty === "none" ? null : { type: penalty, rate: number("regularization-rate") };
  t.epochs = number("epochs");
  t.batch_size = optional("batch-size");
  t.shuffle = $("shuffle").checked;
  t.seed = number("train-seed");
  t.every = optional("every") ?? 0;
  t.stop_below = optional("stop-below");
  t.stop_validation_below = optional("stop-validation");
  t.patience = optional("patience");
  // Own data chosen in the menu starts with no points, ready for clicks.
  return dataset === "own" && !state.data.own ? withOwn(state, emptyOwn()) : state;
}

/** The form field a problem's `loc` names for `endpoint`, or null. */
export function fieldFor(endpoint, loc, state) {
  const path = loc.slice(1);
  const [first, second] = path;
  if (endpoint === "/datasets") {
    const ids = { samples: "samples", noise: "noise", seed: "data-seed", test_fraction: "test-fraction", name: "dataset", encoding: "output", input_features: "features", grid: "features" };
    return $(ids[first] || `param-${first}`) || $("dataset");
  }
  if (endpoint === "/init") return first === "init" ? $("init") : first === "seed" ? $("init-seed") : $("layers");
  const optimizerIds = { learning_rate: "lr", momentum: "momentum", betas: "beta1", weight_decay: "weight-decay" };
  const stopIds = { loss_below: "stop-below", validation_loss_below: "stop-validation", patience: "patience" };
  const ids = {
    loss: "loss", epochs: "epochs", batch_size: "batch-size", shuffle: "shuffle", seed: "train-seed",
    stop: "stop-below", trace: "every",
  };
  if (first === "optimizer") return $(optimizerIds[second] || "optimizer");
  if (first === "stop" && stopIds[second]) return $(stopIds[second]);
  if (first === "regularization") return $(second === "rate" ? "regularization-rate" : "regularization");
  if (ids[first]) return $(ids[first]);
  if (["network", "inputs", "targets", "validation"].includes(first)) {
    if (state.preset === "paste") return $("paste");
    return first === "network" ? $("layers") : $("dataset");
  }
  return state.preset === "paste" ? $("paste") : null;
}

/** Remove every problem shown beside a field. */
export function clearProblems() {
  for (const node of document.querySelectorAll(".problem")) node.remove();
  for (const node of document.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
}

/** Show each problem of a 422 beside its field, in place of those shown before (a request the
 * page sends again gets the same answer); the rest go to `fallback`. Returns how many. */
export function showProblems(error, state, fallback) {
  clearProblems();
  const endpoint = error.path.replace(/\/stream$/, "");
  const unplaced = [];
  for (const problem of error.problems) {
    const field = fieldFor(endpoint, problem.loc || [], state);
    const text = problemText(problem);
    if (!field) {
      unplaced.push(text);
      continue;
    }
    field.setAttribute("aria-invalid", "true");
    const note = element("p", "problem", text);
    note.setAttribute("role", "alert");
    const anchor = field.closest(".field, details, .layers") || field;
    anchor.append(note);
  }
  if (!error.problems.length) unplaced.push(error.message);
  fallback.textContent = unplaced.join("\n");
  return error.problems.length;
}
