// Renders every LaTeX string of a JSON array on stdin with KaTeX (throwOnError, strict), and
// prints how many it rendered and the failures as {latex, error}; argv[2] is katex.min.js.
const katex = require(process.argv[2]);
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const formulas = JSON.parse(input);
  const failures = [];
  for (const latex of formulas) {
    try {
      katex.renderToString(latex, { throwOnError: true, strict: "error" });
    } catch (error) {
      failures.push({ latex, error: String(error) });
    }
  }
  process.stdout.write(JSON.stringify({ rendered: formulas.length, failures }));
});
