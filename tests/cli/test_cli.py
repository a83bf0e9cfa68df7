"""The ``backprop`` command in a subprocess, as a user runs it: in-process and against a real
server started here. The notebook's printout is compared line for line with the notebook's own
(``tests/notebook_printout.txt``, its output as printed, the last line cut off where it stops)."""

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import examples
from app.cli.formats import json_path
from app.cli.plots import MISSING
from app.schemas.diagnostics import CheckResponse
from app.schemas.training import TrainResponse
from tests.servers import free_port, running_server
from tests.test_examples import CHECKS, EXAMPLES

ROOT = Path(__file__).parents[2]
PRINTOUT = (ROOT / "tests" / "notebook_printout.txt").read_text().splitlines()
BAD = {
    "network": {
        "layers": [
            {
                "weights": [[0.1, -0.2, 0.4], [-0.5, 0.3, 0.2]],
                "bias": [0.0, 0.05],
                "activation": "relu",
            },
            {"weights": [[0.3, -0.7, 0.2]], "bias": [0.1], "activation": "identity"},
        ]
    },
    "inputs": [-1.0, 2.0, True],
}
BAD_LINES = [
    "network.layers[1].weights: layer 1 expects 2 inputs (layer 0 has 2 units) but its weights "
    "have 3 columns",
    "inputs[2]: Input should be a valid number",
]


def backprop(
    *args: str, stdin: str | None = None, url: str | None = None, env: dict[str, str] | None = None
) -> Any:
    """``backprop ARGS`` in a subprocess with piped output (and ``--url`` when given, and ``env``
    added to the environment)."""
    env = {k: v for k, v in os.environ.items() if k != "BACKPROP_URL"} | (env or {})
    command = [sys.executable, "-m", "app.cli", *(["--url", url] if url else []), *args]
    return subprocess.run(
        command, input=stdin, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_server() as (_, url):
        yield url


@pytest.fixture(params=["in-process", "server"])
def url(request: pytest.FixtureRequest) -> str | None:
    """Each test that takes it runs in-process, then against the real server."""
    if request.param == "in-process":
        return None
    address: str = request.getfixturevalue("server")
    return address


def test_train_prints_the_notebook_exactly(url: str | None) -> None:
    done = backprop("train", "examples/notebook.json", url=url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[: len(PRINTOUT) - 1] == PRINTOUT[:-1]
    assert lines[len(PRINTOUT) - 1].startswith(PRINTOUT[-1])
    assert len(lines) == 10 * 5 + 1
    assert lines[-1] == "completed: 10 epochs, final loss 0.49979478"
    assert done.stderr == ""


def test_json_equals_the_servers_answer(url: str | None, server: str) -> None:
    done = backprop("train", "--json", "examples/notebook.json", url=url)
    assert done.returncode == 0, done.stderr
    body = (EXAMPLES / "notebook.json").read_bytes()
    answer = httpx.post(
        f"{server}/train", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 200
    assert json.loads(done.stdout) == answer.json()


def test_url_from_the_environment(server: str) -> None:
    env = os.environ | {"BACKPROP_URL": server}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "forward", "-"],
        input=json.dumps(examples.FORWARD),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"] == pytest.approx([-0.885])


def test_a_bad_request_lists_its_problems(url: str | None) -> None:
    done = backprop("forward", "-", stdin=json.dumps(BAD), url=url)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == ["the request is invalid (422):", *BAD_LINES]


def test_a_bad_epoch_count_is_the_servers_to_report() -> None:
    request = json.dumps(examples.TRAIN | {"epochs": "many"})
    done = backprop("train", "-", stdin=request)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "the request is invalid (422):",
        "epochs: Input should be a valid integer",
    ]


def test_an_unreadable_request_says_why() -> None:
    done = backprop("loss", "-", stdin="{not json")
    assert done.returncode == 1
    assert done.stderr.startswith("<stdin> is not JSON")


def test_an_unreachable_server_says_so() -> None:
    done = backprop("forward", "-", stdin=json.dumps(examples.FORWARD), url="http://127.0.0.1:9")
    assert done.returncode == 1
    assert (
        done.stderr == "cannot reach http://127.0.0.1:9/forward: [Errno 111] Connection refused\n"
    )


def test_a_url_without_scheme_says_how_to_write_it() -> None:
    done = backprop("forward", "-", stdin=json.dumps(examples.FORWARD), url="127.0.0.1:8631")
    assert done.returncode == 1
    assert (
        done.stderr
        == "'127.0.0.1:8631' is no http:// or https:// URL (say http://127.0.0.1:8631)\n"
    )


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_every_example_through_the_cli(name: str) -> None:
    method, check = CHECKS[name]
    done = backprop(method, "--json", f"examples/{name}")
    model = TrainResponse if method == "train" else CheckResponse
    answer = model.model_validate_json(done.stdout)
    assert done.returncode == (3 if getattr(answer, "all_correct", True) is False else 0)
    check(answer)


def test_table_lists_the_recorded_epochs() -> None:
    done = backprop("train", "--table", "examples/notebook.json")
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 10
    assert rows[0].split("│")[1:4] == [" 1     ", " 1.7766125  ", " -0.885     "]


def test_csv_builds_inputs_and_targets(tmp_path: Path) -> None:
    body = json.loads((EXAMPLES / "xor.json").read_text())
    table = tmp_path / "xor.csv"
    rows = [[*x, *t] for x, t in zip(body["inputs"], body["targets"], strict=True)]
    table.write_text("x1,x2,no,yes\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    without_data = {k: v for k, v in body.items() if k not in ("inputs", "targets")}
    done = backprop(
        "train", "--json", "--csv", str(table), "--target-columns", "no,yes", "-",
        stdin=json.dumps(without_data),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(
        backprop("train", "--json", "examples/xor.json").stdout
    )


def test_csv_names_a_missing_column(tmp_path: Path) -> None:
    table = tmp_path / "data.csv"
    table.write_text("a,b\n1,2\n")
    request = json.dumps(examples.LOSS)
    done = backprop("loss", "--csv", str(table), "--target-columns", "c", "-", stdin=request)
    assert done.returncode == 1
    assert "has no column 'c'" in done.stderr


def test_explain_prints_the_worked_solution() -> None:
    request = json.dumps(examples.LOSS)
    done = backprop("explain", "-", stdin=request)
    assert done.returncode == 0, done.stderr
    assert (
        "z1[0] = W1[0,0]·x[0] + W1[0,1]·x[1] + W1[0,2]·x[2] + b1[0] = 0.1·(−1) + (−0.2)·2 + "
        "0.4·1.5 + 0 = 0.1"
    ) in done.stdout.splitlines()
    steps = json.loads(backprop("explain", "--json", "-", stdin=request).stdout)
    assert steps["steps"][0]["id"] == "forward.0.z.0"


def test_export_writes_a_script_that_trains_as_train_does(url: str | None, tmp_path: Path) -> None:
    """``export -o FILE --data-file`` writes the script and its data.json; run, it prints the
    notebook's first loss and the network /train returns."""
    script = tmp_path / "train.py"
    args = ["export", "examples/notebook.json", "--format", "numpy", "-o", str(script)]
    done = backprop(*args, "--data-file", url=url)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "data.json").read_text())["targets"] == [1.0]
    printed = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    first, network = json.loads(printed[0]), json.loads(printed[-1])
    assert first == {"epoch": 1, "loss": pytest.approx(1.7766125, rel=1e-15)}
    answer = backprop("train", "--json", "examples/notebook.json").stdout
    trained = TrainResponse.model_validate_json(answer).network.model_dump(mode="json")
    for layer, expected in zip(network["layers"], trained["layers"], strict=True):
        assert layer["weights"] == [pytest.approx(row, rel=1e-12) for row in expected["weights"]]
        assert layer["bias"] == pytest.approx(expected["bias"], rel=1e-12)


def test_export_prints_the_state_dict() -> None:
    request = json.dumps({"network": examples.NOTEBOOK_NETWORK})
    done = backprop("export", "--format", "json", "-", stdin=request)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["0.bias"] == [0.0, 0.05]
    missing = backprop("export", "--data-file", "-", stdin=request)
    assert missing.returncode == 1
    assert "--data-file needs --output" in missing.stderr


def test_plot_draws_the_curves(tmp_path: Path) -> None:
    figure = tmp_path / "loss.svg"
    done = backprop("train", "--table", "--plot", str(figure), "examples/moons.json")
    assert done.returncode == 0, done.stderr
    drawing = figure.read_text()
    assert "<svg" in drawing
    assert "accuracy" in drawing


EARLY_STOPPED = examples.CLASSIFY | {
    "validation": {
        "inputs": [[0.1, 0.9], [0.9, 0.2], [0.8, 0.9], [0.2, 0.1]],
        "targets": [[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]],
    },
    "stop": {"patience": 5},
    "epochs": 60,
    "trace": {
        "every": 5,
        "include": ["loss", "accuracy", "validation_loss", "validation_accuracy"],
    },
}
"""XOR on Adam with near-XOR validation points: stops after 8 epochs, the best after 3."""


def test_validation_in_the_table_summary_and_plot(tmp_path: Path) -> None:
    """The table shows validation loss and accuracy, the summary line the early stop, the plot
    their curves."""
    figure = tmp_path / "curves.svg"
    done = backprop("train", "--table", "--plot", str(figure), "-", stdin=json.dumps(EARLY_STOPPED))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "validation loss" in lines[1]
    assert "validation accuracy" in lines[1]
    rows = [line.split("│")[1:-1] for line in lines if line.startswith("│")]
    assert [cell.strip() for cell in rows[0]] == [
        "1", "0.85891332", "0.5", "0.7248056", "0.5",
    ]  # fmt: skip
    assert lines[-1].startswith("early_stopped: 8 epochs, final loss ")
    assert lines[-1].endswith("; lowest validation loss after epoch 3 (returned)")
    drawing = figure.read_text()
    assert "validation loss" in drawing
    assert "validation accuracy" in drawing


def test_printout_shows_the_validation_loss() -> None:
    """The notebook layout adds a line per epoch with the validation loss (null if not finite;
    the network sent gives 0.1 for the finite sample: ½·(0.1 − 0.5)² = 0.08)."""
    body = examples.TRAIN | {
        "epochs": 2,
        "validation": {
            "inputs": [[1.0, 0.5, -1.0], [1e300, 1e300, 1e300]],
            "targets": [[0.5], [0.0]],
        },
    }
    done = backprop("train", "-", stdin=json.dumps(body))
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stdout.splitlines() if "validation" in line] == [
        "验证集损失,validation_loss:null",
        "验证集损失,validation_loss:null",
    ]
    fine = body | {"validation": {"inputs": [1.0, 0.5, -1.0], "targets": [0.5]}}
    done = backprop("train", "-", stdin=json.dumps(fine))
    assert "验证集损失,validation_loss:[0.08]" in done.stdout.splitlines()


def test_plot_without_matplotlib_says_how_to_get_it(tmp_path: Path) -> None:
    broken = tmp_path / "matplotlib"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = os.environ | {"PYTHONPATH": str(tmp_path)}
    command = [sys.executable, "-m", "app.cli", "train", "--plot", "x.png", "examples/mazur.json"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [MISSING]


LONG = {
    **json.loads((EXAMPLES / "notebook.json").read_text()),
    "epochs": 300_000,
    "trace": {"every": 20_000, "include": ["loss"]},
}


def test_piped_output_has_no_progress_bar(server: str) -> None:
    done = backprop("train", "-", stdin=json.dumps(LONG), url=server)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines()[0] == "求损失函数结果,loss:[1.7766125]"


def test_a_terminal_gets_the_progress_bar(server: str, tmp_path: Path) -> None:
    request = tmp_path / "long.json"
    request.write_text(json.dumps(LONG))
    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "app.cli", "--url", server, "train", str(request)]
    process = subprocess.Popen(command, stdout=follower, stderr=follower, cwd=ROOT)
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert process.wait(timeout=30) == 0
    text = seen.decode(errors="replace")
    assert "training" in text
    assert "/300000" in text
    assert "loss 1.77661" in text
    assert "completed: 300000 epochs" in text


def test_serve_starts_the_server() -> None:
    port = free_port()
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert answer.status_code == 200
    finally:
        process.terminate()  # uvicorn shuts down, then re-raises SIGTERM
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)


def test_json_path_reads_like_the_request() -> None:
    assert json_path(("body", "network", "layers", 1, "weights")) == "network.layers[1].weights"
    assert json_path(("body",)) == "body"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"x1,x2,y\n0.3,0.5\n", "data.csv:2: the row has no cell for column 'y'"),
        ("x1,x2,y\n0.3,0.5,1\n0,1,é\n".encode("latin-1"), "data.csv:3: not UTF-8 text"),
    ],
)
def test_a_bad_csv_is_one_line_naming_file_and_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    table = tmp_path / "data.csv"
    table.write_bytes(content)
    args = ["--csv", str(table), "--target-columns", "y", "-"]
    done = backprop("loss", *args, stdin=json.dumps(examples.LOSS))
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith(f"{tmp_path}/{message}")


@pytest.mark.parametrize("name", ["loss.txt", "missing/loss.png"])
def test_a_bad_plot_path_fails_before_the_run(tmp_path: Path, name: str) -> None:
    """The long run never starts: the path is refused first."""
    done = backprop("train", "--plot", str(tmp_path / name), "-", stdin=json.dumps(LONG))
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith(f"--plot {tmp_path / name}: ")


def test_export_into_a_missing_directory_fails_before_the_request(tmp_path: Path) -> None:
    output = tmp_path / "missing" / "x.py"
    done = backprop("export", "-o", str(output), "examples/notebook.json")
    assert done.returncode == 1
    assert done.stderr == f"--output {output}: there is no directory {output.parent}\n"


def on_terminal(args: list[str], stdout: Any = None, stdin: Any = None) -> tuple[int, bytes]:
    """``backprop ARGS`` with stderr (and stdout, unless given) on a 40-column pseudo-terminal:
    its exit status and what the terminal received."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "BACKPROP_URL"} | {"COLUMNS": "40"}
    command = [sys.executable, "-m", "app.cli", *args]
    out = follower if stdout is None else stdout
    process = subprocess.Popen(command, stdin=stdin, stdout=out, stderr=follower, cwd=ROOT, env=env)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    return process.wait(timeout=60), seen


def test_the_printout_is_not_rewrapped_on_a_narrow_terminal() -> None:
    """Each epoch's five lines reach a 40-column terminal as the notebook printed them (the
    terminal turns each newline into CR LF), between redraws of the bar."""
    status, seen = on_terminal(["train", "examples/notebook.json"])
    assert status == 0
    text = seen.decode()
    blocks = [PRINTOUT[i : i + 5] for i in range(0, len(PRINTOUT) - 5, 5)]
    assert len(blocks) == 2
    for block in blocks:
        assert "\r\n".join(block) + "\r\n" in text
    assert "completed: 10 epochs, final loss 0.49979478\r\n" in text


def test_the_bar_shows_on_a_terminal_with_stdout_redirected(tmp_path: Path) -> None:
    saved = tmp_path / "out.txt"
    with saved.open("wb") as file:
        status, seen = on_terminal(["train", "examples/notebook.json"], stdout=file)
    assert status == 0
    assert "training" in seen.decode()
    lines = saved.read_text().splitlines()
    assert lines[: len(PRINTOUT) - 1] == PRINTOUT[:-1]
    assert lines[-1] == "completed: 10 epochs, final loss 0.49979478"


@pytest.mark.parametrize(
    ("command", "ignored"),
    [
        ("forward", "targets, loss, optimizer, epochs"),
        ("loss", "optimizer, epochs"),
        ("backward", "optimizer, epochs"),
        ("gradcheck", "optimizer, epochs"),
        ("explain", "epochs"),
    ],
)
def test_every_command_takes_the_notebook_example(command: str, ignored: str) -> None:
    done = backprop(command, "examples/notebook.json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        f"examples/notebook.json: {command} ignores {ignored} (not its request's fields)\n"
    )
    if command != "explain":
        assert json.loads(done.stdout)


ENDLESS_SETTINGS = {
    "BACKPROP_MAX_EPOCHS": str(10**12),
    "BACKPROP_MAX_WORK": str(10**18),
    "BACKPROP_MAX_STREAM_WORK": str(10**18),
}
"""Limits that admit a run no machine finishes: 10¹² epochs."""
ENDLESS = {
    **json.loads((EXAMPLES / "notebook.json").read_text()),
    "epochs": 10**12,
    "trace": {"every": 10**11, "include": ["loss"]},
}


def test_a_run_that_does_not_complete_exits_3() -> None:
    """A diverged run and a run stopped at its deadline (1 s for 10¹² epochs) exit with 3, after
    printing what they computed; a completed run exits with 0."""
    diverging = examples.TRAIN | {"optimizer": {"type": "sgd", "learning_rate": 1e150}}
    for args in (["train"], ["train", "--table"], ["train", "--json"]):
        done = backprop(*args, "-", stdin=json.dumps(diverging | {"epochs": 50}))
        assert done.returncode == 3, done.stderr
        assert "diverged" in done.stdout
    env = ENDLESS_SETTINGS | {"BACKPROP_DEADLINE_SECONDS": "1"}
    done = backprop("train", "--table", "-", stdin=json.dumps(ENDLESS), env=env)
    assert done.returncode == 3, done.stderr
    assert done.stdout.splitlines()[-1].startswith("deadline_exceeded: ")
    assert backprop("train", "examples/notebook.json").returncode == 0


def test_a_failed_check_exits_3() -> None:
    done = backprop("check", "--json", "examples/check_mistakes.json")
    assert done.returncode == 3, done.stderr
    assert json.loads(done.stdout)["all_correct"] is False
    at_a_kink = examples.GRADCHECK | {"inputs": [[0.1, 0.0, 0.0]], "targets": [[1.0]]}
    done = backprop("gradcheck", "-", stdin=json.dumps(at_a_kink))
    assert done.returncode == 3, done.stderr
    assert json.loads(done.stdout)["passed"] is False
    assert backprop("gradcheck", "-", stdin=json.dumps(examples.GRADCHECK)).returncode == 0


def test_check_prints_a_mark_per_value_and_the_score(url: str | None) -> None:
    """Rounded right values are ✓ and exit 0; a slip in a is ✗ (no usual mistake: the step's
    formula), what follows from it ↪ carried forward, the loss without its ½ ✗ with its mistake;
    exit 3."""
    right = {**examples.LOSS, "claimed": {"layers": [{"a": [0.1, 1.45]}], "loss": 1.77661}}
    done = backprop("check", "-", stdin=json.dumps(right), url=url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["✓ layers[0].a", "✓ loss", "score: 2/2 (100%)"]
    slip = {
        **examples.LOSS,
        "claimed": {
            "layers": [{"a": [0.2, 1.45]}],
            "outputs": [-0.855],
            "loss": 3.55322,
            "gradients": [{}, {"bias": [-1.855]}],
        },
    }
    done = backprop("check", "-", stdin=json.dumps(slip), url=url)
    assert done.returncode == 3, done.stderr
    assert done.stdout.splitlines() == [
        "✗ layers[0].a: a = relu(z) = max(0, z) of layer 1's z",
        "↪ outputs: carried forward from layers[0].a",
        "✗ loss: the ½ is missing: the loss is ½·Σ(y − t)² per sample, 1.777, not Σ(y − t)² = "
        "3.553 [missing_half]",
        "↪ gradients[1].bias: carried forward from layers[0].a",
        "score: 2/4 (50%); first wrong: layers[0].a",
    ]
    done = backprop("check", "--json", "-", stdin=json.dumps(slip), url=url)
    assert done.returncode == 3, done.stderr
    answer = CheckResponse.model_validate_json(done.stdout)
    assert [c.verdict for c in answer.checks] == [
        "wrong",
        "carried_forward",
        "wrong",
        "carried_forward",
    ]


def test_usage_errors_exit_2() -> None:
    done = backprop("train", "--no-such-option", "examples/notebook.json")
    assert done.returncode == 2
    assert "No such option" in done.stderr


def test_ctrl_c_prints_the_rows_received_and_exits_130(tmp_path: Path) -> None:
    """A server-side run of 10¹² epochs, interrupted once its first epoch has arrived (the bar,
    on a terminal, shows its loss): the table holds that epoch, the exit status is 130."""
    request = tmp_path / "endless.json"
    request.write_text(json.dumps(ENDLESS))
    with running_server(**ENDLESS_SETTINGS, BACKPROP_DEADLINE_SECONDS="3600") as (_, address):
        leader, follower = pty.openpty()
        command = [
            sys.executable, "-m", "app.cli", "--url", address, "train", "--table", str(request)
        ]  # fmt: skip
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=follower, cwd=ROOT, text=True
        )
        os.close(follower)
        seen = b""
        deadline = time.monotonic() + 120
        while b"loss 1.77661" not in seen and time.monotonic() < deadline:
            if select.select([leader], [], [], 1)[0]:
                seen += os.read(leader, 65536)
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=60)
        try:
            while os.read(leader, 65536):
                pass
        except OSError:
            pass
        os.close(leader)
    assert process.returncode == 130
    rows = [line.split("│")[1:3] for line in stdout.splitlines() if line.startswith("│")]
    assert [[cell.strip() for cell in row] for row in rows] == [["1", "1.7766125"]]


def test_ctrl_c_in_process_exits_130_at_once(tmp_path: Path) -> None:
    """In-process, a run of 10¹² epochs with an hour's deadline, interrupted once its bar shows:
    the command exits with 130 without waiting for the run."""
    request = tmp_path / "endless.json"
    request.write_text(json.dumps(ENDLESS))
    env = os.environ | ENDLESS_SETTINGS | {"BACKPROP_DEADLINE_SECONDS": "3600"}
    env.pop("BACKPROP_URL", None)
    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "app.cli", "train", "--table", str(request)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=follower, cwd=ROOT, env=env, text=True
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 120
    while b"training" not in seen and time.monotonic() < deadline:
        if select.select([leader], [], [], 1)[0]:
            seen += os.read(leader, 65536)
    process.send_signal(signal.SIGINT)
    try:
        process.communicate(timeout=60)
    finally:
        process.kill()
        os.close(leader)
    assert process.returncode == 130


@pytest.mark.parametrize("where", ["after", "after=", "between"])
def test_url_anywhere_on_the_line(server: str, where: str) -> None:
    args = {
        "after": ["forward", "-", "--url", server],
        "after=": ["forward", "-", f"--url={server}"],
        "between": ["forward", "--url", server, "-"],
    }[where]
    done = backprop(*args, stdin=json.dumps(examples.FORWARD))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"] == pytest.approx([-0.885])


def test_url_without_its_value_is_a_usage_error() -> None:
    done = backprop("forward", "-", "--url", stdin=json.dumps(examples.FORWARD))
    assert done.returncode == 2
    assert "Option '--url' requires an argument." in done.stderr


def test_nan_in_a_request_file_gets_the_servers_hint() -> None:
    done = backprop("forward", "-", stdin='{"inputs": [NaN]}')
    assert done.returncode == 1
    assert done.stderr.startswith("<stdin> is not JSON: ")
    assert done.stderr.endswith(
        "; NaN, Infinity and numbers beyond ±1.8e308 are not valid numbers here\n"
    )


def test_a_missing_file_exits_1(tmp_path: Path) -> None:
    done = backprop("forward", str(tmp_path / "missing.json"))
    assert done.returncode == 1
    assert (
        done.stderr == f"{tmp_path / 'missing.json'}: cannot be read (No such file or directory)\n"
    )
    args = ["loss", "--csv", str(tmp_path / "x.csv"), "--target-columns", "y", "-"]
    done = backprop(*args, stdin=json.dumps(examples.LOSS))
    assert done.returncode == 1
    assert done.stderr == f"{tmp_path / 'x.csv'}: cannot be read (No such file or directory)\n"


def test_csv_with_a_bom_and_spaces_after_commas_reads_as_plain(tmp_path: Path) -> None:
    plain, fancy = tmp_path / "plain.csv", tmp_path / "fancy.csv"
    plain.write_text("x1,x2,x3,y\n-1,2,1.5,1\n")
    fancy.write_bytes("\ufeffx1, x2, x3, y\n-1, 2, 1.5, 1\n".encode())
    request = json.dumps({"network": examples.NOTEBOOK_NETWORK})
    answers = [
        backprop("loss", "--csv", str(table), "--target-columns", "y", "-", stdin=request)
        for table in (plain, fancy)
    ]
    assert [a.returncode for a in answers] == [0, 0], answers[1].stderr
    assert json.loads(answers[1].stdout) == json.loads(answers[0].stdout)
    assert json.loads(answers[0].stdout)["loss"] == pytest.approx(1.7766125)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("-1,2,1.5,1,7", "data.csv:2: the row has 5 cells, the header names 4 columns"),
        ("-1,nan,1.5,1", "data.csv:2: column 'x2' holds 'nan', not a finite number"),
    ],
)
def test_csv_extra_cell_and_nan_are_refused(tmp_path: Path, row: str, message: str) -> None:
    table = tmp_path / "data.csv"
    table.write_text(f"x1,x2,x3,y\n{row}\n")
    request = json.dumps({"network": examples.NOTEBOOK_NETWORK})
    done = backprop("loss", "--csv", str(table), "--target-columns", "y", "-", stdin=request)
    assert done.returncode == 1
    assert done.stderr == f"{tmp_path}/{message}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["loss", "--csv", "x.csv", "-"], "--csv needs --target-columns"),
        (["loss", "--target-columns", "y", "-"], "--target-columns needs --csv"),
        (["train", "--json", "--table", "-"], "--table and --json ask for different outputs"),
        (["explain", "--markdown", "--json", "-"], "--markdown and --json ask for different"),
    ],
)
def test_conflicting_or_incomplete_options_are_usage_errors(args: list[str], message: str) -> None:
    done = backprop(*args, stdin=json.dumps(examples.LOSS))
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_version_and_the_url_variable_in_help() -> None:
    done = backprop("--version")
    assert done.returncode == 0
    assert done.stdout == "backprop, version 0.1.0\n"
    helped = backprop("--help").stdout
    assert "[env var: BACKPROP_URL]" in helped
    assert "130 interrupted" in " ".join(helped.split())


def test_log_scale_plots_the_loss_on_a_log_axis(tmp_path: Path) -> None:
    figures = {scale: tmp_path / f"{scale}.svg" for scale in ("linear", "log")}
    for scale, figure in figures.items():
        extra = ["--log-scale"] if scale == "log" else []
        done = backprop("train", "--plot", str(figure), *extra, "examples/notebook.json")
        assert done.returncode == 0, done.stderr
    assert "10^{-1}" in figures["log"].read_text()
    assert "10^{" not in figures["linear"].read_text()
    done = backprop("train", "--log-scale", "examples/notebook.json")
    assert done.returncode == 2
    assert "--log-scale needs --plot" in done.stderr
