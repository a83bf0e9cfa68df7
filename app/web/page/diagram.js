/** The network as SVG: one node per unit, one line per weight (blue positive, orange negative,
 * thicker for larger |w|); every node and edge is focusable and announces itself. The diagram is
 * one tab stop: the arrow keys move through its units, then its weights (Home and End too). A
 * finger needs more than a thin line or a small circle: each weight has a wide invisible line
 * under it, and each unit an invisible disc as wide as the units' spacing allows. */

import { weightSymbol } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const XHTML = "http://www.w3.org/1999/xhtml";
const MAX_UNITS = 24;
const BLUE = "#2563eb";
const ORANGE = "#ea580c";
/** The width, in the drawing's units, of the invisible line that takes a weight's taps. */
const EDGE_HIT_WIDTH = 24;

/** An SVG element with attributes. */
function svg(tag, attributes) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

/** The units drawn for a layer of `count` units: all, or the first ones and the last. */
function shown(count) {
  if (count <= MAX_UNITS) return [...Array(count).keys()];
  return [...Array(MAX_UNITS - 1).keys(), count - 1];
}

/** A layer's name: the inputs are layer 0, as the worked solution counts. */
export function layerName(index, layers) {
  if (index === 0) return "input";
  return index === layers ? "output layer" : `hidden layer ${index}`;
}

/** A unit's name: "input x2", "hidden layer 1, unit 2", "output layer, unit 1". */
export function unitName(index, unit, layers) {
  return index === 0 ? `input x${unit + 1}` : `${layerName(index, layers)}, unit ${unit + 1}`;
}

/**
 * Draw `network` into `root` (an <svg>); `onFocus(item)` gets {kind: "node"|"edge", layer, unit,
 * from} for the node or edge hovered, focused or tapped; `inputs` labels the input nodes (the
 * input features' names), or null for x1, x2, …
 */
export function drawNetwork(root, network, onFocus, inputs = null) {
  const layers = network.layers;
  const sizes = [layers[0].weights[0].length, ...layers.map((layer) => layer.bias.length)];
  const columns = sizes.length;
  const tallest = Math.max(...sizes.map((size) => shown(size).length));
  const width = Math.max(360, 150 * (columns - 1) + 80);
  const spacing = tallest > 8 ? 30 : 44;
  const height = Math.max(180, spacing * tallest + 40);
  root.replaceChildren();
  root.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const x = (column) => 40 + ((width - 80) * column) / (columns - 1);
  const y = (column, row) => {
    const count = shown(sizes[column]).length;
    return height / 2 - 8 + (row - (count - 1) / 2) * Math.min(spacing, (height - 40) / Math.max(1, count));
  };
  const largest = Math.max(1e-12, ...layers.flatMap((layer) => layer.weights.flat().map(Math.abs)));
  const hits = svg("g", { class: "edge-hits", "aria-hidden": "true" });
  const edges = svg("g", { class: "edges" });
  const nodes = svg("g", { class: "nodes" });
  layers.forEach((layer, index) => {
    const from = shown(sizes[index]);
    shown(sizes[index + 1]).forEach((unit, row) => {
      from.forEach((input, column) => {
        const weight = layer.weights[unit][input];
        const line = svg("line", {
          x1: x(index), y1: y(index, column), x2: x(index + 1), y2: y(index + 1, row),
          stroke: weight >= 0 ? BLUE : ORANGE,
          "stroke-width": (0.6 + (5 * Math.abs(weight)) / largest).toFixed(2),
          class: "edge", tabindex: -1, role: "button",
          "data-layer": index, "data-unit": unit, "data-from": input,
          "aria-label": `weight ${weightSymbol(index + 1, unit + 1, input + 1)}, from ${unitName(index, input, layers.length)} to ${unitName(index + 1, unit, layers.length)}: ${weight}`,
        });
        const item = { kind: "edge", layer: index, unit, from: input };
        for (const type of ["mouseenter", "focus", "click"]) line.addEventListener(type, () => onFocus(item, line));
        edges.append(line);
        const hit = svg("line", { x1: x(index), y1: y(index, column), x2: x(index + 1), y2: y(index + 1, row), class: "edge-hit", "stroke-width": EDGE_HIT_WIDTH });
        for (const type of ["mouseenter", "click"]) hit.addEventListener(type, () => (line.classList.add("hover"), onFocus(item, line)));
        hit.addEventListener("mouseleave", () => line.classList.remove("hover"));
        hits.append(hit);
      });
    });
  });
  sizes.forEach((size, column) => {
    shown(size).forEach((unit, row) => {
      const bias = column > 0 ? layers[column - 1].bias[unit] : null;
      const group = svg("g", {
        class: `node ${column === 0 ? "input" : ""}`, tabindex: -1, role: "button",
        "data-layer": column, "data-unit": unit,
        "aria-label": `${unitName(column, unit, layers.length)}${column === 0 && inputs ? `, the feature ${inputs[unit]}` : ""}${bias === null ? "" : `, bias ${bias}`}`,
      });
      const hit = svg("circle", { cx: x(column), cy: y(column, row), r: spacing / 2, class: "hit" });
      const circle = svg("circle", { cx: x(column), cy: y(column, row), r: spacing > 30 ? 13 : 11 });
      if (bias !== null) circle.setAttribute("stroke", bias >= 0 ? BLUE : ORANGE);
      const label = svg("text", { x: x(column), y: y(column, row) + 4, "text-anchor": "middle", class: column === 0 && inputs ? "feature" : "" });
      label.textContent = column === 0 ? (inputs ? inputs[unit] : `x${unit + 1}`) : String(unit + 1);
      group.append(hit, circle, label);
      const item = { kind: "node", layer: column, unit };
      for (const type of ["mouseenter", "focus", "click"]) group.addEventListener(type, () => onFocus(item, group));
      nodes.append(group);
      if (size > MAX_UNITS && row === MAX_UNITS - 2) {
        const dots = svg("text", { x: x(column), y: (y(column, row) + y(column, row + 1)) / 2 + 4, "text-anchor": "middle", class: "more" });
        dots.textContent = `⋮ ${size - MAX_UNITS}`;
        nodes.append(dots);
      }
    });
  });
  sizes.forEach((size, column) => {
    const caption = svg("text", { x: x(column), y: height - 6, "text-anchor": "middle", class: "caption" });
    caption.textContent = column === 0 ? `inputs (${size})` : `${layers[column - 1].activation} (${size})`;
    nodes.append(caption);
  });
  root.append(hits, edges, nodes);
  rove(root, [...nodes.querySelectorAll(".node"), ...edges.querySelectorAll(".edge")]);
}

/** Put each input's and hidden unit's small map in its node, a canvas inside the circle (drawn in
 * the page: the policy lets no image URL in); `drawInto(canvas, layer, unit)` draws it and says
 * whether the unit has one; a node without one (an output unit) keeps its plain circle. */
export function paintUnitMaps(root, drawInto) {
  for (const node of root.querySelectorAll(".node")) {
    let holder = node.querySelector(".unit-map");
    if (!holder) {
      const circle = node.querySelector("circle:not(.hit)");
      const [cx, cy, r] = ["cx", "cy", "r"].map((name) => Number(circle.getAttribute(name)));
      // Inside the circle's stroke, which stays visible (and shows hover and focus).
      const inner = r - 1;
      holder = svg("foreignObject", { x: cx - inner, y: cy - inner, width: 2 * inner, height: 2 * inner, class: "unit-map" });
      holder.append(document.createElementNS(XHTML, "canvas"));
      circle.after(holder);
    }
    const drawn = drawInto(holder.firstChild, Number(node.dataset.layer), Number(node.dataset.unit));
    node.classList.toggle("mapped", drawn);
    if (!drawn) holder.remove();
  }
}

const KEYS = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 };

/** One tab stop for `items`: the first takes the tab, then the arrows, Home and End move focus. */
function rove(root, items) {
  if (!items.length) return;
  items[0].setAttribute("tabindex", "0");
  root.roving = items;
  if (root.dataset.roving) return;
  root.dataset.roving = "true";
  root.addEventListener("keydown", (event) => {
    const list = root.roving;
    const index = list.indexOf(event.target);
    if (index < 0) return;
    let next = null;
    if (event.key in KEYS) next = Math.min(list.length - 1, Math.max(0, index + KEYS[event.key]));
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = list.length - 1;
    if (next === null) return;
    event.preventDefault();
    list[index].setAttribute("tabindex", "-1");
    list[next].setAttribute("tabindex", "0");
    list[next].focus();
  });
}
