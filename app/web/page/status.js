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
  early_stopped: "stopped early",
};

/** The validation part of a summary, when the run had validation data. */
function validation(s) {
  return typeof s.final_validation_loss === "number" ? `, final validation loss ${s.final_validation_loss}` : "";
}

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
  const lines = {
    diverged: `Diverged at epoch ${s.diverged_at_epoch}: ${s.divergence}`,
    target_reached: `Target reached after ${run.done} epochs: ${final}`,
    deadline_exceeded: `The server's deadline stopped the run after ${run.done} epochs: ${final}`,
    early_stopped: `Stopped early after ${run.done} epochs (the validation loss stopped improving): ${final}`,
  };
  return lines[run.status] || `${run.done} epochs: ${final}`;
}
