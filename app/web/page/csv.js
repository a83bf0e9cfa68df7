/** CSV text read in the browser: its cells (RFC 4180 quoting, comma, semicolon or tab), whether
 * its first row is a header, and each problem named by its line and column. */

/** The delimiters a file may use; the first line's most frequent one is taken. */
const DELIMITERS = [",", ";", "\t"];

/** A CSV the page cannot read: `message` names the line (1-based) and, when known, the column. */
export class CsvError extends Error {}

/** The delimiter of `text`: the one its first line holds most of (a comma when it holds none). */
function delimiterOf(text) {
  const first = text.slice(0, text.indexOf("\n") >= 0 ? text.indexOf("\n") : text.length);
  const counts = DELIMITERS.map((delimiter) => first.split(delimiter).length - 1);
  const most = Math.max(...counts);
  return most > 0 ? DELIMITERS[counts.indexOf(most)] : ",";
}

/** The rows of `text` as cells (strings, trimmed), each with the line it starts on; blank lines
 * are skipped; every row must have the first row's number of cells. */
export function parseCsv(text) {
  const delimiter = delimiterOf(text);
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  let wasQuoted = false;
  let line = 1;
  let start = 1;
  const endCell = () => {
    row.push(wasQuoted ? cell : cell.trim());
    cell = "";
    wasQuoted = false;
  };
  const endRow = () => {
    endCell();
    if (row.length > 1 || row[0] !== "") rows.push({ line: start, cells: row });
    row = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        if (c === "\n") line++;
        cell += c;
      }
    } else if (c === '"' && cell.trim() === "") {
      quoted = true;
      wasQuoted = true;
      cell = "";
    } else if (c === delimiter) {
      endCell();
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRow();
      line++;
      start = line;
    } else {
      cell += c;
    }
  }
  if (quoted) throw new CsvError(`line ${start}: a quoted cell is not closed`);
  if (cell !== "" || row.length) endRow();
  if (!rows.length) throw new CsvError("the file holds no rows");
  const width = rows[0].cells.length;
  const ragged = rows.find((r) => r.cells.length !== width);
  if (ragged) {
    throw new CsvError(`line ${ragged.line} has ${ragged.cells.length} cells, line ${rows[0].line} has ${width}: every row needs the same columns`);
  }
  return { rows, width, delimiter };
}

/** A cell as a number, or null when it is not one (an empty cell is not one). */
export function numberOf(cell) {
  const value = Number(cell);
  return cell.trim() !== "" && Number.isFinite(value) ? value : null;
}

/** Whether the first row is a header: some cell of it is not a number while the same column of
 * the next row is (or it is the only row and holds a cell that is not a number). */
export function hasHeader(rows) {
  const [first, second] = rows;
  if (!second) return first.cells.some((cell) => numberOf(cell) === null);
  return first.cells.some((cell, j) => numberOf(cell) === null && numberOf(second.cells[j]) !== null);
}
