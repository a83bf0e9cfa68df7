"""Runs the commands README.md and docs/*.md show, so that the outputs pasted under them are real.

cog calls these helpers from the Markdown files (`make docs` rewrites the outputs, `make lint`
fails when one is stale). A block shows a shell command as a user types it, then what it prints,
computed here by a small shell that runs the same words in this process:

- ``curl`` requests go to ``app.main.create_app()`` through Starlette's ``TestClient`` (the URL's
  host and port are ignored), with curl's default ``Accept: */*``; ``--json`` sends its data as
  ``--data-binary`` does, as a ``POST`` with ``Content-Type`` and ``Accept: application/json``
  unless ``-H`` sets them (curl 7.82's shortcut);
- ``jq`` filters run in libjq (PyPI ``jq``) and print as ``jq`` 1.6 does (``jq -c``: compact,
  a float with no fraction as an integer);
- ``backprop`` and ``python`` run as subprocesses of this interpreter's environment;
- ``head``, ``tail``, ``cut -c``, ``sed -n A,Bp``, ``grep [-i] [-E]``, ``cat`` and ``echo`` filter
  text, ``>`` writes a file, ``NAME=value`` sets a variable and ``$NAME``, ``$?`` expand.

Commands run in one scratch directory per process, holding a link to ``examples/``, so that a
file a block writes (``> moons.json``) is there for the next block. No answer carries a request
id or a date, so the pasted text is the same on every run and on every machine with the same
BLAS.
"""

import atexit
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jq
from fastapi.testclient import TestClient

from app.main import create_app

ROOT = Path(__file__).resolve().parent.parent

# The notebook's network as the pages spell it in shell (`NET='...'`); blocks that say "$NET as
# above" get this value.
NET = (
    '{"layers": [{"weights": [[0.1, -0.2, 0.4], [-0.5, 0.3, 0.2]], "bias": [0.0, 0.05],'
    ' "activation": "relu"},\n'
    '                 {"weights": [[0.3, -0.7]], "bias": [0.1], "activation": "identity"}]}'
)

# Response headers that differ between runs, left out of a `curl -D -` printout.
VOLATILE_HEADERS = {"date", "x-request-id", "server"}

# The names Python blocks define, shared by the blocks of a page as by a user's session.
NAMESPACE: dict[str, Any] = {}

VARIABLES: dict[str, str] = {"NET": NET, "?": "0"}  # `$?`: the last exit status


@cache
def client() -> TestClient:
    """The app in this process, as `Client(app=in_process_app())` reaches it (its access log
    goes to stdout, which `curl` leaves out)."""
    return TestClient(create_app(), raise_server_exceptions=False)


@cache
def workdir() -> Path:
    """The scratch directory every command runs in, with `examples/` linked into it."""
    path = Path(tempfile.mkdtemp(prefix="docgen-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    (path / "examples").symlink_to(ROOT / "examples")
    return path


def write(name: str, content: str | dict[str, Any]) -> None:
    """Put a file in the scratch directory (a dict is written as JSON, as a user saved it)."""
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    (workdir() / name).write_text(text if text.endswith("\n") else text + "\n")


def example(name: str) -> dict[str, Any]:
    """A request body of `examples/`."""
    body: dict[str, Any] = json.loads((ROOT / "examples" / name).read_text())
    return body


def excerpt(name: str, first: str, last: str, after: str | None = None) -> None:
    """Print, as a `python` block, the lines of a file the scratch directory holds (a script a
    command wrote) from `first` to `last`, as `lines` picks them."""
    print(fence(lines((workdir() / name).read_text(), first, last, after), "python"))


def lines(text: str, first: str, last: str, after: str | None = None) -> str:
    """The lines of a text from the first that starts with `first` to the next that starts with
    `last` (the next one after the line that starts with `after`, when given), both included."""
    rows = text.splitlines()
    start = next(i for i, row in enumerate(rows) if row.startswith(first))
    anchor = start
    if after is not None:
        anchor = next(i for i, row in enumerate(rows) if i >= start and row.startswith(after))
    end = next(i for i, row in enumerate(rows) if i >= anchor and row.startswith(last))
    return "\n".join(rows[start : end + 1])


def headings_down(markdown: str, levels: int) -> str:
    """Markdown with each heading moved down `levels` levels (`#` becomes `####` for 3)."""
    return re.sub(r"^#", "#" * (levels + 1), markdown, flags=re.MULTILINE)


def show(script: str) -> None:
    """Print the script as a `sh` block, without running it (a later block shows its output)."""
    print(fence(script.strip("\n"), "sh"))


def python(code: str, then: str = "") -> None:
    """Print the code as a `python` block, then what it prints when run here (in the scratch
    directory), followed by the transcript of the shell commands in `then`, if any."""
    code = code.strip("\n")
    print(fence(code, "python"))
    printed = io.StringIO()
    cwd = Path.cwd()
    os.chdir(workdir())
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "<docs>", "exec"), NAMESPACE)
    finally:
        os.chdir(cwd)
    parts = [printed.getvalue().rstrip("\n")]
    for line in then.strip("\n").splitlines():
        parts += [f"$ {line}", run(line)]
    print(fence("\n".join(parts), ""))


def shell(script: str, lang: str = "") -> None:
    """Print the script as a `sh` block, then what it prints as a block of `lang`."""
    script = script.strip("\n")
    print(fence(script, "sh"))
    print(fence(run(script), lang))


def transcript(script: str, indent: str = "") -> None:
    """Print one block of `$ command` lines, each followed by what it prints, as in a terminal
    (indented by `indent`, for a block inside a list item)."""
    parts = []
    for line in script.strip("\n").splitlines():
        parts.append(f"$ {line}")
        output = run(line, terminal=True)
        if output:
            parts.append(output)
    print(textwrap.indent(fence("\n".join(parts), ""), indent))


def fence(text: str, lang: str) -> str:
    """A fenced Markdown block."""
    return f"```{lang}\n{text}\n```"


def run(script: str, terminal: bool = False) -> str:
    """What the script prints on stdout (and stderr where a command sends it there with 2>&1, or
    everywhere for a `terminal`, which shows both), each command's output ending its line
    (curl's answers have no line break of their own)."""
    out: list[str] = []
    for pipeline in parse(script):
        data = ""
        for words, target in pipeline:
            data, status = command([word.text for word in words], data, terminal)
            VARIABLES["?"] = str(status)
            if target is not None:
                (workdir() / target.text).write_text(data)
                data = ""
        if data:
            out.append(data if data.endswith("\n") else data + "\n")
    return "".join(out).rstrip("\n")


Words = list[str]
Pipeline = list[tuple[list["Word"], "Word | None"]]
"""A pipeline's commands: each one's words, and the file `>` sends its output to (or None)."""


def parse(script: str) -> Iterator[Pipeline]:
    """The script's pipelines: each a list of (words, file its output is written to or None).

    The words are split as bash splits them in these scripts: quotes removed, backslash escapes
    applied, line continuations joined; ``$NAME`` and ``$?`` outside single quotes are expanded
    when their command runs (so that ``$?`` is the exit status of the command before).
    """
    tokens = tokenize(script)
    pipeline: Pipeline = []
    words: list[Word] = []
    target: Word | None = None
    expect_target = False
    for token in [*tokens, ";"]:
        if isinstance(token, Word):
            if expect_target:
                target, expect_target = token, False
            else:
                words.append(token)
            continue
        if token == ">":
            expect_target = True
            continue
        if words:
            pipeline.append((words, target))
        words, target = [], None
        if token in {";", "\n"} and pipeline:
            yield pipeline
            pipeline = []


class Variable(str):
    """A `$NAME` (or `$?`) in a word, expanded when its command runs."""


class Word:
    """A word of a command line: literal text and variables, quotes already removed."""

    def __init__(self, parts: list[str]) -> None:
        self.parts = parts

    @property
    def text(self) -> str:
        """The word with its variables' values now."""
        return "".join(
            VARIABLES.get(part, "") if isinstance(part, Variable) else part for part in self.parts
        )


def tokenize(script: str) -> list[Word | str]:
    """Words and the operators |, >, ; and newline, split as bash would (see `parse`)."""
    script = script.replace("\\\n", "")
    tokens: list[Word | str] = []
    word: list[str] | None = None  # its parts so far
    i = 0
    while i < len(script):
        char = script[i]
        if char in " \t":
            if word is not None:
                tokens.append(Word(word))
                word = None
            i += 1
            continue
        if char in "|;\n" or (char == ">" and word is None):
            if word is not None:
                tokens.append(Word(word))
                word = None
            tokens.append(char)
            i += 1
            continue
        if char == "#" and word is None:
            while i < len(script) and script[i] != "\n":
                i += 1
            continue
        word = word if word is not None else []
        if char == "'":
            end = script.index("'", i + 1)
            word.append(script[i + 1 : end])
            i = end + 1
        elif char == '"':
            i += 1
            while script[i] != '"':
                if script[i] == "\\" and script[i + 1] in '"\\$`':
                    word.append(script[i + 1])
                    i += 2
                elif script[i] == "$":
                    part, i = variable(script, i)
                    word.append(part)
                else:
                    word.append(script[i])
                    i += 1
            i += 1
        elif char == "\\":
            word.append(script[i + 1])
            i += 2
        elif char == "$":
            part, i = variable(script, i)
            word.append(part)
        else:
            word.append(char)
            i += 1
    if word is not None:
        tokens.append(Word(word))
    return tokens


def variable(script: str, i: int) -> tuple[str, int]:
    """The variable named at script[i] (a `$`), or a lone `$`, and the index after it."""
    if script[i + 1] == "?":
        return Variable("?"), i + 2
    name = re.match(r"[A-Za-z_][A-Za-z0-9_]*", script[i + 1 :])
    if name is None:
        return "$", i + 1
    return Variable(name.group()), i + 1 + name.end()


def command(words: Words, data: str, terminal: bool = False) -> tuple[str, int]:
    """Run one command on its input; its output and exit status."""
    assignment = re.fullmatch(r"([A-Z_]+)=(.*)", words[0], re.DOTALL)
    if assignment and len(words) == 1:
        VARIABLES[assignment.group(1)] = assignment.group(2)
        return "", 0
    program, *args = words
    merge = terminal or "2>&1" in args
    args = [arg for arg in args if arg != "2>&1"]
    handlers: dict[str, Callable[[Words, str], str]] = {
        "curl": curl,
        "jq": run_jq,
        "head": lambda a, d: "".join(d.splitlines(True)[: int(a[0][1:])]),
        "tail": lambda a, d: "".join(d.splitlines(True)[int(a[0]) :]),
        "cut": cut,
        "sed": sed,
        "grep": grep,
        "cat": lambda a, d: "".join((workdir() / name).read_text() for name in a) if a else d,
        "echo": lambda a, d: " ".join(a) + "\n",
    }
    if program in handlers:
        return handlers[program](args, data), 0
    executable = Path(sys.executable).parent / program if program == "backprop" else program
    if program in {"python", "python3"}:
        executable = Path(sys.executable)
    result = subprocess.run(
        [str(executable), *args],
        input=data,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge else subprocess.DEVNULL,
        text=True,
        cwd=workdir(),
        env={**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "BACKPROP_URL": ""},
        check=False,
    )
    return result.stdout, result.returncode


def curl(args: Words, data: str) -> str:
    """curl against the app in this process: the answer's body, or with `-D - -o /dev/null`
    its status line and headers."""
    method, headers, body, url = "GET", {}, None, ""
    show_headers = as_json = False
    it = iter(args)
    for arg in it:
        if arg in {"-s", "-N", "-S"}:
            continue
        if arg == "-X":
            method = next(it)
        elif arg == "-H":
            name, _, value = next(it).partition(":")
            headers[name.strip().lower()] = value.strip()
        elif arg in {"-d", "--data", "--data-binary", "--json"}:
            value = next(it)
            if value.startswith("@"):  # a file, or stdin: -d drops its line breaks, as curl does
                value = data if value == "@-" else (workdir() / value[1:]).read_text()
                if arg in {"-d", "--data"}:
                    value = value.replace("\r", "").replace("\n", "")
            body = value.encode()
            method = "POST" if method == "GET" else method
            as_json |= arg == "--json"
        elif arg == "-D":
            show_headers = next(it) == "-"
        elif arg == "-o":
            next(it)
        else:
            url = arg
    if as_json:  # the headers --json sets, unless -H set them (in any order)
        headers = {"content-type": "application/json", "accept": "application/json"} | headers
    headers.setdefault("accept", "*/*")
    path = re.sub(r"^https?://[^/]+", "", url)
    with contextlib.redirect_stdout(io.StringIO()):  # the access log's line is not the answer
        response = client().request(method, path, content=body, headers=headers)
    if show_headers:
        lines = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
        lines += [f"{k}: {v}" for k, v in response.headers.items() if k not in VOLATILE_HEADERS]
        return "\n".join(lines) + "\n"
    return response.text


def run_jq(args: Words, data: str) -> str:
    """jq's -c, -r, -n and --slurpfile, on stdin or a file."""
    compact = raw = null_input = False
    variables: dict[str, Any] = {}
    rest: Words = []
    it = iter(args)
    for arg in it:
        if arg.startswith("-") and not arg.startswith("--") and len(arg) > 1:
            compact |= "c" in arg
            raw |= "r" in arg
            null_input |= "n" in arg
        elif arg == "--slurpfile":
            name, path = next(it), next(it)
            variables[name] = list(values((workdir() / path).read_text()))
        else:
            rest.append(arg)
    program = jq.compile(rest[0], args=variables)
    text = (workdir() / rest[1]).read_text() if len(rest) > 1 else data
    inputs = [None] if null_input else list(values(text))
    lines = []
    for value in inputs:
        for result in program.input_value(value).all():
            if raw and isinstance(result, str):
                lines.append(result)
            else:
                lines.append(dumps(result, compact))
    return "".join(line + "\n" for line in lines)


def values(text: str) -> Iterator[Any]:
    """The JSON values of a text holding one after another (JSON Lines, or jq's output)."""
    decoder = json.JSONDecoder()
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return
        value, i = decoder.raw_decode(text, i)
        yield value


def dumps(value: Any, compact: bool) -> str:
    """A value as jq 1.6 prints it: a float with no fraction as an integer, other floats in the
    shortest form that reads back the same, non-ASCII text as it is."""

    def integral(item: Any) -> Any:
        if isinstance(item, float) and item.is_integer() and abs(item) < 1e17:
            return int(item)
        if isinstance(item, dict):
            return {key: integral(v) for key, v in item.items()}
        if isinstance(item, list):
            return [integral(v) for v in item]
        return item

    if compact:
        return json.dumps(integral(value), ensure_ascii=False, separators=(",", ":"))
    return json.dumps(integral(value), ensure_ascii=False, indent=2)


def cut(args: Words, data: str) -> str:
    """cut -cA-B."""
    start, end = (int(n) for n in args[0].removeprefix("-c").split("-"))
    return "".join(line[start - 1 : end] + "\n" for line in data.splitlines())


def sed(args: Words, data: str) -> str:
    """sed -n A,Bp."""
    start, end = (int(n) for n in args[1].removesuffix("p").split(","))
    return "".join(data.splitlines(True)[start - 1 : end])


def grep(args: Words, data: str) -> str:
    """grep [-i] [-E] PATTERN."""
    flags = re.IGNORECASE if "-i" in args else 0
    pattern = next(arg for arg in args if not arg.startswith("-"))
    return "".join(line for line in data.splitlines(True) if re.search(pattern, line, flags))
