"""``backprop`` whose reader goes away (``| head -1``), and ``check`` given a training file: in a
subprocess, as a user runs it."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from app import examples
from tests.cli.test_cli import ROOT, backprop

NOTEBOOK = json.loads((ROOT / "examples" / "notebook.json").read_text())


def test_a_closed_pipe_ends_the_command_quietly_by_sigpipe() -> None:
    """``backprop train … | head -1``: the command dies of SIGPIPE as git, gh and kubectl do (a
    shell reports status 141), with nothing on stderr. Its reader closes the pipe before the
    first line is written, so every write fails."""
    body = NOTEBOOK | {"epochs": 200}
    read, write = os.pipe()
    os.close(read)
    env = {k: v for k, v in os.environ.items() if k != "BACKPROP_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "train", "-"],
        input=json.dumps(body).encode(),
        stdout=write,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    os.close(write)
    assert done.returncode == -signal.SIGPIPE
    assert done.stderr == b""


def test_head_of_a_pipeline_gets_its_line_and_the_shell_status_141() -> None:
    done = subprocess.run(
        [
            "bash",
            "-c",
            f"'{sys.executable}' -m app.cli train examples/notebook.json | head -1; "
            'echo "${PIPESTATUS[0]}"',
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "BACKPROP_URL"},
        timeout=120,
    )
    first, status = done.stdout.splitlines()
    assert first.startswith("隐藏节点输出:[0.1  1.45]")
    assert status in {"0", "141"}  # 0 when the whole printout fitted in the pipe's buffer
    assert done.stderr == ""


def test_check_takes_a_training_files_learning_rate(tmp_path: Path) -> None:
    """The notebook's file trains at 0.5 here: the updated weights its run returns are right for
    ``check`` only at that rate (the default, 0.01, calls them wrong)."""
    body = NOTEBOOK | {"optimizer": {"type": "sgd", "learning_rate": 0.5}, "epochs": 1}
    trained = backprop("train", "--json", "-", stdin=json.dumps(body))
    assert trained.returncode == 0, trained.stderr
    network = json.loads(trained.stdout)["network"]
    request = tmp_path / "claimed.json"
    request.write_text(json.dumps(body | {"claimed": {"network": network}}))
    done = backprop("check", "--json", str(request))
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["all_correct"] is True
    assert done.stderr == f"{request}: check ignores epochs (not its request's fields)\n"


def test_check_names_an_optimizer_whose_step_is_not_plain_sgd() -> None:
    """Adam's default rate (0.001) is taken, and said to differ from the run's step; the claimed
    network, right at 0.01, is then wrong."""
    body = {k: v for k, v in examples.CHECK.items() if k != "learning_rate"}
    done = backprop("check", "-", stdin=json.dumps(body | {"optimizer": {"type": "adam"}}))
    assert done.returncode == 3, done.stderr
    assert done.stderr.splitlines()[0] == (
        "<stdin>: check grades a plain SGD step at the optimizer's learning_rate 0.001; the "
        "run's first step differs (type adam)"
    )


def test_a_learning_rate_of_its_own_wins_over_the_optimizers() -> None:
    body = examples.CHECK | {"optimizer": {"type": "sgd", "learning_rate": 0.5}}
    done = backprop("check", "--json", "-", stdin=json.dumps(body))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["all_correct"] is True
