/** A run's end in words: the status names and the summary line. */

/** Each status as the page shows it. */
export const STATUSES = {
  ready: "ready",
  running: "running",
  paused: "paused",
  stopped: "stopped",
  failed: "failed",
  completed: "completed",
  diverged: "diverged",
  target_reached: "target reached",
  deadline_exceeded: "stopped by the server's deadline",
  early_stopped: "early stop",
};

/** The validation part of a summary, when the run had validation data. */
function validation(s) {
  return typeof s.final_validation_loss === "number" ? `, final validation loss ${s.final_validation_loss}` : "";
}

/** Which target a target_reached run met: the loss's, else the validation loss's. */
function target(stop, s) {
  if (stop.loss_below !== undefined && s.final_loss <= stop.loss_below) return `the loss is at or below ${stop.loss_below}`;
  return `the validation loss is at or below ${stop.validation_loss_below}`;
}

/** The best epoch of a run with patience that ended otherwise than by early stopping. */
function best(s) {
  return s.best_epoch === null || s.best_epoch === undefined ? "" : `; lowest validation loss after epoch ${s.best_epoch}`;
}

/** Why a summary's final loss differs from the last epoch's on the curve. */
export const LOSS_TIMING = "The final loss is the network's after the last update; an epoch's loss on the curve and the slider is at the epoch's start, before its update.";

/** What the run's last summary says, in words. */
export function summaryText(run) {
  const s = run.summary;
  if (run.status === "stopped") {
    const last = run.entries[run.entries.length - 1];
    return `Stopped at epoch ${last ? last.epoch : 0}: the request was cancelled. Reset to start again.`;
  }
  if (!s || run.status === "running") return "";
  const accuracy = typeof s.final_accuracy === "number" ? `, final accuracy ${s.final_accuracy}` : "";
  const final = `final loss ${s.final_loss}${accuracy}${validation(s)}`;
  const stop = run.body.stop || {};
  const lines = {
    diverged: `Diverged at epoch ${s.diverged_at_epoch}: ${s.divergence}`,
    target_reached: `Target reached after ${run.done} epochs (${target(stop, s)}): ${final}`,
    deadline_exceeded: `The server's deadline stopped the run after ${run.done} epochs: ${final}${best(s)}`,
    early_stopped: `Early stop at epoch ${run.done}: the validation loss had not improved for ${stop.patience} epochs; best epoch ${s.best_epoch} kept: ${final}`,
  };
  const line = lines[run.status] || `${run.done} epochs: ${final}${best(s)}`;
  return run.status === "diverged" ? line : `${line}. ${LOSS_TIMING}`;
}
