/** The details box: the numbers of the unit or weight hovered or focused in the diagram, named
 * as the worked solution names them (1-based: w₁₂⁽²⁾, z₁⁽¹⁾), each to 8 significant digits with
 * its full float64 value on hover and focus. */

import { unitName } from "./diagram.js";
import { element, layerSymbol, preciseNumber, subscripts, unitSymbol, weightSymbol } from "./format.js";

/** What the box says of its numbers' precision. */
export const DETAILS_PRECISION = "Numbers to 8 significant digits; hover or focus one for its full float64 value.";

/** The rows (key, name, value) of a weight: at the start of the epoch, gradient, update, after. */
function edgeRows(view, { layer, unit, from }) {
  const w = weightSymbol(layer + 1, unit + 1, from + 1);
  const before = view.start ? view.start.layers[layer].weights[unit][from] : null;
  const after = view.after ? view.after.layers[layer].weights[unit][from] : null;
  return [
    ["weight", `${w} at the start`, before],
    ["gradient", `gradient ∂L/∂${w}`, view.gradients[layer].weights[unit][from]],
    ["update", `update Δ${w} (after − before)`, before !== null && after !== null ? after - before : null],
    ["after", `${w} after the update`, after],
  ];
}

/** An input's name: its feature's (x₁², sin x₁) when the inputs are features, else x₁, x₂, … */
function inputName(labels, unit) {
  return (labels && labels[unit]) || `x${subscripts(unit + 1)}`;
}

/** The rows of a unit: z, a and δ on the selected sample, then its bias's numbers. */
function nodeRows(view, { layer, unit }, labels) {
  const sample = view.sample;
  if (layer === 0) return [["x", inputName(labels, unit), sample ? sample.inputs[unit] : null]];
  const values = sample ? sample.layers[layer - 1] : null;
  const activation = (view.after || view.start).layers[layer - 1].activation;
  const [z, a, b, delta] = ["z", "a", "b", "δ"].map((symbol) => unitSymbol(symbol, layer, unit + 1));
  return [
    ["z", `${z} = row ${unit + 1} of ${layerSymbol("W", layer)} · ${layer === 1 ? "x" : layerSymbol("a", layer - 1)} + ${b}`, values ? values.z[unit] : null],
    ["a", `${a} = ${activation}(${z})`, values ? values.a[unit] : null],
    ["delta", `${delta} = ∂L/∂${z} (this sample alone)`, sample ? sample.deltas[layer - 1][unit] : null],
    ["bias", `${b} at the start`, view.start ? view.start.layers[layer - 1].bias[unit] : null],
    ["bias-gradient", `gradient ∂L/∂${b}`, view.gradients[layer - 1].bias[unit]],
    ["bias-after", `${b} after the update`, view.after ? view.after.layers[layer - 1].bias[unit] : null],
  ];
}

/** The box's title for an item. */
function title(view, item, labels) {
  const layers = (view.after || view.start).layers;
  const at = view.after ? `epoch ${view.epoch}` : "before training";
  const sample = view.sample ? view.sample.index + 1 : 1;
  if (item.kind === "edge") {
    const { layer, unit, from } = item;
    return `Weight ${weightSymbol(layer + 1, unit + 1, from + 1)}: ${unitName(layer, from, layers.length)} → ${unitName(layer + 1, unit, layers.length)} (${at})`;
  }
  if (item.layer === 0) return `Input ${inputName(labels, item.unit)} of sample ${sample}`;
  const activation = layers[item.layer - 1].activation;
  return `${unitName(item.layer, item.unit, layers.length)} (${activation}), sample ${sample}, ${at}`;
}

/** Whether `item` is a unit or weight of the selected epoch's network. */
export function itemIn(view, item) {
  const layers = (view.after || view.start).layers;
  if (item.kind === "edge") {
    const layer = layers[item.layer];
    return Boolean(layer && item.unit < layer.weights.length && item.from < layer.weights[0].length);
  }
  if (item.layer === 0) return item.unit < layers[0].weights[0].length;
  const layer = layers[item.layer - 1];
  return Boolean(layer && item.unit < layer.bias.length);
}

/** The box's words before anything is hovered or focused. */
export function renderHint(box) {
  delete box.dataset.kind;
  box.replaceChildren(element("p", "note", "Hover or focus a unit or a weight."));
}

/** Show `item` ({kind: "edge"|"node", layer, unit, from}) of the selected epoch's `view` in `box`;
 * `labels` names the inputs when they are features (null: x₁, x₂, …). */
export function renderDetails(box, view, item, labels = null) {
  const rows = item.kind === "edge" ? edgeRows(view, item) : nodeRows(view, item, labels);
  const list = element("dl", "values");
  for (const [key, name, value] of rows) {
    const dd = element("dd");
    dd.append(value === null || value === undefined ? element("span", "", "not recorded") : preciseNumber("span", "", value, true));
    dd.dataset.key = key;
    list.append(element("dt", "", name), dd);
  }
  box.dataset.kind = item.kind;
  box.replaceChildren(element("p", "details-title", title(view, item, labels)), list, element("p", "note precision", DETAILS_PRECISION));
}
