/** Files from POST /export: the run as a PyTorch or NumPy script, a state_dict or a Jupyter
 * notebook, and a drawn exercise as a notebook to hand out. */

import { post } from "./api.js";
import { download } from "./share.js";

/** The media type each format's file is saved as. */
const TYPES = { pytorch: "text/x-python", numpy: "text/x-python", json: "application/json", notebook: "application/x-ipynb+json" };

/** POST the run's /train body (the same run, from its initial network) to /export as `format`,
 * data embedded, and offer the file under the API's name for it; a refusal throws the API's
 * error. */
export async function downloadExport(body, format) {
  const answer = await post("/export", { ...body, format, include_data: true });
  download(answer.filename, answer.content, TYPES[format]);
}

/** POST an exercise of /exercises (its template and seed) to /export and offer its notebook:
 * the task, a cell per value with blanks, and check(). */
export async function downloadExerciseNotebook(exercise) {
  const answer = await post("/export", { format: "notebook", exercise });
  download(answer.filename, answer.content, TYPES.notebook);
}
