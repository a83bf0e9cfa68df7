/** The details box: the numbers of the unit or weight hovered or focused in the diagram. */

import { unitName } from "./diagram.js";
import { element, layerMark, short, subscripts } from "./format.js";

/** The rows (key, name, value) of a weight: at the start of the epoch, gradient, update, after. */
function edgeRows(view, { layer, unit, from }) {
  const before = view.start ? view.start.layers[layer].weights[unit][from] : null;
  const after = view.after ? view.after.layers[layer].weights[unit][from] : null;
  return [
    ["weight", "weight at the start", before],
    ["gradient", "gradient ∂L/∂w", view.gradients[layer].weights[unit][from]],
    ["update", "update Δw (after − before)", before !== null && after !== null ? short(after - before) : null],
    ["after", "weight after the update", after],
  ];
}

/** The rows of a unit: z, a and δ on the selected sample, then its bias's numbers. */
function nodeRows(view, { layer, unit }) {
  const sample = view.sample;
  if (layer === 0) return [["x", "x", sample ? sample.inputs[unit] : null]];
  const values = sample ? sample.layers[layer - 1] : null;
  const activation = (view.after || view.start).layers[layer - 1].activation;
  return [
    ["z", "z = W·x + b", values ? values.z[unit] : null],
    ["a", `a = ${activation}(z)`, values ? values.a[unit] : null],
    ["delta", "δ = ∂L/∂z (this sample alone)", sample ? sample.deltas[layer - 1][unit] : null],
    ["bias", "bias at the start", view.start ? view.start.layers[layer - 1].bias[unit] : null],
    ["bias-gradient", "gradient ∂L/∂b", view.gradients[layer - 1].bias[unit]],
    ["bias-after", "bias after the update", view.after ? view.after.layers[layer - 1].bias[unit] : null],
  ];
}

/** The box's title for an item. */
function title(view, item) {
  const layers = (view.after || view.start).layers;
  const at = view.after ? `epoch ${view.epoch}` : "before training";
  const sample = view.sample ? view.sample.index + 1 : 1;
  if (item.kind === "edge") {
    const { layer, unit, from } = item;
    return `Weight w${layerMark(layer + 1)}${subscripts(unit + 1, from + 1)}: ${unitName(layer, from, layers.length)} → ${unitName(layer + 1, unit, layers.length)} (${at})`;
  }
  if (item.layer === 0) return `Input x${item.unit + 1} of sample ${sample}`;
  const activation = layers[item.layer - 1].activation;
  return `${unitName(item.layer, item.unit, layers.length)} (${activation}), sample ${sample}, ${at}`;
}

/** Show `item` ({kind: "edge"|"node", layer, unit, from}) of the selected epoch's `view` in `box`. */
export function renderDetails(box, view, item) {
  const rows = item.kind === "edge" ? edgeRows(view, item) : nodeRows(view, item);
  const list = element("dl", "values");
  for (const [key, name, value] of rows) {
    const dd = element("dd", "", value === null || value === undefined ? "not recorded" : String(value));
    dd.dataset.key = key;
    list.append(element("dt", "", name), dd);
  }
  box.dataset.kind = item.kind;
  box.replaceChildren(element("p", "details-title", title(view, item)), list);
}
