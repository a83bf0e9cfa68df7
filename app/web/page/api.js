/** Calls to the service's HTTP API: JSON requests, 422 problems, and JSON Lines streams. */

/** An answer other than 200: its status, and for a 422 the API's problems ({loc, msg, type}). */
export class ApiError extends Error {
  /** Build from the endpoint, the HTTP status and the answer's parsed body. */
  constructor(path, status, body) {
    const detail = body && body.detail;
    const problems = Array.isArray(detail) ? detail : [];
    const text = problems.length
      ? problems.map((p) => p.msg).join("; ")
      : typeof detail === "string" ? detail : `HTTP ${status}`;
    super(`${path}: ${text}`);
    this.path = path;
    this.status = status;
    this.problems = problems;
  }
}

/** A problem of a 422 as one line: its JSON path within the body, then what is wrong. */
export function problemText(problem) {
  const where = (problem.loc || []).slice(1).join(".");
  return `${where ? `${where}: ` : ""}${problem.msg}`;
}

/** Times a request the server refuses with 503 (all its compute slots busy) is sent again. */
const RETRIES = 4;

/** Wait `ms` milliseconds, or throw the abort if `signal` fires first. */
function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    if (signal) signal.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });
}

/** fetch, sending again after the Retry-After of a 503, up to RETRIES times; the page counts
 * these in body[data-retried], as the browser logs each 503 as an error of its own. */
export async function send(path, init) {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(path, init);
    if (response.status !== 503 || attempt === RETRIES) return response;
    document.body.dataset.retried = String(Number(document.body.dataset.retried || 0) + 1);
    await response.body?.cancel();
    const seconds = Number(response.headers.get("retry-after")) || 1;
    await pause(seconds * 1000 * (1 + Math.random() / 2), init.signal);
  }
}

/** POST a JSON body to `path` and return the parsed answer; throws ApiError when not 200. */
export async function post(path, body, signal) {
  const response = await send(path, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  const parsed = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(path, response.status, parsed);
  return parsed;
}

/** GET `path` as JSON. */
export async function get(path) {
  const response = await send(path, { headers: { accept: "application/json" } });
  const parsed = await response.json();
  if (!response.ok) throw new ApiError(path, response.status, parsed);
  return parsed;
}

/** POST to a JSON Lines endpoint and call `onLines(objects)` with each batch of lines as it arrives. */
export async function stream(path, body, onLines, signal) {
  const response = await send(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) {
    throw new ApiError(path, response.status, await response.json().catch(() => null));
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pending += decoder.decode(value, { stream: true });
    const cut = pending.lastIndexOf("\n");
    if (cut < 0) continue;
    const lines = pending.slice(0, cut).split("\n").filter((line) => line.length > 0);
    pending = pending.slice(cut + 1);
    onLines(lines.map((line) => JSON.parse(line)));
  }
  if (pending.trim()) onLines([JSON.parse(pending)]);
}
