/** Numbers and tables as text: short forms on screen, the exact float64 in each cell's title. */

/** A number with up to 8 significant digits, as NumPy prints them ("1.7766125"). */
export function short(value) {
  if (typeof value !== "number") return value === null || value === undefined ? "–" : String(value);
  if (value === 0) return "0";
  const text = String(Number(value.toPrecision(8)));
  return text.replace("e+", "e");
}

/** An element with a class and text (text only: never parsed as HTML). */
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A table of a vector (one row) or a matrix, captioned; each cell's title holds the full value. */
export function tensorTable(caption, values) {
  const table = element("table", "tensor");
  table.append(element("caption", "", caption));
  const matrix = Array.isArray(values[0]) ? values : [values];
  for (const row of matrix) {
    const tr = element("tr");
    for (const value of row) {
      const td = element("td", "", short(value));
      td.title = String(value);
      tr.append(td);
    }
    table.append(tr);
  }
  return table;
}

const SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉";
const SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹";

/** A layer's number as the worked solution writes it above a name: "⁽¹⁾". */
export function layerMark(layer) {
  return `⁽${String(layer).replace(/\d/g, (d) => SUPERSCRIPTS[d])}⁾`;
}

/** The name of layer `layer`'s (1-based) matrix or vector `symbol`, as the worked solution
 * writes it: "W⁽¹⁾", "b⁽²⁾", "a⁽¹⁾". */
export function layerSymbol(symbol, layer) {
  return `${symbol}${layerMark(layer)}`;
}

/** A unit's quantity, 1-based as in the worked solution: "z₂⁽¹⁾" is unit 2 of layer 1. */
export function unitSymbol(symbol, layer, unit) {
  return `${symbol}${subscripts(unit)}${layerMark(layer)}`;
}

/** A weight's name, 1-based as in the worked solution: "w₁₂⁽²⁾" is layer 2's weight from its
 * input 2 to its unit 1 (the JSON's layers[1].weights[0][1]); a comma parts indices past 9. */
export function weightSymbol(layer, unit, from) {
  return `w${subscripts(unit, from)}${layerMark(layer)}`;
}

/** A number shown to 8 significant digits whose full float64 value shows on hover and on
 * focus (a tab stop of its own when `focusable`), and is what a screen reader reads. */
export function preciseNumber(tag, className, value, focusable = false) {
  const node = element(tag, className ? `number ${className}` : "number", short(value));
  if (typeof value === "number") {
    const full = String(value);
    node.title = full;
    node.dataset.full = full;
    if (focusable) {
      node.tabIndex = 0;
      node.setAttribute("aria-label", full);
    }
  }
  return node;
}

/** Indices (from 1) as subscripts, as the worked solution writes them: ₁₂ (₁,₁₀ past 9). */
export function subscripts(...indices) {
  const written = indices.map((index) => String(index).replace(/\d/g, (digit) => SUBSCRIPTS[Number(digit)]));
  return written.join(indices.some((index) => index > 9) ? "," : "");
}
