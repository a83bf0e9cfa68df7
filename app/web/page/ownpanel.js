/** The "Your own data" controls: a CSV chosen (or dropped on the map), its columns chosen and
 * checked by the API's own /forward validation, and points clicked onto the map. The data goes
 * into the page's state (owndata.js), which the page then trains on. */

import { ApiError, post, problemText } from "./api.js";
import { CsvError, hasHeader, numberOf, parseCsv } from "./csv.js";
import { element } from "./format.js";
import { CLASS_COLOURS } from "./heatmap.js";
import { DRAW_BOX, MAX_CLASSES, URL_POINTS, classCount, emptyOwn, withOwn } from "./owndata.js";
import { rows } from "./request.js";
import { OUTPUT_ACTIVATIONS } from "./vocab.js";

/** The largest file the page reads: ten thousand rows of a few numbers fit well within it. */
export const MAX_FILE_BYTES = 2 * 1024 * 1024;
/** The words of the map's class colours, in CLASS_COLOURS' order. */
const COLOUR_NAMES = ["blue", "orange", "green", "purple", "yellow", "pink", "cyan", "grey", "lime", "red"];
/** How near (CSS pixels) a shift-click must be to a point to remove it. */
const REMOVE_RADIUS = 12;
/** How many of a 422's problems are listed (the rest are counted). */
const SHOWN_PROBLEMS = 5;

const $ = (id) => document.getElementById(id);

/** A labelled <select> (value, text pairs) in a .field. */
function choice(id, label, entries) {
  const field = element("div", "field");
  const text = element("label", "", label);
  text.htmlFor = id;
  const select = element("select");
  select.id = id;
  for (const [value, words] of entries) {
    const option = element("option", "", words);
    option.value = value;
    select.append(option);
  }
  field.append(text, select);
  return field;
}

/** A button of `text`. */
function button(id, text, className = "small") {
  const node = element("button", className, text);
  node.type = "button";
  node.id = id;
  return node;
}

/** A checkbox with its label, in a .field.check. */
function checkbox(id, label) {
  const field = element("span", "field check");
  const input = element("input");
  input.type = "checkbox";
  input.id = id;
  const text = element("label", "", label);
  text.htmlFor = id;
  field.append(input, text);
  return field;
}

/** The labels of a target column sorted as numbers when all are, else as text. */
function sortedLabels(cells) {
  const labels = [...new Set(cells)];
  const numeric = labels.every((label) => numberOf(label) !== null);
  return labels.sort(numeric ? (a, b) => Number(a) - Number(b) : undefined);
}

/** A clicked point's coordinate rounded to a hundredth of the order of `span` (about a pixel's
 * width on the map), so that the link holds short numbers. */
function rounded(value, span) {
  const step = 10 ** (Math.floor(Math.log10(span)) - 2);
  return Number((Math.round(value / step) * step).toPrecision(12));
}

export class OwnPanel {
  /** The controls in `root` (the Data fieldset's) and `tools` (beside the map); `page` gives
   * `state()`, the current `request()`, the map's `heatmap`, and `apply(state)`, which shows,
   * saves and prepares a new state. */
  constructor(root, tools, page) {
    this.page = page;
    /** The CSV read last: {name, rows, width, header}, or null. */
    this.csv = null;
    this.build(root, tools);
  }

  /** The controls: the upload and its column chooser; the drawing tools. */
  build(root, tools) {
    const file = element("input");
    file.type = "file";
    file.id = "own-file";
    file.accept = ".csv,.tsv,.txt,text/csv,text/plain";
    const fileLabel = element("label", "", "A CSV file (or drop it on the map)");
    fileLabel.htmlFor = file.id;
    const limits = element(
      "p",
      "note",
      `Click points: tick Draw points under the map (with no map, choose “your own data” as the data set). Limits: a file of at most ${MAX_FILE_BYTES / 1024 / 1024} MB, a target of at most ${MAX_CLASSES} classes; the API takes as many rows as its BACKPROP_MAX_SAMPLES (10,000 by default) and says so beyond. Data of at most ${URL_POINTS} points travels in the link; Copy as JSON always holds it.`,
    );
    limits.id = "own-limits";
    const columns = element("div", "own-columns");
    columns.id = "own-columns";
    columns.hidden = true;
    const pickers = element("div", "row2");
    pickers.append(choice("own-x1", "x₁ column", []), choice("own-x2", "x₂ column", []));
    const target = element("div", "row2");
    const task = choice("own-task", "Target is", [["classification", "a class label"], ["regression", "a number"]]);
    target.append(choice("own-target", "Target column", []), task);
    const use = button("own-use", "Use these rows", "");
    columns.append(checkbox("own-header", "The first row is a header"), pickers, target, use);
    const error = element("p", "error");
    error.id = "own-error";
    error.setAttribute("role", "alert");
    const note = element("p", "note");
    note.id = "own-note";
    note.setAttribute("aria-live", "polite");
    root.append(fileLabel, file, limits, columns, error, note);

    const draw = checkbox("own-draw", "Draw points");
    const value = element("input");
    value.type = "number";
    value.step = "any";
    value.id = "own-value";
    value.value = "1";
    const valueLabel = element("label", "", "Value");
    valueLabel.htmlFor = value.id;
    const valueField = element("span", "field own-value");
    valueField.append(valueLabel, value);
    const hint = element("p", "note", "Click the map to add a point of the chosen class; shift-click a point to remove it.");
    hint.id = "own-draw-hint";
    tools.append(draw, choice("own-class", "Class", []), valueField, button("own-undo", "Undo"), button("own-clear", "Clear"), hint);

    file.addEventListener("change", () => file.files[0] && this.read(file.files[0]));
    $("own-header").addEventListener("change", () => this.fillColumns());
    $("own-target").addEventListener("change", () => this.guessTask());
    use.addEventListener("click", () => this.use());
    $("own-draw").addEventListener("change", () => this.showTools());
    $("own-class").addEventListener("change", () => this.showTools());
    $("own-undo").addEventListener("click", () => this.edit((points) => points.pop() !== undefined));
    $("own-clear").addEventListener("click", () => this.edit((points) => points.splice(0).length > 0));
    const map = this.page.heatmap.canvas;
    map.addEventListener("click", (event) => this.click(event));
    const box = map.closest(".heatmap-box");
    box.addEventListener("dragover", (event) => event.preventDefault());
    box.addEventListener("drop", (event) => {
      event.preventDefault();
      const dropped = event.dataTransfer.files[0];
      if (!dropped) return;
      root.closest("details")?.setAttribute("open", "");
      this.read(dropped);
    });
    this.showTools();
  }

  /** Read a chosen file: refused beyond MAX_FILE_BYTES, else parsed and its columns offered. */
  async read(file) {
    this.csv = null;
    $("own-columns").hidden = true;
    $("own-error").textContent = "";
    $("own-note").textContent = "";
    if (file.size > MAX_FILE_BYTES) {
      $("own-error").textContent = `${file.name} is ${(file.size / 1024 / 1024).toFixed(1)} MB: the page reads files of at most ${MAX_FILE_BYTES / 1024 / 1024} MB.`;
      return;
    }
    let parsed;
    try {
      parsed = parseCsv(await file.text());
    } catch (failure) {
      if (!(failure instanceof CsvError)) throw failure;
      $("own-error").textContent = `${file.name}: ${failure.message}.`;
      return;
    }
    if (parsed.width < 3) {
      const cells = parsed.width === 1 ? "one column" : "two columns";
      $("own-error").textContent = `${file.name}: line ${parsed.rows[0].line} has ${cells}: x₁, x₂ and a target need three.`;
      return;
    }
    this.csv = { name: file.name, ...parsed };
    for (const id of ["own-x1", "own-x2", "own-target"]) $(id).replaceChildren();
    $("own-header").checked = hasHeader(parsed.rows);
    this.fillColumns();
    $("own-columns").hidden = false;
  }

  /** The column menus of the CSV read: its header's names or "column N"; x₁, x₂ and the last. */
  fillColumns() {
    const { rows: lines, width } = this.csv;
    const header = $("own-header").checked;
    const names = Array.from({ length: width }, (_, j) => (header && lines[0].cells[j] ? `${lines[0].cells[j]} (column ${j + 1})` : `column ${j + 1}`));
    const defaults = { "own-x1": 0, "own-x2": 1, "own-target": width - 1 };
    for (const [id, index] of Object.entries(defaults)) {
      const select = $(id);
      const kept = select.value;
      select.replaceChildren(...names.map((name, j) => Object.assign(element("option", "", name), { value: String(j) })));
      select.value = kept !== "" && Number(kept) < width ? kept : String(Math.min(index, width - 1));
    }
    $("own-note").textContent = `${this.csv.name}: ${lines.length - (header ? 1 : 0)} rows, ${width} columns${header ? ", a header row" : ""}. Choose the columns, then Use these rows.`;
    this.guessTask();
  }

  /** Offer regression when the target column is all numbers of more than MAX_CLASSES values. */
  guessTask() {
    const values = this.dataRows().map((line) => line.cells[Number($("own-target").value)]);
    const distinct = new Set(values).size;
    $("own-task").value = distinct > MAX_CLASSES && values.every((cell) => numberOf(cell) !== null) ? "regression" : "classification";
  }

  /** The CSV's rows of data (its header left out when it has one). */
  dataRows() {
    return this.csv.rows.slice($("own-header").checked ? 1 : 0);
  }

  /** Use the chosen columns: the page's own checks (rows, classes), then the API's (/forward
   * validates the numbers and their count: its 422 is shown with the CSV's line and column of
   * each problem), then the data becomes the state's. */
  async use() {
    const error = $("own-error");
    error.textContent = "";
    const [x1, x2, y] = ["own-x1", "own-x2", "own-target"].map((id) => Number($(id).value));
    const task = $("own-task").value;
    const lines = this.dataRows();
    if (!lines.length) return (error.textContent = `${this.csv.name}: no rows of data under the header.`);
    if (y === x1 || y === x2) return (error.textContent = "The target column is one of the inputs: choose another.");
    const cell = (text) => numberOf(text) ?? text;
    const columns = task === "regression" ? [x1, x2, y] : [x1, x2];
    const inputs = lines.map((line) => columns.map((j) => cell(line.cells[j])));
    const labels = task === "classification" ? sortedLabels(lines.map((line) => line.cells[y])) : null;
    if (labels && labels.length > MAX_CLASSES) {
      return (error.textContent = `The target column holds ${labels.length} different labels: a class target takes at most ${MAX_CLASSES} (choose "a number" for a numeric target).`);
    }
    try {
      await post("/forward", { network: { layers: [{ weights: [columns.map(() => 0)], bias: [0], activation: "identity" }] }, inputs });
    } catch (failure) {
      error.textContent = failure instanceof ApiError ? this.problemsText(failure, lines, columns) : failure.message;
      return;
    }
    const points = inputs.map((row, i) => [row[0], row[1], labels ? labels.indexOf(lines[i].cells[y]) : row[2]]);
    const own = { task, points, labels, box: null, source: this.csv.name };
    await this.page.apply(withOwn(this.page.state(), own));
    this.describe();
  }

  /** A refusal of the CSV's numbers: each 422 problem as the API words it, with the line and the
   * column of the CSV it names; any other refusal's sentence. */
  problemsText(failure, lines, columns) {
    if (!failure.problems.length) return `The API refused the rows: ${failure.message}`;
    const header = $("own-header").checked;
    const named = (j) => {
      const name = header ? this.csv.rows[0].cells[columns[j]] : "";
      return `column ${columns[j] + 1}${name ? ` (${name})` : ""}`;
    };
    const texts = failure.problems.slice(0, SHOWN_PROBLEMS).map((problem) => {
      const [, , i, j] = problem.loc || [];
      const where = Number.isInteger(i) && lines[i] ? ` [line ${lines[i].line}${Number.isInteger(j) ? `, ${named(j)}` : ""}]` : "";
      return `${problemText(problem)}${where}`;
    });
    const more = failure.problems.length - SHOWN_PROBLEMS;
    return [`The API refused the rows (${failure.status}):`, ...texts, ...(more > 0 ? [`and ${more} more`] : [])].join("\n");
  }

  /** The note under the upload: what the page trains on now. */
  describe() {
    const own = this.page.state().data.own;
    document.body.dataset.ownPoints = own ? String(own.points.length) : "";
    $("own-error").textContent = "";
    if (!own) {
      $("own-note").textContent = "";
      return;
    }
    const classes = own.task === "classification" ? classCount(own) : 0;
    const named = own.labels ? own.labels.map((label, k) => `${label} → ${COLOUR_NAMES[k]}`).join(", ") : "";
    const what = classes ? `${classes} classes${named ? ` (${named})` : ""}` : "a numeric target";
    const clicked = own.source.endsWith(" and clicks") ? " on the map" : "";
    const source = own.source === "clicks" ? "clicked onto the map" : `from ${own.source}${clicked}`;
    $("own-note").textContent = `Training on your ${own.points.length} points ${source}, ${what}.`;
    this.showTools();
  }

  /** The drawing tools as the data needs them: a class menu (classification) or a value. */
  showTools() {
    const own = this.editable();
    const classes = own.task === "classification" ? classCount(own) : 0;
    const select = $("own-class");
    const kept = select.value;
    select.replaceChildren(
      ...Array.from({ length: classes }, (_, k) => {
        const label = own.labels ? ` ${own.labels[k]}` : "";
        const option = element("option", "", `class ${k + 1}${label} (${COLOUR_NAMES[k]})`);
        option.value = String(k);
        return option;
      }),
    );
    select.value = kept !== "" && Number(kept) < classes ? kept : "0";
    select.style.borderLeft = classes ? `6px solid rgb(${CLASS_COLOURS[Number(select.value)].join(",")})` : "";
    const drawing = $("own-draw").checked;
    select.parentElement.hidden = !drawing || !classes;
    $("own-value").parentElement.hidden = !drawing || Boolean(classes);
    for (const id of ["own-undo", "own-clear", "own-draw-hint"]) $(id).hidden = !drawing;
    this.page.heatmap.canvas.classList.toggle("drawing", drawing);
  }

  /** The own data that clicks edit: the state's, or the current data's 2-D points when they are
   * drawn on the map (classes as the map colours them), or none yet. */
  editable() {
    const state = this.page.state();
    if (!state) return emptyOwn();
    if (state.data.own) return structuredClone(state.data.own);
    const request = this.page.request();
    const last = this.page.heatmap.last;
    if (!request || request.data.plane || !last || rows(request.data.inputs)[0].length !== 2) return emptyOwn();
    const classifies = request.body.loss in OUTPUT_ACTIVATIONS;
    const points = rows(request.data.inputs).map((input, i) => {
      const target = rows(request.data.targets)[i];
      const value = !classifies ? target[0] : target.length === 1 ? (target[0] >= 0.5 ? 1 : 0) : target.indexOf(Math.max(...target));
      return [input[0], input[1], value];
    });
    return { task: classifies ? "classification" : "regression", points, labels: null, box: last.box, source: "clicks" };
  }

  /** Change the points with `change(points, task)` (true when it changed them), then train on them. */
  async edit(change) {
    const own = this.editable();
    if (!change(own.points, own.task)) return;
    if (!own.source.endsWith("clicks")) own.source = `${own.source} and clicks`;
    own.box = own.box || this.shownBox();
    await this.page.apply(withOwn(this.page.state(), own));
    this.describe();
  }

  /** The plane the map shows now: the heatmap's last box, or own data's (no map drawn yet). */
  shownBox() {
    const own = this.page.state().data.own;
    if (own && !own.points.length) return own.box || DRAW_BOX;
    return this.page.heatmap.last ? this.page.heatmap.last.box : (own && own.box) || DRAW_BOX;
  }

  /** A click on the map while drawing: add a point there (shift: remove the nearest one). */
  click(event) {
    if (!$("own-draw").checked) return;
    const canvas = event.currentTarget;
    const box = this.shownBox();
    const [width, height] = [canvas.clientWidth, canvas.clientHeight];
    const x1 = box[0] + (event.offsetX / width) * (box[1] - box[0]);
    const x2 = box[3] - (event.offsetY / height) * (box[3] - box[2]);
    if (event.shiftKey) {
      const pixel = (point) => [((point[0] - box[0]) / (box[1] - box[0])) * width, ((box[3] - point[1]) / (box[3] - box[2])) * height];
      return this.edit((points) => {
        const distances = points.map((point) => Math.hypot(pixel(point)[0] - event.offsetX, pixel(point)[1] - event.offsetY));
        const nearest = distances.indexOf(Math.min(...distances));
        return nearest >= 0 && distances[nearest] <= REMOVE_RADIUS && points.splice(nearest, 1).length > 0;
      });
    }
    return this.edit((points, task) => {
      const value = task === "regression" ? Number($("own-value").value) || 0 : Number($("own-class").value);
      points.push([rounded(x1, box[1] - box[0]), rounded(x2, box[3] - box[2]), value]);
      return true;
    });
  }

  /** With own data that has no points, the map's place shows its empty plane to click on. */
  showEmpty() {
    const own = this.page.state().data.own;
    if (!own || own.points.length) return;
    const heatmap = this.page.heatmap;
    $("heatmap-box").hidden = false;
    heatmap.last = null;
    const context = heatmap.prepare();
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, heatmap.canvas.width, heatmap.canvas.height);
    heatmap.axes(context, own.box || DRAW_BOX);
    // No network fits data with no points: the last one's diagram, samples, printout and words go.
    for (const id of ["network", "sample", "printout"]) $(id).replaceChildren();
    $("heatmap-title").textContent = "Decision map";
    $("heatmap-time").textContent = "";
    $("own-draw").checked = true;
    this.describe();
    this.showTools();
    $("own-note").textContent = own.missing ? "" : "No points yet: click the map to add some.";
  }
}
