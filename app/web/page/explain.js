/** The worked solution of /explain: its Markdown's headings and items, each formula rendered by
 * KaTeX (from the API's LaTeX, trust off), every other piece of text set as text. */

import { ApiError, post, send } from "./api.js";
import { element } from "./format.js";

const KATEX = "/static/vendor/katex@0.19.1/dist";
let katexLoaded = null;

/** Load KaTeX's script and styles once, when the first worked solution is opened. */
export function loadKatex() {
  if (!katexLoaded) {
    katexLoaded = new Promise((resolve, reject) => {
      const style = element("link");
      style.rel = "stylesheet";
      style.href = `${KATEX}/katex.min.css`;
      const script = element("script");
      script.src = `${KATEX}/katex.min.js`;
      script.addEventListener("load", resolve);
      script.addEventListener("error", () => reject(new Error("KaTeX did not load")));
      document.head.append(style, script);
    });
  }
  return katexLoaded;
}

/** The worked solution of an /explain request: its Markdown and its steps' ids, in order. */
export async function fetchExplain(request) {
  const markdown = send("/explain", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/markdown" },
    body: JSON.stringify({ ...request, format: "markdown" }),
  }).then(async (response) => {
    if (!response.ok) throw new ApiError("/explain", response.status, await response.json().catch(() => null));
    return response.text();
  });
  const [text, steps] = await Promise.all([markdown, post("/explain", { ...request, format: "json" }), loadKatex()]);
  return { markdown: text, ids: steps.steps.map((step) => step.id) };
}

/** Append `text` to `parent`, formulas between $ rendered by KaTeX, the rest as text nodes. */
function appendInline(parent, text) {
  text.split(/(\$[^$]+\$)/).forEach((piece) => {
    if (piece.startsWith("$") && piece.endsWith("$") && piece.length > 2) {
      const span = element("span", "math");
      const katex = globalThis.katex;
      if (katex) katex.render(piece.slice(1, -1), span, { throwOnError: false, trust: false, output: "html" });
      else span.textContent = piece.slice(1, -1);
      parent.append(span);
    } else if (piece.startsWith(" — ")) parent.append(element("span", "aside", piece));
    else if (piece) parent.append(document.createTextNode(piece));
  });
}

/** Render `markdown` into `root`; list item i gets the id of `stepIds[i]` ("step-forward.0.z.0"). */
export function renderExplain(root, markdown, stepIds) {
  root.replaceChildren();
  let list = null;
  let item = 0;
  for (const line of markdown.split("\n")) {
    const heading = /^(#{1,6}) (.*)$/.exec(line);
    if (heading && heading[1].length === 1) continue; // "# Worked solution": the panel's own title
    if (heading) {
      const level = Math.min(6, heading[1].length + 2);
      root.append(element(`h${level}`, "", heading[2]));
      list = null;
    } else if (line.startsWith("- ")) {
      if (!list) {
        list = element("ul", "steps");
        root.append(list);
      }
      const li = element("li");
      if (stepIds[item]) {
        li.id = `step-${stepIds[item]}`;
        li.tabIndex = -1;
      }
      item += 1;
      appendInline(li, line.slice(2));
      list.append(li);
    } else if (line.trim()) {
      const paragraph = element("p");
      appendInline(paragraph, line);
      root.append(paragraph);
      list = null;
    }
  }
}
