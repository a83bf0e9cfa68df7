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

const SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹";
const SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉";

/** Layer `n` (from 1) as the worked solution writes it: ⁽¹⁾. */
export function layerMark(n) {
  return `⁽${String(n).replace(/\d/g, (digit) => SUPERSCRIPTS[Number(digit)])}⁾`;
}

/** Indices (from 1) as subscripts, as the worked solution writes them: ₁₂ (₁,₁₀ past 9). */
export function subscripts(...indices) {
  const written = indices.map((index) => String(index).replace(/\d/g, (digit) => SUBSCRIPTS[Number(digit)]));
  return written.join(indices.some((index) => index > 9) ? "," : "");
}
