/** TF Playground's data and network controls: the noise and test-split sliders with their values
 * shown, Regenerate (the same set drawn again with a new seed), and +/− buttons for the hidden
 * layers and each layer's units, bounded by the API's limits (a button at a bound is disabled,
 * its title saying why). Each change is an edit of the page state that `change` applies as a
 * form change does: the network drawn anew by /init, the data by /datasets, a new run. */

import { LIMITS } from "./vocab.js";

const $ = (id) => document.getElementById(id);

/** The hidden layers a network may have: the API counts the output layer among its layers. */
const MAX_HIDDEN = LIMITS.layers - 1;

/** The largest noise the slider offers when the set allows more (TF Playground's sets span about
 * ±1, where a standard deviation above 1 leaves no shape to learn). */
const NOISE_SLIDER_MAX = 1;

/** The largest test split the slider offers (TF Playground's: 90% held out at most). */
export const TEST_SPLIT_MAX = 0.9;

/** A layer's units after `delta` more, within 1 and the API's limit (a field holding no number
 * counts as 1). */
function stepped(units, delta) {
  const current = Number.isInteger(units) ? units : 1;
  return Math.max(1, Math.min(LIMITS.units, current + delta));
}

/** Set a +/− button: disabled at its bound, with a title saying why (else what it does). */
function bound(button, blocked, why, does) {
  button.disabled = blocked;
  button.title = blocked ? why : does;
}

/** The − and + buttons of one hidden layer's units (0-based `index`), for its row in the form. */
export function unitButtons(units, index) {
  const buttons = ["−", "+"].map((text, k) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `small step ${k ? "units-plus" : "units-minus"}`;
    button.textContent = text;
    button.dataset.index = String(index);
    button.setAttribute("aria-label", `${k ? "Add a unit to" : "Remove a unit from"} hidden layer ${index + 1}`);
    return button;
  });
  const [minus, plus] = buttons;
  bound(minus, !(units > 1), "A layer needs at least 1 unit", `Remove a unit from hidden layer ${index + 1}`);
  bound(plus, units >= LIMITS.units, `The API takes at most ${LIMITS.units} units per layer (BACKPROP_MAX_UNITS)`, `Add a unit to hidden layer ${index + 1}`);
  return buttons;
}

/** The text of a slider's value: the noise as it is sent, the test split as a share and a count. */
function sliderTexts(data) {
  const share = Math.round(data.test_fraction * 100);
  const held = Math.round(data.samples * data.test_fraction);
  return {
    noise: `${data.noise}`,
    "test-fraction": data.test_fraction > 0 ? `${share}% (${held} of ${data.samples} samples held out)` : "none held out",
  };
}

/** Show a slider's value beside it and to a screen reader. */
function showSlider(id, text) {
  $(`${id}-value`).textContent = text;
  $(id).setAttribute("aria-valuetext", text);
}

/** Show the controls of `state`: the sliders' ranges and values, the layer count and its
 * buttons' bounds; `info` is the drawn set's GET /datasets entry (its noise range), if any. */
export function writeControls(state, info) {
  const data = state.data;
  const noise = $("noise");
  const most = info?.parameters?.noise?.maximum ?? NOISE_SLIDER_MAX;
  // A value beyond the slider's usual range (from a link or a typed request) widens it.
  noise.max = String(Math.max(Math.min(most, NOISE_SLIDER_MAX), Number(data.noise) || 0));
  noise.disabled = most === 0;
  noise.title = most === 0 ? "This set is drawn without noise" : "";
  const test = $("test-fraction");
  test.max = String(Math.max(TEST_SPLIT_MAX, Number(data.test_fraction) || 0));
  // The exact values, kept while the slider is not moved: a step would round them.
  noise.value = String(data.noise);
  noise.dataset.exact = String(data.noise);
  test.value = String(data.test_fraction);
  test.dataset.exact = String(data.test_fraction);
  const texts = sliderTexts(data);
  for (const id of ["noise", "test-fraction"]) showSlider(id, texts[id]);
  const hidden = state.net.hidden.length;
  $("layer-count").textContent = `${hidden} hidden layer${hidden === 1 ? "" : "s"}`;
  bound($("remove-layer"), hidden === 0, "No hidden layer left to remove", "Remove the last hidden layer");
  bound($("add-layer"), hidden >= MAX_HIDDEN, `The API takes at most ${LIMITS.layers} layers, the output layer included (BACKPROP_MAX_LAYERS)`, "Add a hidden layer");
}

/** A slider's value: the state's exact value while it has not been moved, else its position. */
export function sliderValue(id) {
  const slider = $(id);
  return slider.dataset.exact ?? slider.value;
}

/** A new data seed, other than `seed`. */
function newSeed(seed) {
  const drawn = crypto.getRandomValues(new Uint32Array(1))[0] % 1_000_000;
  return drawn === seed ? drawn + 1 : drawn;
}

/** The network's hidden layers edited: a new network is drawn with the init scheme. */
function edited(state, edit) {
  edit(state.net.hidden);
  state.net.fixed = null;
}

/** Focus the control `selector` names after a change rebuilt or disabled the one that had the
 * focus: it, or else `fallback` (the keyboard stays where it was, never on the page's body). */
function refocus(selector, fallback) {
  const target = document.querySelector(selector);
  (target && !target.disabled ? target : document.querySelector(fallback))?.focus();
}

/** Wire the controls: `change(edit)` applies `edit(state)` to the form's state as a form change
 * does (the form read, the edit made, the form written, the URL saved, a new run prepared). */
export function wireControls(change) {
  for (const id of ["noise", "test-fraction"]) {
    $(id).addEventListener("input", () => {
      delete $(id).dataset.exact;
      const data = { samples: Number($("samples").value), noise: $("noise").value, test_fraction: Number($("test-fraction").value) };
      showSlider(id, sliderTexts(data)[id]);
    });
  }
  $("regenerate").addEventListener("click", () => change((state) => (state.data.seed = newSeed(state.data.seed))));
  $("add-layer").addEventListener("click", () => {
    change((state) => edited(state, (hidden) => {
      const last = hidden[hidden.length - 1];
      hidden.push({ units: last ? stepped(last.units, 0) : 4, activation: last ? last.activation : "tanh" });
    }));
    refocus("#add-layer", "#remove-layer");
  });
  $("remove-layer").addEventListener("click", () => {
    change((state) => edited(state, (hidden) => hidden.pop()));
    refocus("#remove-layer", "#add-layer");
  });
  $("layers").addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const index = Number(button.dataset.index);
    if (button.classList.contains("remove")) {
      change((state) => edited(state, (hidden) => hidden.splice(index, 1)));
      refocus(`#layers .remove[data-index="${Math.max(0, index - 1)}"]`, "#add-layer");
      return;
    }
    const plus = button.classList.contains("units-plus");
    change((state) => edited(state, (hidden) => (hidden[index].units = stepped(hidden[index].units, plus ? 1 : -1))));
    refocus(`#layers .${plus ? "units-plus" : "units-minus"}[data-index="${index}"]`, `#units-${index}`);
  });
}
