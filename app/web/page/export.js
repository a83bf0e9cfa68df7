/** The run taken out as a file by POST /export: a PyTorch or NumPy script, or a state_dict. */

import { post } from "./api.js";
import { download } from "./share.js";

/** The media type each format's file is saved as. */
const TYPES = { pytorch: "text/x-python", numpy: "text/x-python", json: "application/json" };

/** The /export body of a /train body: the same run, from its initial network, data embedded. */
export function exportBody(body, format) {
  return { ...body, format, include_data: true };
}

/** POST the run to /export as `format` and offer the file under the API's name for it; a refusal
 * throws the API's error. */
export async function downloadExport(body, format) {
  const answer = await post("/export", exportBody(body, format));
  download(answer.filename, answer.content, TYPES[format]);
  return answer.filename;
}
