/** The playground: wires the form, the run, the curve, the diagram, the heatmap and the panels. */

import { ApiError, get, post, problemText } from "./api.js";
import { wireControls } from "./controls.js";
import { Curve } from "./curve.js";
import { itemIn, renderDetails, renderHint } from "./details.js";
import { drawNetwork, paintUnitMaps, unitName } from "./diagram.js";
import { EXERCISE_RULE, buildExercise, claimedOf, fieldsOf, fieldsOfCompute, markExercise, renderSheet } from "./exercise.js";
import { fetchExplain, renderExplain } from "./explain.js";
import { downloadExerciseNotebook, downloadExport } from "./export.js";
import { clearProblems, readForm, setUpForm, showProblems, writeForm } from "./form.js";
import { element, short } from "./format.js";
import { applyChange, renderHealth } from "./health.js";
import { Heatmap } from "./heatmap.js";
import { OwnPanel } from "./ownpanel.js";
import { fromRequest } from "./presets.js";
import { counterText, play, showLosses } from "./play.js";
import { renderPrintout } from "./printout.js";
import { buildRequest, optimizerOf, rows } from "./request.js";
import { Run, autoEvery, traceInclude } from "./run.js";
import { asCurl, asJson, asPython, download } from "./share.js";
import { fromHash, presetState, toHash } from "./state.js";
import { STATUSES, summaryText } from "./status.js";
import { FEATURES, OUTPUT_ACTIVATIONS } from "./vocab.js";
import { WeightEditor, withWeight } from "./weightedit.js";

const $ = (id) => document.getElementById(id);
/** The significant digits of /explain's numbers (its `digits`, sent explicitly). */
const EXPLAIN_DIGITS = 6;

const page = {
  catalog: [],
  state: null,
  request: null,
  run: null,
  view: null,
  cache: new Map(),
  curve: null,
  heatmap: null,
  exercise: null,
  /** The exercise drawn from POST /exercises that the fields show ({key, answer}), or null. */
  drawn: null,
  /** GET /exercises' ready templates, once asked for. */
  templates: null,
  item: null,
  /** Whether the worked solution shows the exercise's own step (opened from its link). */
  workedExercise: false,
  heatmapBusy: false,
  /** The picture's title when it shows the network's output. */
  mapTitle: "Decision map",
  heatmapAt: 0,
  selection: 0,
  preparing: 0,
};

/** Remember the state in the URL (replacing the entry: the back button leaves the page). */
function saveState() {
  history.replaceState(null, "", toHash(page.state));
}

/** A POST whose answer is kept: the same request gives the same numbers. */
function once(path, body) {
  const key = path + JSON.stringify(body);
  if (!page.cache.has(key)) {
    const answer = post(path, body).catch((error) => {
      page.cache.delete(key);
      throw error;
    });
    page.cache.set(key, answer);
  }
  return page.cache.get(key);
}

/** Show an error: a 422's problems beside their fields, anything else in `where`. */
function showError(error, where) {
  if (error instanceof ApiError && error.status === 422) showProblems(error, page.state, where);
  else where.textContent = error.message;
}

/** Build the request of the state, reset the run and every view. */
async function prepare() {
  delete document.body.dataset.prepared;
  clearProblems();
  $("run-error").textContent = "";
  const previous = page.run;
  page.run = null; // first, so that the old run's last callbacks find it gone
  if (previous) previous.stop();
  page.cache.clear();
  page.view = null;
  page.item = null;
  renderHint($("details"));
  page.curve.reset();
  renderHealth($("health"), null, applyDiagnosis);
  updateRunControls();
  // The latest state wins: an earlier one whose request is built after it gives way.
  const preparing = ++page.preparing;
  let request;
  try {
    request = await buildRequest(page.state, page.catalog);
  } catch (error) {
    if (preparing !== page.preparing) return;
    page.request = null;
    showError(error, $("run-error"));
    page.own.showEmpty();
    updateRunControls();
    document.body.dataset.prepared = "error";
    return;
  }
  if (preparing !== page.preparing) return;
  page.request = request;
  page.run = newRun();
  fillSamples();
  drawNetwork($("network"), page.request.body.network, onDiagramItem, inputLabels());
  // Input features are of the plane's two coordinates: their map is over the plane.
  const inputs = page.request.data.plane ? 2 : rows(page.request.data.inputs)[0].length;
  $("heatmap-box").hidden = inputs > 2;
  const classifies = page.request.body.loss in OUTPUT_ACTIVATIONS;
  page.mapTitle = inputs === 1 ? "The fitted curve" : classifies ? "Decision map" : "Output map";
  showUnitMap(null);
  updateRunControls();
  await selectEpoch(null);
  document.body.dataset.prepared = page.state.preset;
}

/** The diagram's labels of the inputs: the input features' names, or null for x₁, x₂, … */
function inputLabels() {
  const features = page.state.data.fixed ? null : page.state.data.features;
  return features ? features.map((name) => FEATURES[name]) : null;
}

/** A new run of the current request, wired to the page. */
function newRun() {
  const run = new Run(page.request.body, page.state.train.every, {
    entries: (entries) => run === page.run && onEntries(entries),
    state: () => run === page.run && onRunState(run),
    error: (error) => run === page.run && showError(error, $("run-error")),
  });
  return run;
}

/** A weight typed in the diagram: the network the next request starts from takes it; before the
 * first epoch, the request too (which the share buttons copy, and a fixed network's link keeps). */
async function setWeight(item, value) {
  const run = page.run;
  if (!run) return;
  run.edit((network) => withWeight(network, item, value));
  if (run.status === "running") return;
  if (run.done > 0) return drawNetwork($("network"), run.network, onDiagramItem, inputLabels());
  page.request.body = { ...page.request.body, network: run.network };
  if (page.state.net.fixed) page.state.net.fixed = run.network;
  await selectEpoch(null);
}

/** The sample menu: one entry per training sample (at most 200 listed). */
function fillSamples() {
  const inputs = rows(page.request.data.inputs);
  const select = $("sample");
  select.replaceChildren(
    ...inputs.slice(0, 200).map((input, index) => {
      const option = element("option", "", `${index + 1}: [${input.map(short).join(", ")}]`);
      option.value = String(index);
      return option;
    }),
  );
  page.state.sample = Math.min(page.state.sample || 0, Math.min(inputs.length, 200) - 1);
  select.value = String(page.state.sample);
}

/** New trace lines: the curve, the counter, the scrubber; the heatmap now and then. */
function onEntries(entries) {
  page.curve.add(entries);
  const last = entries[entries.length - 1];
  $("epoch-counter").textContent = counterText(page.run, last.epoch);
  showLosses($("live-loss"), last);
  const scrubber = $("scrubber");
  const following = Number(scrubber.value) >= Number(scrubber.max) - entries.length || scrubber.disabled;
  scrubber.max = String(page.run.entries.length - 1);
  scrubber.disabled = false;
  if (following) {
    scrubber.value = scrubber.max;
    showScrub(last);
  }
  livePicture(last.network);
}

/** Redraw the heatmap with the latest network, at most one request at a time, 4 a second. */
function livePicture(network) {
  if ($("heatmap-box").hidden || !network || page.heatmapBusy || performance.now() - page.heatmapAt < 250) return;
  page.heatmapBusy = true;
  page.heatmapAt = performance.now();
  page.heatmap.draw(network, page.request.data).catch(() => {}).finally(() => (page.heatmapBusy = false));
}

/** The run changed state: buttons, status, summary; when it rests, the selected epoch's numbers. */
function onRunState(run) {
  updateRunControls();
  renderHealth($("health"), run, applyDiagnosis);
  if (run.status === "running") return;
  page.curve.markBest(run.summary ? run.summary.best_epoch : null);
  const last = run.entries[run.entries.length - 1];
  if (last) $("epoch-counter").textContent = counterText(run, last.epoch);
  if (run.entries.length) {
    const wanted = page.pendingEpoch || keptEpoch(run);
    page.pendingEpoch = null;
    const index = wanted ? run.entries.findIndex((entry) => entry.epoch === wanted) : -1;
    $("scrubber").value = String(index >= 0 ? index : run.entries.length - 1);
    selectEpoch(Number($("scrubber").value));
  }
}

/** A diagnosis's change applied to the form: a new run to train. */
async function applyDiagnosis(change) {
  page.state = applyChange(readForm(page.state), change);
  writeForm(page.state, page.catalog);
  saveState();
  await prepare();
  $("train").focus();
}

/** After an early stop, the epoch whose network the run kept (selected when recorded), else null. */
function keptEpoch(run) {
  return run.status === "early_stopped" ? run.summary.best_epoch : null;
}

/** The Run panel's buttons and status line; focus on a button that this disables moves on. */
function updateRunControls() {
  const run = page.run;
  const status = run ? run.status : "not ready";
  const running = status === "running";
  const focused = document.activeElement;
  const trains = Boolean(run && (run.open || run.continues));
  $("train").disabled = !trains;
  $("train").textContent = status === "paused" ? "Resume" : run && run.continues ? "Continue" : "Train";
  $("step").disabled = !trains || run.whole;
  $("play").disabled = !trains || run.whole;
  $("pause").disabled = !running || run.whole;
  $("stop").disabled = !running;
  const faulty = status === "failed" && run.failure ? faultyFields(run.failure) : "";
  $("status").textContent = `${STATUSES[status] || status}${faulty ? `: ${faulty}` : ""}`;
  $("status").dataset.status = status;
  if (focused instanceof HTMLButtonElement && focused.disabled && focused.closest(".run")) moveFocusFrom(focused);
  $("summary").textContent = run ? summaryText(run) : "";
  if (!run || !run.entries.length) {
    $("epoch-counter").textContent = `epoch 0 / ${run ? run.body.epochs : page.state.train.epochs}`;
    $("scrubber").disabled = true;
    $("scrubber").max = "0";
    showScrub(null);
    showLosses($("live-loss"), null);
  }
}

/** The fields a failed request's 422 names ("epochs", "optimizer.learning_rate"), or "". */
function faultyFields(error) {
  const names = error instanceof ApiError ? error.problems.map((problem) => (problem.loc || []).slice(1).join(".")) : [];
  return [...new Set(names.filter(Boolean))].join(", ");
}

/** Focus the next control that can act after `button` was disabled under it: Pause while the
 * run goes, else Train, else the status line (never the page's body). */
function moveFocusFrom(button) {
  const next = ["pause", "train", "play", "step"].map($).find((control) => control !== button && !control.disabled);
  (next || $("status")).focus();
}

/** The parameters at the start of epoch `epoch`, when known (epoch 1, or the one before recorded). */
function startOf(epoch) {
  if (epoch === 1) return page.run.initial;
  const before = page.run.entries.find((entry) => entry.epoch === epoch - 1);
  return before ? before.network : null;
}

/** The selected sample's forward pass on `network` (from /backward), with `loss` over all the data. */
async function samplePass(network, loss) {
  const { body } = page.request;
  const s = page.state.sample;
  const one = await once("/backward", { network, inputs: rows(body.inputs)[s], targets: rows(body.targets)[s], loss: body.loss });
  return { layers: one.layers, outputs: one.outputs, loss };
}

/** A request's `regularization`, as a field to spread into another request (none: no field). */
function penaltyOf(body) {
  return body.regularization ? { regularization: body.regularization } : {};
}

/** The numbers of the selected epoch (index into the trace), or of epoch 1 before training; with
 * much data the printout's z, a and y_pred are the selected sample's only. */
async function epochView(index) {
  const { body } = page.request;
  const everything = traceInclude(body).includes("layers");
  const one = `z, a and y_pred of sample ${page.state.sample + 1} only; the loss and the gradients over all the data`;
  if (index === null) {
    const all = await once("/backward", { network: body.network, inputs: body.inputs, targets: body.targets, loss: body.loss, ...penaltyOf(body) });
    const pass = everything ? all : await samplePass(body.network, all.loss);
    const note = `Before training: epoch 1's forward pass and gradients, from /backward${everything ? "" : ` (${one})`}.`;
    return { index, epoch: 1, start: body.network, after: null, gradients: all.gradients, pass, note };
  }
  const entry = page.run.entries[index];
  const start = startOf(entry.epoch);
  const validation = "validation_loss" in entry ? { loss: entry.validation_loss, accuracy: entry.validation_accuracy } : null;
  if (entry.layers) {
    const pass = { layers: entry.layers, outputs: entry.outputs, loss: entry.loss };
    return { index, epoch: entry.epoch, start, after: entry.network, gradients: entry.gradients, pass, validation, note: `Epoch ${entry.epoch}: the trace's numbers.` };
  }
  const pass = await samplePass(start || entry.network, entry.loss);
  const note = `Epoch ${entry.epoch}: ${one}${start ? "" : ". The trace did not record this epoch's starting parameters (Record every is above 1), so z, a and y_pred here are of the parameters after its update, while the loss and the gradients are at its start"}.`;
  return { index, epoch: entry.epoch, start, after: entry.network, gradients: entry.gradients, pass, validation, note };
}

/** Select a recorded epoch (index) or none (null): scrubber label, curve, printout, panels, URL. */
async function selectEpoch(index) {
  // The latest selection wins: an earlier one still waiting for its answers gives way.
  const selection = ++page.selection;
  const view = await epochView(index).catch((error) => (showError(error, $("run-error")), null));
  if (!view || selection !== page.selection) return;
  page.view = view;
  page.state.epoch = index === null ? null : view.epoch;
  saveState();
  showScrub(index === null ? null : page.run.entries[index]);
  const network = view.after || view.start;
  page.curve.select(view.epoch);
  drawNetwork($("network"), network, onDiagramItem, inputLabels());
  renderPrintout($("printout"), view);
  // After the synchronous drawing, so that the map's answer finds the main thread free.
  const picture = $("heatmap-box").hidden ? null : page.heatmap.draw(network, page.request.data).catch((error) => showError(error, $("run-error")));
  await sampleValues().catch(() => null);
  if (selection !== page.selection) return;
  showItem(page.item);
  refreshPanels();
  await picture;
  if (selection !== page.selection) return;
  document.body.dataset.epoch = index === null ? "" : String(view.epoch);
  document.body.dataset.sample = String(page.state.sample);
}

/** z, a and δ of every unit for the selected sample, with the selected epoch's starting parameters. */
async function sampleValues() {
  const { body } = page.request;
  const view = page.view;
  const network = view.start || view.after;
  const s = page.state.sample;
  const answer = await once("/backward", {
    network,
    inputs: rows(body.inputs)[s],
    targets: rows(body.targets)[s],
    loss: body.loss,
  });
  view.sample = { index: s, inputs: rows(body.inputs)[s], layers: answer.layers, deltas: answer.gradients.map((g) => g.bias) };
  return view.sample;
}

/** A node or edge of the diagram hovered, focused or tapped: its numbers, and a hidden unit's map. */
function onDiagramItem(item) {
  showItem(item);
  showUnitMap(item);
}

/** Show an input's or a hidden unit's map large in the decision map's place (`item` a node of the
 * diagram), or the network's output map again (null, or any other item). */
function showUnitMap(item) {
  const shown = page.heatmap.showUnit(item && item.kind === "node" ? item : null);
  const layers = page.request ? page.request.body.network.layers.length : 0;
  const input = shown && item.layer === 0 ? `input ${(inputLabels() || [])[item.unit] || `x${item.unit + 1}`}: its value over the plane` : "";
  $("heatmap-title").textContent = shown ? input || `${unitName(item.layer, item.unit, layers)}: its output a over the plane` : page.mapTitle;
}

/** Show a hovered or focused node's or edge's numbers in the details box, and keep it shown
 * (with the numbers of each epoch selected next) while the network has it. */
function showItem(item) {
  if (!page.view) return;
  page.item = item && itemIn(page.view, item) ? item : null;
  if (page.item) renderDetails($("details"), page.view, page.item, inputLabels());
  else renderHint($("details"));
}

/** The slider's label and spoken value: the selected entry's epoch and loss (at the epoch's
 * start), or "before training" (null). */
function showScrub(entry) {
  const text = entry ? `epoch ${entry.epoch}, loss ${short(entry.loss)}` : "before training";
  $("scrub-label").textContent = text;
  $("scrubber").setAttribute("aria-valuetext", entry ? `epoch ${entry.epoch}` : text);
}

/** Re-render the open panels (worked solution, exercise) for the selected epoch and sample. */
function refreshPanels() {
  if ($("explain-box").open) renderWorked(page.workedExercise).catch((error) => showError(error, $("explain-note")));
  if ($("exercise-box").open) setUpExercise();
}

/** Notes on what a worked step can show for this run. */
function stepCaveats() {
  const train = page.state.train;
  const notes = [];
  if (page.view.epoch > 1 && train.optimizer !== "sgd") notes.push("the optimizer's state at this epoch is not recorded, so its update starts from a fresh state");
  if (train.batch_size !== null) notes.push("it is one full-batch step; the run took mini-batches");
  return notes;
}

/** Render /explain for the selected epoch and sample, once per distinct request; with
 * `exercise`, the exercise's own step (its sample alone, one plain SGD step). */
function renderWorked(exercise = false) {
  const drawn = exercise && page.drawn ? page.drawn.key : null;
  const key = JSON.stringify([page.view && page.view.start, page.state.sample, page.request && page.request.body, exercise, drawn]);
  if (!page.worked || page.worked.key !== key) {
    const promise = fetchWorked(exercise).catch((error) => {
      page.worked = null;
      throw error;
    });
    page.worked = { key, promise };
  }
  return page.worked.promise;
}

/** Fetch and render /explain for the selected epoch's starting parameters and sample (with
 * `exercise`, the step the exercise checks). */
async function fetchWorked(exercise) {
  const view = page.view;
  const note = $("explain-note");
  if (exercise && page.drawn) return fetchDrawnWorked(note);
  if (!view.start) {
    note.textContent = "This epoch's starting parameters were not recorded (the trace keeps every k-th epoch): pick the epoch after a recorded one, or set Record every to 1.";
    $("explain").replaceChildren();
    return;
  }
  const { body } = page.request;
  const request = exercise
    ? { ...exerciseRequest(), optimizer: { type: "sgd", learning_rate: page.state.train.learning_rate }, sample: 0, digits: EXPLAIN_DIGITS }
    : {
        network: view.start,
        inputs: body.inputs,
        targets: body.targets,
        loss: body.loss,
        optimizer: optimizerOf(page.state.train),
        ...penaltyOf(body),
        sample: page.state.sample,
        digits: EXPLAIN_DIGITS,
      };
  const { markdown, ids } = await fetchExplain(request);
  const caveats = stepCaveats();
  const precision = `numbers to ${EXPLAIN_DIGITS} significant digits, as /explain writes them (the printout has 8; the details box gives each number's full value)`;
  note.textContent = exercise
    ? `The exercise's step: epoch ${view.epoch}, sample ${page.state.sample + 1} alone, one SGD step at learning rate ${page.state.train.learning_rate}; ${precision}.`
    : `Epoch ${view.epoch}, sample ${page.state.sample + 1}; ${precision}.${caveats.length ? ` Note: ${caveats.join("; ")}.` : ""}`;
  renderExplain($("explain"), markdown, ids);
}

/** The worked solution of the drawn exercise's step, from the /explain request its answer
 * gives (its optimizer and, with momentum, the earlier buffer). */
async function fetchDrawnWorked(note) {
  const { key, answer } = page.drawn;
  const { network, inputs, targets, loss, optimizer, optimizer_state } = answer;
  const { markdown, ids } = await fetchExplain({ network, inputs, targets, loss, optimizer, optimizer_state, digits: EXPLAIN_DIGITS });
  note.textContent = `The drawn exercise's step (${key.replace(":", ", seed ")}); numbers to ${EXPLAIN_DIGITS} significant digits, as /explain writes them.`;
  renderExplain($("explain"), markdown, ids);
}

/** GET /exercises' ready templates into the exercise menu, once: each by its short name (the
 * menu stays narrow), its title said in the note when drawn. */
function loadTemplates() {
  if (!page.templates) {
    page.templates = get("/exercises").then((answer) => {
      const options = answer.templates.map(({ name, title }) => {
        const option = element("option", "", name);
        option.value = name;
        option.title = title;
        return option;
      });
      $("exercise-template").append(...options);
      return answer.templates;
    });
    page.templates.catch(() => (page.templates = null));
  }
  return page.templates;
}

/** The exercise panel: the drawn exercise of the state when it has one, else the fields of the
 * selected epoch's starting parameters and sample. */
function setUpExercise() {
  loadTemplates().catch((failure) => ($("exercise-error").textContent = failureText(failure)));
  if (page.state.exercise) return setUpDrawn().catch((failure) => ($("exercise-error").textContent = failureText(failure)));
  const view = page.view;
  const note = $("exercise-note");
  $("exercise-error").textContent = "";
  page.drawn = null;
  $("exercise-notebook").disabled = true;
  $("exercise-template").value = "";
  document.body.dataset.exercise = "";
  if (!view.start) {
    note.textContent = "This epoch's starting parameters were not recorded: pick another epoch, or set Record every to 1.";
    $("exercise-fields").replaceChildren();
    $("exercise-sheet").replaceChildren();
    page.exercise = null;
    return;
  }
  const lr = page.state.train.learning_rate;
  const sample = rows(page.request.body.inputs)[page.state.sample];
  const target = rows(page.request.body.targets)[page.state.sample];
  note.textContent = `Epoch ${view.epoch}, sample ${page.state.sample + 1} (x = [${sample.join(", ")}]) alone, one SGD step at learning rate ${lr}. Fill any fields (rows of a matrix separated by ";"), then check. ${EXERCISE_RULE}`;
  const fields = fieldsOf(view.start);
  const given = { network: view.start, inputs: [sample], targets: [target], loss: page.request.body.loss, learning_rate: lr };
  renderSheet($("exercise-sheet"), `Epoch ${view.epoch}, sample ${page.state.sample + 1}`, given, fields);
  $("exercise-sheet").classList.add("print-only");
  page.exercise = buildExercise($("exercise-fields"), fields);
}

/** The state's drawn exercise (its template and seed, from POST /exercises): its sheet and
 * fields, built once per exercise so that the numbers typed stay while the epoch changes. */
async function setUpDrawn() {
  const { template, seed } = page.state.exercise;
  const key = `${template}:${seed}`;
  $("exercise-error").textContent = "";
  const templates = await loadTemplates().catch(() => []);
  if (page.drawn && page.drawn.key === key) return;
  const answer = await once("/exercises", { template, seed });
  const now = page.state.exercise;
  if (!now || `${now.template}:${now.seed}` !== key) return;
  const momentum = answer.optimizer_state !== null;
  const fields = fieldsOfCompute(answer.compute);
  const batch = Array.isArray(answer.inputs[0]);
  const given = {
    network: answer.network,
    inputs: batch ? answer.inputs : [answer.inputs],
    targets: batch ? answer.targets : [answer.targets],
    loss: answer.loss,
    learning_rate: answer.optimizer.learning_rate,
    momentum: answer.optimizer.momentum,
    buffer: momentum ? answer.optimizer_state.momentum_buffer : null,
  };
  renderSheet($("exercise-sheet"), `Exercise “${template}”, seed ${seed}`, given, fields);
  $("exercise-sheet").classList.remove("print-only");
  const ready = templates.find((item) => item.name === template);
  $("exercise-note").textContent = `${ready ? `${ready.title}. ` : ""}A variant drawn by POST /exercises: the link to this page reopens the same numbers. Fill any fields (rows of a matrix separated by ";"; a batch's z and a have a row per sample), then check. ${EXERCISE_RULE}`;
  page.exercise = buildExercise($("exercise-fields"), fields);
  page.drawn = { key, answer };
  $("exercise-notebook").disabled = false;
  $("exercise-template").value = template;
  document.body.dataset.exercise = key;
}

/** Draw a new variant of the menu's template (the notebook's when the run's step is chosen):
 * a fresh seed, kept in the URL. */
function newExercise() {
  const template = $("exercise-template").value || "notebook";
  const seed = crypto.getRandomValues(new Uint32Array(1))[0] % 1_000_000;
  page.state.exercise = { template, seed };
  saveState();
  setUpExercise();
}

/** The menu changed: back to the run's step, or a new variant of the chosen template. */
function chooseExercise() {
  if ($("exercise-template").value) return newExercise();
  delete page.state.exercise;
  saveState();
  if (page.view) setUpExercise();
}

/** Download the drawn exercise as a notebook from /export; a refusal shows under the fields. */
async function exerciseNotebook() {
  if (!page.state.exercise) return;
  $("exercise-error").textContent = "";
  const { template, seed } = page.state.exercise;
  try {
    await downloadExerciseNotebook({ template, seed });
  } catch (failure) {
    $("exercise-error").textContent = failureText(failure);
  }
}

/** The network, data and loss of the step the exercise checks: the selected sample alone. */
function exerciseRequest() {
  const s = page.state.sample;
  const { body } = page.request;
  return { network: page.view.start, inputs: [rows(body.inputs)[s]], targets: [rows(body.targets)[s]], loss: body.loss };
}

/** /check's body but `claimed`: the drawn exercise's numbers, or the run's selected sample. */
function checkRequest() {
  if (page.drawn) {
    const { network, inputs, targets, loss, optimizer, optimizer_state } = page.drawn.answer;
    const step = optimizer_state ? { optimizer, optimizer_state } : { learning_rate: optimizer.learning_rate };
    return { network, inputs, targets, loss, ...step };
  }
  const request = exerciseRequest();
  return { ...request, inputs: request.inputs[0], targets: request.targets[0], learning_rate: page.state.train.learning_rate };
}

/** Send the filled fields to /check and mark each one (a field it cannot read is marked
 * beside itself, and the others are checked). */
async function checkExercise(event) {
  event.preventDefault();
  if (!page.exercise) return;
  const error = $("exercise-error");
  error.textContent = "";
  try {
    const { claimed, unread } = claimedOf(page.exercise);
    if (Object.keys(claimed).length === 0) throw new Error(unread ? "no field holds numbers it can read" : "fill at least one field");
    const answer = await post("/check", { ...checkRequest(), claimed });
    markExercise(page.exercise, answer, exerciseStepLink);
  } catch (failure) {
    error.textContent = failureText(failure);
  }
}

/** A link to a step of the worked solution of the exercise's own computation, which it opens
 * and scrolls to. */
function exerciseStepLink(step) {
  const link = element("a", "step-link", "see the worked step");
  link.href = `#step-${step}`;
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    page.workedExercise = true;
    $("explain-box").open = true;
    await renderWorked(true);
    const target = document.getElementById(`step-${step}`);
    if (target) {
      target.classList.add("highlight");
      target.scrollIntoView({ block: "center" });
      target.focus();
    }
  });
  return link;
}

/** The form changed: a new preset, or new settings; either way a new run. */
async function onFormChange(event) {
  if (event.target.closest("#exercise, #paste-box, #own-box")) return;
  if (event.target.id === "preset") {
    if (event.target.value === "paste") {
      $("paste-box").open = true;
      $("paste").focus();
      event.target.value = page.state.preset;
      return;
    }
    page.state = presetState(event.target.value);
  } else {
    page.state = readForm(page.state);
  }
  writeForm(page.state, page.catalog);
  saveState();
  await prepare();
}

/** Load a pasted /train body as the state (its own network, data and settings). */
async function loadPaste() {
  const error = $("paste-error");
  error.textContent = "";
  let body;
  try {
    body = JSON.parse($("paste").value);
    page.state = { preset: "paste", ...fromRequest(body), epoch: null, sample: 0 };
  } catch (failure) {
    error.textContent = failure.message;
    return;
  }
  writeForm(page.state, page.catalog);
  saveState();
  await prepare();
}

/** A failed request in words: a 422's problems a line each, else the error's message. */
function failureText(failure) {
  const problems = failure instanceof ApiError ? failure.problems : [];
  return problems.map(problemText).join("\n") || failure.message;
}

/** Download the run as `format` from /export; a refusal's problems show under the buttons. */
async function exportRun(format) {
  const error = $("export-error");
  error.textContent = "";
  if (!page.request) return;
  try {
    await downloadExport(page.request.body, format);
  } catch (failure) {
    error.textContent = failureText(failure);
  }
}

/** Copy `text` to the clipboard when allowed, and show it in the share box either way. */
async function share(text) {
  $("share-output").value = text;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    $("share-output").select();
  }
}

/** Wire every control. */
function wire() {
  // The skip link moves focus without touching the hash, which holds the state.
  document.querySelector(".skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    $("run").focus();
  });
  // A unit's map is shown large while the pointer or the focus is on it: leaving the diagram
  // brings the output's map back.
  $("network").addEventListener("mouseleave", () => showUnitMap(null));
  $("network").addEventListener("focusout", (event) => !$("network").contains(event.relatedTarget) && showUnitMap(null));
  for (const id of ["show-test", "discretize"]) {
    $(id).addEventListener("change", () => page.heatmap.setOptions({ test: $("show-test").checked, discrete: $("discretize").checked }));
  }
  $("build").addEventListener("change", onFormChange);
  $("build").addEventListener("submit", (event) => event.preventDefault());
  $("load-paste").addEventListener("click", loadPaste);
  wireControls((edit) => {
    page.state = readForm(page.state);
    edit(page.state);
    writeForm(page.state, page.catalog);
    saveState();
    prepare();
  });
  $("train").addEventListener("click", () => page.run && page.run.train());
  $("step").addEventListener("click", () => page.run && page.run.train(1));
  $("play").addEventListener("click", () => page.run && play(page.run, page.curve));
  $("pause").addEventListener("click", () => page.run && page.run.pause());
  $("stop").addEventListener("click", () => page.run && page.run.stop());
  $("reset").addEventListener("click", () => prepare());
  let timer = 0;
  $("scrubber").addEventListener("input", () => {
    const index = Number($("scrubber").value);
    const entry = page.run.entries[index];
    if (entry) showScrub(entry);
    if (page.run.status === "running") return;
    clearTimeout(timer);
    timer = setTimeout(() => selectEpoch(index), 80);
  });
  $("sample").addEventListener("change", () => {
    page.state.sample = Number($("sample").value);
    if (page.view) selectEpoch(page.view.index);
  });
  $("explain-box").addEventListener("toggle", () => {
    if (!$("explain-box").open) page.workedExercise = false;
    else if (page.view) renderWorked(page.workedExercise).catch((error) => showError(error, $("explain-note")));
  });
  $("exercise-box").addEventListener("toggle", () => $("exercise-box").open && page.view && setUpExercise());
  $("exercise").addEventListener("submit", checkExercise);
  $("exercise-template").addEventListener("change", chooseExercise);
  $("new-exercise").addEventListener("click", () => page.view && newExercise());
  $("exercise-notebook").addEventListener("click", exerciseNotebook);
  $("print-exercise").addEventListener("click", () => window.print());
  // A link pasted into this tab changes only the hash (the page saves its own without this event).
  window.addEventListener("hashchange", () => location.reload());
  $("copy-url").addEventListener("click", () => share(location.href));
  $("copy-curl").addEventListener("click", () => page.request && share(asCurl(page.request.body, location.origin)));
  $("copy-json").addEventListener("click", () => page.request && share(asJson(page.request.body)));
  $("copy-python").addEventListener("click", () => page.request && share(asPython(page.request.body, location.origin)));
  // The run's newest network: after an early stop, the best one the server returned.
  $("download-network").addEventListener("click", () => page.run && download("network.json", JSON.stringify({ network: page.run.latest }, null, 2)));
  for (const button of document.querySelectorAll("[data-format]")) button.addEventListener("click", () => exportRun(button.dataset.format));
}

/** Start: the data sets' list, the state from the URL or the notebook, then the first view. */
async function start() {
  page.curve = new Curve($("curve"), (epoch) => {
    const index = page.run ? page.run.entries.findIndex((entry) => entry.epoch === epoch) : -1;
    if (index >= 0 && page.run.status !== "running") {
      $("scrubber").value = String(index);
      selectEpoch(index);
    }
  });
  page.heatmap = new Heatmap(
    $("heatmap"),
    (ms, what) => ($("heatmap-time").textContent = `Redrawn in ${ms.toFixed(0)} ms (one /forward over ${what}).`),
    (drawInto) => paintUnitMaps($("network"), drawInto),
    $("map-scale"),
  );
  page.own = new OwnPanel($("own-data"), $("own-tools"), {
    state: () => page.state,
    request: () => page.request,
    heatmap: page.heatmap,
    apply: async (state) => {
      page.state = state;
      writeForm(page.state, page.catalog);
      saveState();
      await prepare();
    },
  });
  new WeightEditor($("network"), (item) => page.run.latest.layers[item.layer].weights[item.unit][item.from], setWeight);
  const catalog = get("/datasets").then((answer) => answer.datasets);
  page.state = fromHash(location.hash) || presetState("notebook");
  const epoch = page.state.epoch;
  // The notebook's own data needs no catalog: draw it while GET /datasets is on its way.
  if (page.state.data.fixed) {
    setUpForm([]);
    writeForm(page.state, []);
    wire();
    await Promise.all([prepare(), catalog.then((sets) => (page.catalog = sets))]);
  } else {
    page.catalog = await catalog;
    setUpForm(page.catalog);
    writeForm(page.state, page.catalog);
    wire();
    await prepare();
  }
  setUpForm(page.catalog);
  writeForm(page.state, page.catalog);
  page.own.describe();
  // A link to a drawn exercise opens it (the panel's toggle sets it up).
  if (page.state.exercise) $("exercise-box").open = true;
  if (epoch && page.run) {
    page.pendingEpoch = epoch;
    await page.run.train();
    // A link to a run continued (or played) past its epochs trains on to the epoch it selected,
    // recording about as many epochs as a run of that length (the last one always).
    while (page.run && page.run.continues && page.run.done < epoch) {
      page.pendingEpoch = epoch;
      await page.run.train(epoch - page.run.done, autoEvery(epoch - page.run.done));
    }
  }
  document.body.dataset.ready = "true";
}

start();
