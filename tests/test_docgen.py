"""docs/docgen.py's curl: ``--json`` as curl 7.82 reads it, and every curl command the docs show
that sends JSON sends it with ``--json``."""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "docs"))
import docgen  # noqa: E402 (docs/ is not a package)

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOTEBOOK = json.loads((ROOT / "examples" / "notebook.json").read_text())
STEP = {key: value for key, value in NOTEBOOK.items() if key != "epochs"}
"""The notebook's request as /explain takes it."""


def test_json_posts_a_file_as_json_and_asks_for_json() -> None:
    """No -X POST and no Content-Type: --json implies both, and Accept: application/json,
    which /explain answers with its JSON steps."""
    docgen.write("body.json", NOTEBOOK)
    trained = json.loads(docgen.run("curl -s --json @body.json http://127.0.0.1:8000/train"))
    assert trained["status"] == "completed"
    docgen.write("step.json", STEP)
    steps = json.loads(docgen.run("curl -s --json @step.json http://h/explain"))
    assert steps["steps"][0]["id"] == "forward.0.z.0"


def test_a_header_given_with_json_wins_in_any_order() -> None:
    docgen.write("step.json", STEP)
    for line in (
        "curl -s -H 'accept: text/markdown' --json @step.json http://h/explain",
        "curl -s --json @step.json -H 'Accept: text/markdown' http://h/explain",
    ):
        assert docgen.run(line).startswith("# Worked solution")


def test_every_curl_in_the_docs_sends_json_with_json() -> None:
    """No page spells out -H 'Content-Type: application/json' with -d (curl's --json does it),
    and every curl that sends a body uses --json."""
    for page in PAGES:
        text = page.read_text()
        spelled = re.search(r"curl [^\n]*-H '?content-type: application/json", text, re.I)
        assert not spelled, page
        for line in re.findall(r"curl [^\n]*", text):
            assert not re.search(r"\s(-d|--data|--data-binary)\s", line), (page, line)
        assert not re.search(r"^\s*(-d|--data|--data-binary)\s", text, re.MULTILINE), page
