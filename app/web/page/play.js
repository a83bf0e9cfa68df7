/** Play until paused (TF Playground's ▶): an open-ended run, chunk after chunk of /train/stream,
 * each continued from the previous chunk's network and optimizer state (the epochs counting on),
 * until Pause or Stop; the train and test losses shown live. A run can go on for hours, so the
 * trace it keeps is bounded: past MAX_ENTRIES recorded epochs every other one is dropped and the
 * recording step doubles, so a 100,000-epoch run keeps at most MAX_ENTRIES plus a chunk's. */

import { short } from "./format.js";

/** Recorded epochs kept at most before thinning halves them. */
export const MAX_ENTRIES = 1000;
/** The milliseconds a chunk aims at: long enough to spare the requests, short enough that Pause
 * takes effect soon. */
const CHUNK_MS = 300;
/** The first chunk's epochs, before any chunk's time is known. */
const FIRST_CHUNK = 20;
/** Recorded epochs per chunk at most, so that a chunk adds little to the trace. */
const CHUNK_ENTRIES = 200;
/** Epochs per chunk at most (the server's own limits on a request stay far). */
const MAX_CHUNK = 5000;

/** The next chunk's epochs: as many as CHUNK_MS takes at the last chunk's pace (at most four
 * times the last), within bounds, a multiple of the recording step `every`. */
export function nextChunk(epochs, milliseconds, every) {
  const paced = Math.min(4 * epochs, milliseconds > 0 ? (epochs * CHUNK_MS) / milliseconds : 4 * epochs);
  const bounded = Math.min(MAX_CHUNK, CHUNK_ENTRIES * every, paced);
  return Math.max(every, Math.floor(bounded / every) * every);
}

/** Halve `run`'s trace when it holds more than MAX_ENTRIES: every other entry goes (the first
 * and the last stay), on the curve too; returns the recording step to go on with. */
export function thin(run, curve, every) {
  if (run.entries.length <= MAX_ENTRIES) return every;
  const last = run.entries.length - 1;
  run.entries = run.entries.filter((entry, index) => index % 2 === 0 || index === last);
  curve.keep(new Set(run.entries.map((entry) => entry.epoch)));
  return every * 2;
}

/** Play `run` until paused, stopped or ended by the server (diverged, target reached...): from a
 * ready run, a paused one or a finished one; `curve` is thinned with the trace. Nothing for a run
 * that must be one request (patience). */
export async function play(run, curve) {
  if (run.whole || !(run.open || run.continues) || run.status === "running") return;
  run.pausing = false;
  run.failure = null;
  run.playing = true;
  run.setStatus("running");
  // Every epoch at first; after a Train, its own step; after a Pause, the step reached.
  let every = run.playEvery || (run.done > 0 ? run.every : 1);
  let chunk = FIRST_CHUNK;
  try {
    while (!run.pausing && run.status === "running") {
      run.body = { ...run.body, epochs: run.done + chunk };
      const started = performance.now();
      const ended = await run.request(chunk, every);
      if (ended) return;
      every = thin(run, curve, every);
      chunk = nextChunk(chunk, performance.now() - started, every);
    }
    if (run.status === "running") run.setStatus("paused");
  } catch (error) {
    if (error.name === "AbortError") return;
    run.failure = error;
    run.setStatus("failed");
    run.on.error(error);
  } finally {
    run.playEvery = every;
    run.playing = false;
  }
}

/** The epoch counter's text: "epoch N" while playing (no end in sight), else "epoch N / total". */
export function counterText(run, epoch) {
  return run.playing && run.status === "running" ? `epoch ${epoch}` : `epoch ${epoch} / ${run.body.epochs}`;
}

/** Show a trace entry's train and test loss in `element` (8 significant digits, the full value
 * on hover), or clear it (null). */
export function showLosses(element, entry) {
  if (!entry) {
    element.textContent = "";
    element.removeAttribute("title");
    return;
  }
  const test = typeof entry.validation_loss === "number" ? short(entry.validation_loss) : "none (no test split)";
  element.textContent = `train loss ${short(entry.loss)} · test loss ${test} (epoch ${entry.epoch})`;
  element.title = `train loss ${entry.loss}${typeof entry.validation_loss === "number" ? `, test loss ${entry.validation_loss}` : ""}`;
  element.dataset.loss = String(entry.loss);
  element.dataset.testLoss = typeof entry.validation_loss === "number" ? String(entry.validation_loss) : "";
  element.dataset.epoch = String(entry.epoch);
}
