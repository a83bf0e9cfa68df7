/** A training run through /train/stream, in chunks that carry the network and optimizer state
 * from one request to the next, so that it can pause between chunks, step one epoch, or stop.
 * With stop.patience the run is one request: the server keeps early stopping's best network and
 * its count of epochs without improvement within a request, so chunks would restart them. */

import { stream } from "./api.js";

/** Recorded epochs a run aims at: enough for a smooth curve, few enough for the browser. */
const TARGET_ENTRIES = 500;
/** Numbers of z, a and outputs per entry below which the trace carries them too. */
const SMALL_PASS = 600;

/** The trace's `every` for a run of `epochs` epochs when the page chooses it. */
export function autoEvery(epochs) {
  return Math.max(1, Math.ceil(epochs / TARGET_ENTRIES));
}

/** The trace fields a run records: always the curve's (with the validation's when the body has
 * validation data) and the diagram's; z and a when small. */
export function traceInclude(body) {
  const samples = Array.isArray(body.inputs[0]) ? body.inputs.length : 1;
  const units = body.network.layers.reduce((sum, layer) => sum + layer.bias.length, 0);
  const validation = body.validation ? ["validation_loss", "validation_accuracy"] : [];
  const include = ["loss", "accuracy", ...validation, "gradients", "network", "health"];
  return samples * units * 2 <= SMALL_PASS ? [...include, "outputs", "layers"] : include;
}

/** Whether a body must run as one request: early stopping's bookkeeping lives in one request. */
function isWhole(body) {
  return Boolean(body.stop && body.stop.patience);
}

export class Run {
  /** A run of `body.epochs` epochs; `on` holds callbacks: entries(list), state(run), error(e). */
  constructor(body, every, on) {
    this.body = body;
    this.every = every > 0 ? every : autoEvery(body.epochs);
    this.include = traceInclude(body);
    this.on = on;
    this.entries = [];
    this.initial = body.network;
    this.network = body.network;
    this.latest = body.network; // the newest network: the last line's, then the summary's
    this.whole = isWhole(body);
    this.optimizerState = null;
    this.length = body.epochs; // the epochs a Train asks for: the run's, then as many more
    this.done = 0;
    this.status = "ready";
    this.summary = null;
    this.controller = null;
    this.pausing = false;
    this.failure = null;
    this.playing = false; // an open-ended run (play.js) is going
    this.playEvery = null; // its recording step, which grows as its trace is thinned
    this.edits = []; // changes of the network made while a request was in flight
  }

  /** Epochs per request: the whole run when short or early-stopped, else about a twentieth, a
   * multiple of `every`. */
  chunk(remaining) {
    if (this.body.epochs <= 200 || this.whole) return remaining;
    const size = Math.ceil(Math.max(100, this.body.epochs / 20) / this.every) * this.every;
    return Math.min(remaining, size);
  }

  /** Whether the run can go on (not finished, stopped or failed). */
  get open() {
    return ["ready", "paused"].includes(this.status);
  }

  /** Whether a finished run (or one paused at the end of its epochs, as Play pauses) can train on
   * from its last network and optimizer state (a run in one request cannot: early stopping's
   * bookkeeping would start again). */
  get continues() {
    const ended = ["completed", "deadline_exceeded"].includes(this.status) || (this.status === "paused" && this.done >= this.body.epochs);
    return ended && this.optimizerState !== null && !this.whole;
  }

  /** Train the remaining epochs (or `epochs` of them, not with patience), chunk by chunk, until
   * done or paused; a finished run trains as many epochs again (or `epochs`) from where it
   * ended. The trace records every `every`-th epoch: by default the run's, or each of `epochs`. */
  async train(epochs = null, every = null) {
    if (this.continues) this.body = { ...this.body, epochs: this.done + (epochs ?? this.length) };
    else if (!this.open || (this.whole && epochs !== null)) return;
    this.pausing = false;
    this.failure = null;
    this.setStatus("running");
    const target = epochs === null ? this.body.epochs : Math.min(this.body.epochs, this.done + epochs);
    try {
      // A count /train refuses (0, -1, text) is sent as it is, so that the API's 422 says why.
      if (!(Number.isInteger(this.body.epochs) && this.body.epochs >= 1)) await this.request(this.body.epochs, 1);
      while (this.done < target && !this.pausing && this.status === "running") {
        const ended = await this.request(this.chunk(target - this.done), every ?? (epochs === null ? this.every : 1));
        if (ended) return;
      }
      if (this.status === "running") this.setStatus(this.done >= this.body.epochs ? "completed" : "paused");
    } catch (error) {
      if (error.name === "AbortError") return;
      this.failure = error;
      this.setStatus("failed");
      this.on.error(error);
    }
  }

  /** One request of `epochs` epochs; true when the server ended the run (diverged, target...). */
  async request(epochs, every) {
    this.controller = new AbortController();
    for (const change of this.edits.splice(0)) this.network = change(this.network);
    const offset = this.done;
    const body = {
      ...this.body,
      network: this.network,
      epochs,
      trace: { every, include: this.include },
    };
    if (this.optimizerState) body.optimizer_state = this.optimizerState;
    let summary = null;
    await stream(
      "/train/stream",
      body,
      (lines) => {
        const entries = [];
        for (const line of lines) {
          if ("status" in line) summary = line;
          else entries.push({ ...line, epoch: line.epoch + offset });
        }
        if (entries.length) {
          this.latest = entries[entries.length - 1].network || this.latest;
          this.entries.push(...entries);
          this.on.entries(entries);
        }
      },
      this.controller.signal,
    );
    this.controller = null;
    if (summary === null) throw new Error("the stream ended without its summary line");
    this.network = summary.network;
    this.latest = summary.network;
    this.optimizerState = summary.optimizer_state;
    this.done += summary.epochs_run;
    const shifted = (epoch) => (epoch === null || epoch === undefined ? null : epoch + offset);
    this.summary = { ...summary, diverged_at_epoch: shifted(summary.diverged_at_epoch), best_epoch: shifted(summary.best_epoch) };
    if (summary.status !== "completed") {
      this.setStatus(summary.status);
      return true;
    }
    return false;
  }

  /** Change the network the next request starts from (`change` maps a network to the edited
   * one): at once when no request is in flight, else before the next request; before the first
   * epoch, the run's initial network and body too. */
  edit(change) {
    if (this.status === "running") {
      this.edits.push(change);
      return;
    }
    this.network = change(this.network);
    this.latest = this.network;
    if (this.done === 0) {
      this.initial = this.network;
      this.body = { ...this.body, network: this.network };
    }
  }

  /** Ask the run to pause after the request in flight (a run in one request cannot pause). */
  pause() {
    if (this.status === "running" && !this.whole) this.pausing = true;
  }

  /** Cancel the request in flight; the run ends where the last line left it. */
  stop() {
    if (this.controller) this.controller.abort();
    if (this.open || this.status === "running") this.setStatus("stopped");
  }

  /** Set the status and tell the page. */
  setStatus(status) {
    this.status = status;
    this.on.state(this);
  }
}
