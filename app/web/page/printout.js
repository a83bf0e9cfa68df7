/** The notebook's printout of one epoch as tables: H, y_pred, loss, gradients, updated weights. */

import { element, layerSymbol, preciseNumber, tensorTable } from "./format.js";

/** A number in bold with `className`, its full float64 value on hover when it has one. */
function value(className, number) {
  return preciseNumber("strong", className, number);
}

/** The validation loss (and accuracy, where defined) of the parameters at the epoch's start. */
function validationLine({ loss, accuracy }) {
  const line = element("p", "loss-line");
  line.append(element("span", "", "validation loss "), value("validation-loss-value", loss));
  if (typeof accuracy === "number") line.append(element("span", "", ", validation accuracy "), value("validation-accuracy-value", accuracy));
  return line;
}

/** Fill `root` with epoch `view.epoch`'s numbers; `view` holds pass (z, a, outputs, loss), gradients, after
 * and, with validation data, validation (loss, accuracy). */
export function renderPrintout(root, view) {
  root.replaceChildren();
  const { pass, gradients, after } = view;
  const layers = pass.layers;
  const note = element("p", "note", view.note);
  const forward = element("div", "group");
  forward.append(element("h4", "", "Forward pass (parameters at the start of the epoch)"));
  layers.slice(0, -1).forEach((layer, index) => forward.append(tensorTable(`${layerSymbol("a", index + 1)} (H${index + 1})`, layer.a)));
  forward.append(tensorTable("y_pred", pass.outputs));
  const loss = element("p", "loss-line");
  loss.append(element("span", "", "loss "), value("loss-value", pass.loss));
  forward.append(loss);
  if (view.validation) forward.append(validationLine(view.validation));
  const backward = element("div", "group");
  backward.append(element("h4", "", "Gradients"));
  gradients.forEach((g, index) => {
    backward.append(tensorTable(`∂L/∂${layerSymbol("W", index + 1)}`, g.weights), tensorTable(`∂L/∂${layerSymbol("b", index + 1)}`, g.bias));
  });
  const update = element("div", "group");
  update.append(element("h4", "", "Updated parameters (after the epoch)"));
  if (after) {
    after.layers.forEach((layer, index) => {
      update.append(tensorTable(layerSymbol("W", index + 1), layer.weights), tensorTable(layerSymbol("b", index + 1), layer.bias));
    });
  } else update.append(element("p", "note", "Train an epoch to see the update."));
  const precision = element("p", "note", "Numbers to 8 significant digits (as NumPy prints them); hover a number for its full float64 value.");
  root.append(note, precision, forward, backward, update);
}
