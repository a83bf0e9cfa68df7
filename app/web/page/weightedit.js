/** Click a weight to edit it (TF Playground's): a click on an edge of the diagram, or Enter (or
 * Space) on a focused one, opens a small number input beside it, named as the worked solution
 * names the weight (w₁₂⁽¹⁾); Enter applies the value to the network being trained, Escape cancels;
 * a value that is not a finite number gets a message beside the input and is not applied. */

import { element, weightSymbol } from "./format.js";

/** A number as JSON and /train take it: optional sign, digits with an optional point, exponent. */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The value typed in `text`, or a sentence saying why it is none. */
export function parseWeight(text) {
  const trimmed = text.trim();
  if (!NUMBER.test(trimmed)) return { error: `“${trimmed}” is not a number: type one such as -0.5 or 1e-3` };
  const value = Number(trimmed);
  if (!Number.isFinite(value)) return { error: `${trimmed} is beyond float64's range: type a finite number` };
  return { value };
}

/** A copy of `network` with layer `layer`'s weight from input `from` to unit `unit` set to
 * `value` (all 0-based, as the JSON's `layers[layer - 1].weights[unit][from]` with the diagram's
 * layer counted from 1). */
export function withWeight(network, { layer, unit, from }, value) {
  const layers = network.layers.map((each, index) =>
    index === layer ? { ...each, weights: each.weights.map((row, r) => (r === unit ? row.map((w, c) => (c === from ? value : w)) : row)) } : each,
  );
  return { ...network, layers };
}

export class WeightEditor {
  /** An editor for the edges of the diagram `root` (an <svg>); `current(item)` gives the value an
   * edge's weight has in the network being trained, `apply(item, value)` sets it. */
  constructor(root, current, apply) {
    this.root = root;
    this.current = current;
    this.apply = apply;
    this.item = null;
    this.box = element("div", "weight-editor");
    this.box.hidden = true;
    this.box.setAttribute("role", "group");
    this.label = element("label", "", "");
    this.label.htmlFor = "weight-input";
    this.input = element("input", "", "");
    this.input.id = "weight-input";
    this.input.type = "text";
    this.input.inputMode = "decimal";
    this.input.spellcheck = false;
    this.input.setAttribute("aria-describedby", "weight-note weight-error");
    const note = element("span", "note", "Enter sets it for the next epoch, Escape cancels");
    note.id = "weight-note";
    this.error = element("span", "error", "");
    this.error.id = "weight-error";
    this.error.setAttribute("role", "alert");
    this.box.append(this.label, this.input, note, this.error);
    root.parentElement.classList.add("weight-frame");
    root.parentElement.append(this.box);
    root.addEventListener("click", (event) => this.onClick(event));
    root.addEventListener("keydown", (event) => this.onKey(event));
    this.input.addEventListener("keydown", (event) => this.onInputKey(event));
  }

  /** The edge of an event's target: an edge itself, or the wide invisible line under it. */
  edgeOf(target) {
    if (target.classList.contains("edge")) return target;
    if (!target.classList.contains("edge-hit")) return null;
    const hits = [...this.root.querySelectorAll(".edge-hit")];
    return this.root.querySelectorAll(".edge")[hits.indexOf(target)] || null;
  }

  /** A click on an edge (or its hit line) opens the editor at the pointer. */
  onClick(event) {
    const edge = this.edgeOf(event.target);
    if (edge) this.open(edge, event.clientX, event.clientY);
  }

  /** Enter or Space on a focused edge opens the editor at the edge's middle. */
  onKey(event) {
    if (!["Enter", " "].includes(event.key) || !event.target.classList.contains("edge")) return;
    event.preventDefault();
    const box = event.target.getBoundingClientRect();
    this.open(event.target, box.left + box.width / 2, box.top + box.height / 2);
  }

  /** Open for `edge`, placed at the viewport point (x, y) within the diagram's box. */
  open(edge, x, y) {
    const item = { layer: Number(edge.dataset.layer), unit: Number(edge.dataset.unit), from: Number(edge.dataset.from) };
    this.item = item;
    this.label.textContent = `${weightSymbol(item.layer + 1, item.unit + 1, item.from + 1)} =`;
    this.input.value = String(this.current(item));
    this.error.textContent = "";
    this.input.removeAttribute("aria-invalid");
    this.box.hidden = false;
    const frame = this.root.parentElement.getBoundingClientRect();
    const left = Math.max(0, Math.min(x - frame.left + 8, frame.width - this.box.offsetWidth));
    this.box.style.left = `${left}px`;
    this.box.style.top = `${Math.max(0, y - frame.top + 8)}px`;
    this.input.focus();
    this.input.select();
  }

  /** Enter applies a valid value, Escape cancels; either way focus goes back to the edge. */
  onInputKey(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      this.close();
    } else if (event.key === "Enter") {
      event.preventDefault();
      const parsed = parseWeight(this.input.value);
      if (parsed.error) {
        this.error.textContent = parsed.error;
        this.input.setAttribute("aria-invalid", "true");
        return;
      }
      this.applyValue(parsed.value);
    }
  }

  /** Apply `value` to the open item, then close (once the diagram is drawn anew). */
  async applyValue(value) {
    const item = this.item;
    this.box.hidden = true;
    await this.apply(item, value);
    if (this.item === item) this.close();
  }

  /** Hide the editor and give the focus back to its edge (drawn anew, maybe). */
  close() {
    const item = this.item;
    this.item = null;
    this.box.hidden = true;
    if (!item) return;
    const edge = this.root.querySelector(`.edge[data-layer="${item.layer}"][data-unit="${item.unit}"][data-from="${item.from}"]`);
    if (edge) edge.focus();
  }
}
