/** The current request as curl, JSON or Python (the project's client), and files to download. */

/** A string quoted for a POSIX shell. */
function shellQuote(text) {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** The request as a curl command against this server's /train. */
export function asCurl(body, origin) {
  return `curl -s -X POST ${origin}/train -H 'content-type: application/json' \\\n  -d ${shellQuote(JSON.stringify(body))}`;
}

/** The request as pretty JSON, ready for `curl -d @request.json` or `backprop train`. */
export function asJson(body) {
  return JSON.stringify(body, null, 2);
}

/** The request as a Python script using app.client (pip install the project first). */
export function asPython(body, origin) {
  const json = JSON.stringify(body).replaceAll("\\", "\\\\").replaceAll("'''", "\\'\\'\\'");
  return [
    "import json",
    "",
    "from app.client import Client",
    "",
    `request = json.loads('''${json}''')`,
    "",
    `with Client(${JSON.stringify(origin)}) as client:`,
    "    run = client.train(request)",
    "print(run.status, run.epochs_run, run.final_loss)",
    "",
  ].join("\n");
}

/** Offer `text` as a file named `name`. */
export function download(name, text, type = "application/json") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
