/** Your own data: points (x₁, x₂, target) from a CSV or clicked onto the map, kept in the page's
 * state as `data.own`, turned into the /train body's inputs and targets, and packed into the URL
 * when small.
 *
 * `data.own` is {task, points, labels, box, source}: `task` "classification" (each point's target
 * a class index into `labels`, the CSV's own names, or null for "class 1", "class 2", ...) or
 * "regression" (a number); `box` the plane the map shows while points are drawn ([x₁ low, x₁ high,
 * x₂ low, x₂ high], or null for the points' own span); `source` the file's name, or "clicks". */

import { OUTPUT_ACTIVATIONS } from "./vocab.js";

/** At most this many points travel in the link; beyond it the link says how many it left out. */
export const URL_POINTS = 200;
/** The most classes a CSV's target may name: the map has a colour for each. */
export const MAX_CLASSES = 10;
/** The plane clicks start on when there is no map to click on yet: ±1 with a margin, so that
 * its edge ticks stay inside the map. */
export const DRAW_BOX = [-1.25, 1.25, -1.25, 1.25];

/** Own data with no points, ready for clicks. */
export function emptyOwn() {
  return { task: "classification", points: [], labels: null, box: DRAW_BOX, source: "clicks" };
}

/** How many classes own data has (at least 2, so that a click of either class fits the network). */
export function classCount(own) {
  const highest = own.points.reduce((most, point) => Math.max(most, point[2]), -1);
  return Math.max(2, own.labels ? own.labels.length : 0, highest + 1);
}

/** A target row of class `k` of `classes`: 0/1 when the output is one sigmoid for two classes
 * (as /datasets' `binary` encoding), else one-hot. */
function classTarget(k, classes, output) {
  if (output === "sigmoid" && classes === 2) return [k];
  return Array.from({ length: classes }, (_, j) => (j === k ? 1 : 0));
}

/** The data a request trains on (as request.js's dataOf gives it) from own data, its targets
 * encoded for the network's output activation `output`; throws when there are no points. */
export function ownRequestData(own, output) {
  if (!own.points.length) {
    throw new Error(
      own.missing
        ? `This link's ${own.missing} points were too many to travel in it (at most ${URL_POINTS}): upload the CSV again, or load the request that Copy as JSON gave.`
        : "Your own data has no points yet: click the map to add some (Draw points), or upload a CSV.",
    );
  }
  const inputs = own.points.map((point) => [point[0], point[1]]);
  const classes = classCount(own);
  const targets = own.points.map((point) => (own.task === "regression" ? [point[2]] : classTarget(point[2], classes, output)));
  return { inputs, targets, test_inputs: null, test_targets: null, box: own.box };
}

/** `state` with own data `own`: the network drawn anew for its two inputs (a preset's fixed
 * weights fit other shapes), and a loss and output activation that fit its task when the
 * current ones do not (a class needs a classification loss, a number a regression one). */
export function withOwn(state, own) {
  const next = structuredClone(state);
  next.data = { ...next.data, name: "own", fixed: null, features: null, params: {}, own };
  next.net.fixed = null;
  const classifies = next.train.loss in OUTPUT_ACTIVATIONS;
  if (own.task === "classification" && !classifies) {
    next.train.loss = "cross_entropy";
    next.net.output = OUTPUT_ACTIVATIONS.cross_entropy;
  } else if (own.task === "regression" && classifies) {
    next.train.loss = "mean_squared_error";
    next.net.output = "identity";
  }
  if (next.extra) delete next.extra.validation;
  next.epoch = null;
  next.sample = 0;
  return next;
}

/** The state as its link holds it: own data's points as one short string ("x1,x2,y;…") when
 * there are at most URL_POINTS of them, else none and how many were left out. */
export function packOwn(state) {
  const own = state.data && state.data.own;
  if (!own) return state;
  const fits = own.points.length <= URL_POINTS;
  const packed = { ...own, points: fits ? own.points.map((point) => point.join(",")).join(";") : "" };
  if (!fits) packed.missing = own.points.length;
  return { ...state, data: { ...state.data, own: packed } };
}

/** A state read from a link, its own data's points unpacked (the inverse of packOwn). */
export function unpackOwn(state) {
  const own = state.data && state.data.own;
  if (!own || typeof own.points !== "string") return state;
  const points = own.points ? own.points.split(";").map((point) => point.split(",").map(Number)) : [];
  return { ...state, data: { ...state.data, own: { ...own, points } } };
}
