/** The run taken out as a file by POST /export: a PyTorch or NumPy script, or a state_dict. */

import { post } from "./api.js";
import { download } from "./share.js";

/** The media type each format's file is saved as. */
const TYPES = { pytorch: "text/x-python", numpy: "text/x-python", json: "application/json" };

/** POST the run's /train body (the same run, from its initial network) to /export as `format`,
 * data embedded, and offer the file under the API's name for it; a refusal throws the API's
 * error. */
export async function downloadExport(body, format) {
  const answer = await post("/export", { ...body, format, include_data: true });
  download(answer.filename, answer.content, TYPES[format]);
}
