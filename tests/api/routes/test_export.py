"""/export: the generated PyTorch and NumPy scripts, run, reproduce /train to 1e-9 (the trace's
losses and validation, how the run ended, the network); the state_dict
loads into the script's model; no string of a request reaches the code; the 422s.

The scripts of all cases run in one subprocess per format (see tests/export_runner.py), so that
torch is imported once.
"""

import copy
import json
import math
import os
import runpy
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import examples
from app.schemas.base import StrictModel
from app.schemas.export import DATA_KEYS, REPRODUCED, ExportResponse, TrainExport, unreproduced
from app.schemas.training import StopRule

RUNNER = Path(__file__).parents[2] / "export_runner.py"
PYPROJECT = Path(__file__).parents[3] / "pyproject.toml"
RUFF = Path(sys.executable).parent / "ruff"
TOLERANCE = 1e-9
"""Each loss and parameter is within TOLERANCE · max(1, |/train's value|) of /train's."""


def _layer(units: int, inputs: int, activation: str, rng: np.random.Generator) -> dict[str, Any]:
    return {
        "weights": rng.uniform(-0.8, 0.8, (units, inputs)).tolist(),
        "bias": rng.uniform(-0.2, 0.2, units).tolist(),
        "activation": activation,
    }


def _network(activations: list[str], sizes: list[int], seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    layers = [
        _layer(units, inputs, name, rng)
        for name, inputs, units in zip(activations, sizes, sizes[1:], strict=False)
    ]
    return {"layers": layers}


def _data(samples: int, inputs: int, outputs: int, kind: str, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(samples, inputs))
    if kind == "one_hot":
        t = np.eye(outputs)[rng.integers(0, outputs, samples)]
    elif kind == "binary":
        t = rng.integers(0, 2, (samples, outputs)).astype(float)
    else:
        t = rng.normal(size=(samples, outputs))
    return {"inputs": x.tolist(), "targets": t.tolist()}


CASES: dict[str, dict[str, Any]] = {
    "notebook_sgd": copy.deepcopy(examples.TRAIN),
    "sgd_momentum_dampening_mse_batches": {
        "network": _network(["tanh", "sigmoid"], [3, 4, 2], 1),
        **_data(10, 3, 2, "real", 2),
        "loss": "mean_squared_error",
        "optimizer": {"type": "sgd", "learning_rate": 0.05, "momentum": 0.8, "dampening": 0.3},
        "epochs": 12,
        "batch_size": 4,
    },
    "sgd_nesterov_weight_decay": {
        "network": _network(["leaky_relu", "relu", "identity"], [2, 5, 3, 1], 3),
        **_data(7, 2, 1, "real", 4),
        "optimizer": {
            "type": "sgd",
            "learning_rate": 0.02,
            "momentum": 0.9,
            "nesterov": True,
            "weight_decay": 0.01,
        },
        "epochs": 15,
        "batch_size": 3,
    },
    "adam_bce_batches": {
        "network": _network(["relu", "sigmoid"], [3, 4, 2], 5),
        **_data(9, 3, 2, "binary", 6),
        "loss": "binary_cross_entropy",
        "optimizer": {"type": "adam", "learning_rate": 0.01, "betas": [0.8, 0.99]},
        "epochs": 20,
        "batch_size": 4,
    },
    "adamw_amsgrad_cross_entropy_shuffle_stop_every": {
        **copy.deepcopy(examples.CLASSIFY),
        "optimizer": {"type": "adamw", "learning_rate": 0.1, "amsgrad": True},
        "trace": {"every": 7, "include": ["loss"]},
    },
    "adam_weight_decay_cross_entropy": {
        "network": _network(["sigmoid", "softmax"], [2, 3, 3], 7),
        **_data(6, 2, 3, "one_hot", 8),
        "loss": "cross_entropy",
        "optimizer": {"type": "adam", "learning_rate": 0.02, "weight_decay": 0.001, "eps": 1e-6},
        "epochs": 10,
    },
    "l1_relu_sgd_momentum_batches": {
        "network": _network(["relu", "identity"], [3, 5, 2], 13),
        **_data(9, 3, 2, "real", 14),
        "optimizer": {"type": "sgd", "learning_rate": 0.05, "momentum": 0.5},
        "regularization": {"type": "l1", "rate": 0.03},
        "epochs": 15,
        "batch_size": 4,
    },
    "l2_adam_cross_entropy_stop": {
        **copy.deepcopy(examples.CLASSIFY),
        "regularization": {"type": "l2", "rate": 0.01},
        "trace": {"every": 7, "include": ["loss"]},
    },
    "sgd_momentum_cross_entropy_shuffled_batches_of_one": {
        "network": _network(["tanh", "softmax"], [2, 4, 3], 13),
        **_data(6, 2, 3, "one_hot", 14),
        "loss": "cross_entropy",
        "optimizer": {"type": "sgd", "learning_rate": 0.1, "momentum": 0.9},
        "epochs": 5,
        "batch_size": 1,
        "shuffle": True,
        "seed": 2,
    },
}
"""Every loss, every activation, SGD (momentum, dampening, Nesterov, weight decay), Adam (betas,
eps, weight decay), AdamW with AMSGrad, mini-batches in order and shuffled, stop.loss_below,
trace.every, L1 and L2 regularization, shuffled batches of one."""

RESUMED: dict[str, dict[str, Any]] = {
    "resumed_sgd_momentum_shuffle": {
        "network": _network(["tanh", "identity"], [3, 4, 1], 9),
        **_data(8, 3, 1, "real", 10),
        "optimizer": {"type": "sgd", "learning_rate": 0.05, "momentum": 0.9},
        "epochs": 6,
        "batch_size": 3,
        "shuffle": True,
        "seed": 4,
    },
    "resumed_adam_amsgrad": {
        "network": _network(["relu", "identity"], [3, 4, 2], 11),
        **_data(5, 3, 2, "real", 12),
        "optimizer": {"type": "adam", "learning_rate": 0.01, "amsgrad": True},
        "epochs": 6,
        "batch_size": 2,
    },
}
"""Runs resumed from the optimizer_state of a first /train run of the same settings."""

ONE_HOT_VALIDATION = {
    "inputs": [[0.1, 0.1], [0.2, 0.9], [0.8, 0.1], [0.9, 0.8], [0.5, 0.5]],
    "targets": [[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]],
}
VALIDATED: dict[str, dict[str, Any]] = {
    "early_stopping_mse": copy.deepcopy(examples.EARLY_STOPPING),
    "patience_runs_out_at_the_last_epoch": copy.deepcopy(examples.EARLY_STOPPING) | {"epochs": 75},
    "loss_below_met_as_patience_runs_out": copy.deepcopy(examples.EARLY_STOPPING)
    | {"stop": {"patience": 50, "loss_below": 0.03233}},  # met after epoch 75 (0.03225)
    "cross_entropy_accuracy_shuffled_batches_patience": copy.deepcopy(examples.CLASSIFY)
    | {"validation": ONE_HOT_VALIDATION, "stop": {"loss_below": 0.05, "patience": 30}},
    "cross_entropy_soft_targets": copy.deepcopy(CASES["adam_weight_decay_cross_entropy"])
    | {"validation": {"inputs": [[0.3, -0.2], [1.0, 0.5]], "targets": [[0.2, 0.5, 0.3]] * 2}},
    "bce_validation_loss_below_batches": copy.deepcopy(CASES["adam_bce_batches"])
    | {
        "validation": _data(5, 3, 2, "binary", 14),
        "epochs": 200,
        "stop": {"validation_loss_below": 0.716},
        "trace": {"every": 9},
    },
    "validation_loss_below_at_the_start": copy.deepcopy(CASES["sgd_momentum_dampening_mse_batches"])
    | {"validation": _data(4, 3, 2, "real", 15), "stop": {"validation_loss_below": 100.0}},
    "validation_not_finite_sgd_momentum": copy.deepcopy(examples.TRAIN)
    | {
        "validation": {"inputs": [1e308, -1e308, 1e308], "targets": [0.0]},  # one sample
        "optimizer": {"type": "sgd", "learning_rate": 0.01, "momentum": 0.9},
        "stop": {"patience": 4},
    },
}
"""Validation data: early stopping on a planted overfit (also when patience runs out at the last
epoch, and when loss_below is met on the epoch patience runs out: target_reached wins),
validation_accuracy with shuffled mini-batches, soft targets (accuracy null),
validation_loss_below during the run and before the first epoch, and a validation loss of one
sample that overflows (null, never an improvement: the network sent is returned)."""
ENDINGS = {
    "early_stopping_mse": ("early_stopped", 75, 25),
    "patience_runs_out_at_the_last_epoch": ("early_stopped", 75, 25),
    "loss_below_met_as_patience_runs_out": ("target_reached", 75, 25),
    "cross_entropy_accuracy_shuffled_batches_patience": ("early_stopped", 35, 5),
    "cross_entropy_soft_targets": ("completed", 10, None),
    "bce_validation_loss_below_batches": ("target_reached", 5, None),
    "validation_loss_below_at_the_start": ("target_reached", 0, None),
    "validation_not_finite_sgd_momentum": ("early_stopped", 4, 0),
}
"""How /train ends each validated case (status, epochs_run, best_epoch): what each plants."""


HUGE_STEPS = {
    "network": {"layers": [{"weights": [[0.5, -0.3]], "bias": [0.1], "activation": "identity"}]},
    "inputs": [[1e20, 1.0], [-1e20, 2.0], [5e19, -1.0]],
    "targets": [[1.0], [0.0], [2.0]],
}
"""A linear unit on inputs so large that Adam's g² overflows after a step of 1e125 while its
update stays finite."""
DIVERGING: dict[str, dict[str, Any]] = {
    "diverging_notebook_sgd": copy.deepcopy(examples.TRAIN)
    | {"optimizer": {"type": "sgd", "learning_rate": 1e6}, "epochs": 50},
    "diverging_notebook_sgd_every": copy.deepcopy(examples.TRAIN)
    | {"optimizer": {"type": "sgd", "learning_rate": 1e6}, "epochs": 50, "trace": {"every": 5}},
    "diverging_parameter": copy.deepcopy(examples.TRAIN)
    | {"optimizer": {"type": "sgd", "learning_rate": 1e50}},
    "diverging_at_the_first_epoch_adam": copy.deepcopy(examples.TRAIN)
    | {"optimizer": {"type": "adam", "learning_rate": 1e150}},
    "diverging_sgd_nesterov_batches_every": copy.deepcopy(CASES["sgd_nesterov_weight_decay"])
    | {
        "optimizer": CASES["sgd_nesterov_weight_decay"]["optimizer"] | {"learning_rate": 2.0},
        "epochs": 200,
        "trace": {"every": 3},
    },
    "diverging_sgd_momentum_shuffled_batches": copy.deepcopy(CASES["sgd_nesterov_weight_decay"])
    | {
        "optimizer": {"type": "sgd", "learning_rate": 2.0, "momentum": 0.5, "dampening": 0.1},
        "epochs": 200,
        "shuffle": True,
        "seed": 3,
    },
    "diverging_adam_state": {
        **HUGE_STEPS,
        "optimizer": {"type": "adam", "learning_rate": 1e125},
        "epochs": 40,
    },
    "diverging_adamw_amsgrad_state_batches": {
        **HUGE_STEPS,
        "optimizer": {"type": "adamw", "learning_rate": 1e125, "amsgrad": True},
        "epochs": 40,
        "batch_size": 2,
    },
    "diverging_validation_patience_every": copy.deepcopy(examples.EARLY_STOPPING)
    | {"optimizer": {"type": "sgd", "learning_rate": 1e10}},
}
"""Runs that diverge: the loss overflows (recorded every epoch, or every 5th so that the last
finite epoch's record is added), an updated parameter, at the first epoch (nothing recorded),
mini-batches with momentum where a batch after the first overflows, Adam's state (g²) overflowing
while its update stays finite, full batch and in the second batch of the first epoch, and
validation with patience (every 25th epoch recorded): the last finite network is returned, not
the best one."""
DIVERGENCES = {
    "diverging_notebook_sgd": (24, 25, "the loss"),
    "diverging_notebook_sgd_every": (24, 25, "the loss"),
    "diverging_parameter": (2, 3, "an updated parameter"),
    "diverging_at_the_first_epoch_adam": (0, 1, "the loss"),
    "diverging_sgd_nesterov_batches_every": (8, 9, "layer 1's z"),
    "diverging_sgd_momentum_shuffled_batches": (3, 4, "the loss"),
    "diverging_adam_state": (1, 2, "the optimizer state"),
    "diverging_adamw_amsgrad_state_batches": (0, 1, "the optimizer state"),
    "diverging_validation_patience_every": (13, 14, "the loss"),
}
"""How /train ends each diverging case: epochs_run, diverged_at_epoch and what overflowed."""


def _post(client: TestClient, path: str, body: dict[str, Any], status: int = 200) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    return response.json()


def _resumed(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` continued from where a first /train run of it stopped."""
    first = _post(client, "/train", body)
    return body | {"network": first["network"], "optimizer_state": first["optimizer_state"]}


SUMMARY = ("status", "epochs_run", "final_loss")
CLASSIFICATION = ("binary_cross_entropy", "cross_entropy")


def _expected(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    """What the scripts must print: /train's recorded losses (and validation), the fields of
    its summary that a script prints (in /train's answer, ``summary``) and its network."""
    validated = "validation" in body
    fields = ["loss"]
    summary = list(SUMMARY)
    if validated:
        fields.append("validation_loss")
        summary.append("final_validation_loss")
        if body.get("loss") in CLASSIFICATION:
            fields.append("validation_accuracy")
            summary.append("final_validation_accuracy")
        if body.get("stop", {}).get("patience") is not None:
            summary.append("best_epoch")
    trace = body.get("trace", {}) | {"include": fields}
    train = {key: value for key, value in body.items() if key not in ("format", "include_data")}
    answer = _post(client, "/train", train | {"trace": trace})
    if answer["status"] == "diverged":
        summary.append("diverged_at_epoch")
    ended = {key: answer[key] for key in summary}
    return {"epochs": answer["trace"], "summary": ended, "network": answer["network"]}


def _write(client: TestClient, body: dict[str, Any], fmt: str, folder: Path) -> Path:
    """The exported script of ``body``, saved in ``folder`` (with data.json if not embedded)."""
    folder.mkdir(parents=True, exist_ok=True)
    answer = _post(client, "/export", body | {"format": fmt})
    path = folder / answer["filename"]
    path.write_text(answer["content"])
    if body.get("include_data") is False:
        data = {key: body[key] for key in DATA_KEYS if key in body}
        (folder / "data.json").write_text(json.dumps(data))
    return path


def _run(jobs: list[dict[str, Any]]) -> list[str]:
    """Each job's stdout, all run by the runner in one subprocess."""
    done = subprocess.run(
        [sys.executable, str(RUNNER)],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    outputs: list[str] = json.loads(done.stdout)
    return outputs


def _numbers(got: dict[str, Any], want: dict[str, Any]) -> list[tuple[float, float]]:
    """The pairs of numbers of two lines with the same keys, where a null (a value that is not
    finite, or an undefined accuracy) must be null in both; other values must be equal."""
    assert list(got) == list(want), (got, want)
    pairs = []
    for key, value in want.items():
        if isinstance(value, float) and isinstance(got[key], float):
            pairs.append((got[key], value))
        else:
            assert got[key] == value, (key, got, want)
    return pairs


def _refuse(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def _difference(printed: str, expected: dict[str, Any]) -> float:
    """The largest scaled difference between a script's lines (strict JSON: no NaN or Infinity)
    and /train's numbers."""
    lines = [json.loads(line, parse_constant=_refuse) for line in printed.splitlines()]
    epochs, summary, network = lines[:-2], lines[-2], lines[-1]
    pairs = _numbers(summary, expected["summary"])
    assert len(epochs) == len(expected["epochs"])
    for line, entry in zip(epochs, expected["epochs"], strict=True):
        pairs += _numbers(line, entry)
    for got, want in zip(network["layers"], expected["network"]["layers"], strict=True):
        assert got["activation"] == want["activation"]
        for key in ("weights", "bias"):
            pairs += zip(np.ravel(got[key]), np.ravel(want[key]), strict=True)
    return max(abs(got - want) / max(1.0, abs(want)) for got, want in pairs)


@pytest.fixture(scope="module")
def module_client() -> TestClient:
    from app.main import create_app

    return TestClient(create_app())


@pytest.mark.parametrize("fmt", ["pytorch", "numpy"])
def test_scripts_reproduce_train(module_client: TestClient, fmt: str, tmp_path: Path) -> None:
    """Every case's script prints /train's recorded losses (and validation), how its run ended
    and its network to 1e-9, and passes ruff check and ruff format --check with the project's
    settings."""
    client = module_client
    bodies = CASES | {name: _resumed(client, body) for name, body in RESUMED.items()} | VALIDATED
    bodies |= DIVERGING
    bodies["data_file"] = copy.deepcopy(CASES["adam_bce_batches"]) | {"include_data": False}
    bodies["data_file_shuffled"] = copy.deepcopy(RESUMED["resumed_sgd_momentum_shuffle"]) | {
        "include_data": False
    }
    bodies["stop_at_the_start"] = copy.deepcopy(examples.TRAIN) | {"stop": {"loss_below": 2.0}}
    bodies["validation_data_file"] = copy.deepcopy(
        VALIDATED["cross_entropy_accuracy_shuffled_batches_patience"]
    ) | {"include_data": False}
    bodies["one_sample_validation_data_file"] = copy.deepcopy(
        VALIDATED["validation_not_finite_sgd_momentum"]
    ) | {"include_data": False}
    paths = {name: _write(client, body, fmt, tmp_path / name) for name, body in bodies.items()}
    outputs = _run([{"script": str(path)} for path in paths.values()])
    differences = {
        name: _difference(printed, _expected(client, bodies[name]))
        for name, printed in zip(paths, outputs, strict=True)
    }
    assert max(differences.values()) <= TOLERANCE, differences
    files = [str(path) for path in paths.values()]
    config = ["--config", str(PYPROJECT), "--no-cache"]
    subprocess.run([str(RUFF), "check", *config, *files], check=True, capture_output=True)
    subprocess.run([str(RUFF), "format", "--check", *config, *files], check=True)


def _mypy_config(numpy_modules: list[str]) -> str:
    """The project's [tool.mypy] settings (strict) as a mypy config for exported scripts: without
    its plugin and packages (the app's), torch's unannotated functions (Tensor.backward,
    torch.atleast_2d) callable from typed code, and the NumPy scripts, which the notebook's
    style leaves unannotated, allowed their unannotated functions, whose bodies are still
    checked."""
    settings = tomllib.loads(PYPROJECT.read_text())["tool"]["mypy"]
    lines = ["[mypy]"]
    for key, value in settings.items():
        if key not in ("plugins", "packages"):
            lines.append(f"{key} = {', '.join(value) if isinstance(value, list) else value}")
    lines += [
        "untyped_calls_exclude = torch",
        f"[mypy-{','.join(numpy_modules)}]",
        "disallow_untyped_defs = False",
        "disallow_incomplete_defs = False",
        "disallow_untyped_calls = False",
        "check_untyped_defs = True",
    ]
    return "\n".join(lines) + "\n"


def test_scripts_pass_ruff_and_mypy(module_client: TestClient, tmp_path: Path) -> None:
    """The scripts of each kind, PyTorch and NumPy, pass ruff check, ruff format --check and
    mypy with the project's settings (one mypy run over all of them): with and without
    validation data, network-only (with and without a loss and optimizer), resumed Adam and SGD
    state (momentum buffers), both cross-entropies and the squared errors, mini-batches in order
    and shuffled, data embedded and read from a file."""
    client = module_client
    network = copy.deepcopy(examples.TRAIN["network"])
    bodies = {
        "plain": copy.deepcopy(examples.TRAIN),
        "validated_mse": copy.deepcopy(VALIDATED["early_stopping_mse"]),
        "validated_cross_entropy_shuffled": copy.deepcopy(
            VALIDATED["cross_entropy_accuracy_shuffled_batches_patience"]
        ),
        "validated_bce_data_file": copy.deepcopy(VALIDATED["bce_validation_loss_below_batches"])
        | {"include_data": False},
        "network_only": {"network": network},
        "network_only_loss_adam": {
            "network": network,
            "loss": "half_squared_error",
            "optimizer": {"type": "adam", "learning_rate": 0.1},
        },
        "resumed_adam_amsgrad": _resumed(client, RESUMED["resumed_adam_amsgrad"]),
        "resumed_sgd_momentum_shuffled_data_file": _resumed(
            client, RESUMED["resumed_sgd_momentum_shuffle"]
        )
        | {"include_data": False},
        "softmax_cross_entropy_shuffled": copy.deepcopy(
            CASES["adamw_amsgrad_cross_entropy_shuffle_stop_every"]
        ),
        "bce_batches": copy.deepcopy(CASES["adam_bce_batches"]),
        "sgd_nesterov": copy.deepcopy(CASES["sgd_nesterov_weight_decay"]),
        "mse_momentum_batches": copy.deepcopy(CASES["sgd_momentum_dampening_mse_batches"]),
    }
    files = []
    for name, body in bodies.items():
        for fmt in ("pytorch", "numpy"):
            path = tmp_path / f"{fmt}_{name}.py"  # a module name of its own for mypy
            path.write_text(_post(client, "/export", body | {"format": fmt})["content"])
            files.append(str(path))
    config = tmp_path / "mypy.ini"
    config.write_text(_mypy_config([f"numpy_{name}" for name in bodies]))
    ruff = ["--config", str(PYPROJECT), "--no-cache"]
    subprocess.run([str(RUFF), "check", *ruff, *files], check=True, capture_output=True)
    subprocess.run([str(RUFF), "format", "--check", *ruff, *files], check=True)
    mypy = ["--config-file", str(config), "--cache-dir", os.devnull, "--no-error-summary"]
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", *mypy, *files], capture_output=True, text=True, timeout=300
    )
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


def test_validated_cases_plant_what_they_say(module_client: TestClient) -> None:
    """/train ends each validated case as its name says, so the scripts are compared with it on
    early stopping, targets and ties, not only on completed runs."""
    for name, body in VALIDATED.items():
        answer = _post(module_client, "/train", body | {"trace": {"include": ["loss"]}})
        assert (answer["status"], answer["epochs_run"], answer["best_epoch"]) == ENDINGS[name]


def test_diverging_cases_plant_what_they_say(module_client: TestClient) -> None:
    """/train diverges on each diverging case where and as its name says, so the scripts are
    compared with it on every way a run diverges."""
    for name, body in DIVERGING.items():
        answer = _post(module_client, "/train", body | {"trace": {"include": ["loss"]}})
        epochs_run, at, what = DIVERGENCES[name]
        assert (answer["status"], answer["epochs_run"], answer["diverged_at_epoch"]) == (
            "diverged",
            epochs_run,
            at,
        ), name
        assert f"after its update {what} is not finite" in answer["divergence"], name
        recorded = [entry["epoch"] for entry in answer["trace"]]
        assert recorded[-1:] == ([epochs_run] if epochs_run else []), name
    patience = _post(module_client, "/train", DIVERGING["diverging_validation_patience_every"])
    assert patience["best_epoch"] == 0
    assert patience["network"] != examples.EARLY_STOPPING["network"]  # the last finite one


def test_lines_print_null_for_numbers_that_are_not_finite(
    module_client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The scripts print an epoch's or the end's number that is not finite as null, as /train
    answers it (a mean of finite batch losses can overflow): both define show() alike."""
    body = copy.deepcopy(examples.TRAIN)
    script = _write(module_client, body, "numpy", tmp_path)
    show = runpy.run_path(str(script), run_name="exported")["show"]
    capsys.readouterr()  # the requests' log lines
    show({"epoch": 3, "loss": math.inf, "validation_loss": -math.inf, "accuracy": math.nan})
    printed = capsys.readouterr().out
    assert json.loads(printed, parse_constant=_refuse) == {
        "epoch": 3,
        "loss": None,
        "validation_loss": None,
        "accuracy": None,
    }
    numpy_code = _post(module_client, "/export", body | {"format": "numpy"})["content"]
    torch_code = _post(module_client, "/export", body | {"format": "pytorch"})["content"]
    definition = numpy_code[numpy_code.index("def show(") : numpy_code.index("def main(")]
    assert definition.replace("(line)", "(line: dict[str, Any]) -> None") in torch_code


def test_data_file_named_on_the_command_line(module_client: TestClient, tmp_path: Path) -> None:
    """A script without embedded data reads the file given as its first argument, run directly."""
    body = copy.deepcopy(examples.TRAIN) | {"include_data": False, "epochs": 3}
    script = _write(module_client, body, "numpy", tmp_path)
    (tmp_path / "data.json").unlink()
    other = tmp_path / "mine.json"
    other.write_text(json.dumps({"inputs": body["inputs"], "targets": body["targets"]}))
    printed = subprocess.run(
        [sys.executable, str(script), str(other)], capture_output=True, text=True, check=True
    ).stdout
    assert _difference(printed, _expected(module_client, body)) <= TOLERANCE


NETWORK_ONLY = _network(["leaky_relu", "tanh", "softmax"], [3, 5, 4, 2], 13)
SHUFFLED_FROM_FILE = copy.deepcopy(RESUMED["resumed_sgd_momentum_shuffle"]) | {
    "include_data": False
}


@pytest.fixture(scope="module")
def single_runs(module_client: TestClient, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The outputs of the checks below, run in one subprocess (torch is imported once): the
    network-only scripts, the first loading the json export; a shuffled PyTorch script whose
    data file has 5 of its 8 samples."""
    folder = tmp_path_factory.mktemp("single")
    body = {"network": NETWORK_ONLY, "loss": "cross_entropy", "optimizer": {"type": "adamw"}}
    state = _post(module_client, "/export", {"network": NETWORK_ONLY, "format": "json"})
    (folder / "state_dict.json").write_text(state["content"])
    shuffled = _write(module_client, SHUFFLED_FROM_FILE, "pytorch", folder / "shuffled")
    fewer = {key: SHUFFLED_FROM_FILE[key][:5] for key in ("inputs", "targets")}
    (folder / "shuffled" / "data.json").write_text(json.dumps(fewer))
    jobs = [
        {
            "script": str(_write(module_client, body, "pytorch", folder / "torch")),
            "state_dict": str(folder / "state_dict.json"),
        },
        {"script": str(_write(module_client, body, "numpy", folder / "numpy"))},
        {"script": str(shuffled)},
    ]
    return _run(jobs)


def test_network_only_and_state_dict(module_client: TestClient, single_runs: list[str]) -> None:
    """network + format alone: the scripts print the network; the json export is the state_dict
    that the PyTorch script's model loads (names and shapes), and loading it changes nothing."""
    state = _post(module_client, "/export", {"network": NETWORK_ONLY, "format": "json"})
    assert state["filename"] == "state_dict.json"
    saved = json.loads(state["content"])
    assert list(saved) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert saved["2.weight"] == NETWORK_ONLY["layers"][1]["weights"]
    for printed in single_runs[:2]:
        assert json.loads(printed) == NETWORK_ONLY


def test_shuffled_orders_need_data_of_their_size(single_runs: list[str]) -> None:
    """The PyTorch script holds the orders of the request's samples: a data file with another
    number of samples stops it with a message instead of a wrong run."""
    assert single_runs[2] == "exit: the orders are of 8 samples, the data has 5"


HOSTILE = [
    '"""; import os; os.system(\'touch /tmp/pwned\') #',
    "relu\nimport os",
    "relu'); __import__('os').system('x'); ('",
    "\uff52\uff45\uff4c\uff55",  # fullwidth look-alikes of relu
    "relu\u202e",
]
STRING_FIELDS: list[tuple[str | int, ...]] = [
    ("format",),
    ("loss",),
    ("network", "layers", 0, "activation"),
    ("optimizer", "type"),
    ("optimizer_state", "type"),
    ("trace", "include", 0),
]
"""Every place a request takes a string."""


def _set(body: dict[str, Any], loc: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    target: Any = body
    for key in loc[:-1]:
        target = target[key]
    target[loc[-1]] = value
    return body


@pytest.mark.parametrize("loc", STRING_FIELDS, ids=[".".join(map(str, s)) for s in STRING_FIELDS])
def test_hostile_strings_are_refused(module_client: TestClient, loc: tuple[str | int, ...]) -> None:
    """A string field holding code, a newline or look-alike Unicode is a 422 naming the field,
    and no script is written."""
    base = copy.deepcopy(examples.TRAIN) | {
        "format": "pytorch",
        "optimizer_state": {"type": "sgd", "step": 0},
        "trace": {"include": ["loss"]},
    }
    for hostile in HOSTILE:
        detail = _post(module_client, "/export", _set(base, loc, hostile), 422)["detail"]
        assert any(tuple(item["loc"][1:]) == loc for item in detail), detail
        assert "content" not in json.dumps(detail)


def test_hostile_keys_are_refused(module_client: TestClient) -> None:
    """An unknown field, whatever its name, is a 422 naming it."""
    for hostile in HOSTILE:
        body = copy.deepcopy(examples.TRAIN) | {"format": "numpy", hostile: 1}
        detail = _post(module_client, "/export", body, 422)["detail"]
        assert [item["loc"][1:] for item in detail] == [[hostile]]


def test_scripts_hold_only_numbers_and_fixed_names(module_client: TestClient) -> None:
    """The generated code is the same for the same numbers: no text of the request reaches it
    but numbers (the notebook's network with other numbers makes the same script but for them)."""
    body = copy.deepcopy(examples.TRAIN) | {"format": "numpy"}
    other = _set(body, ("network", "layers", 0, "bias", 1), 0.0625)
    first = _post(module_client, "/export", body)["content"]
    second = _post(module_client, "/export", other)["content"]
    assert first.replace("0.05", "0.0625") == second


def test_file_download(module_client: TestClient) -> None:
    """Accept: text/x-python answers the script itself, with a file name to save it under."""
    body = copy.deepcopy(examples.TRAIN) | {"format": "pytorch"}
    response = module_client.post("/export", json=body, headers={"accept": "text/x-python"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="train_torch.py"'
    assert response.headers["content-type"].startswith("text/x-python")
    assert response.text == _post(module_client, "/export", body)["content"]


def test_network_only_body_with_training_fields_needs_data(module_client: TestClient) -> None:
    """A body with a training setting is a /train request: without data it names the fields."""
    body = {"network": examples.NOTEBOOK_NETWORK, "format": "pytorch", "epochs": 3}
    detail = _post(module_client, "/export", body, 422)["detail"]
    assert {tuple(item["loc"][1:]) for item in detail} == {("inputs",), ("targets",)}


@pytest.mark.parametrize("fmt", ["pytorch", "numpy", "json"])
def test_a_network_not_finite_on_its_data_is_refused_as_train_does(
    module_client: TestClient, fmt: str
) -> None:
    """A first layer whose z overflows on the data: /train refuses to start, and /export gives
    the same 422 rather than a script that would fail before its first epoch."""
    body = copy.deepcopy(examples.TRAIN) | {"inputs": [1e308, 2.0, 1.5]}
    body["network"]["layers"][0]["weights"][0][0] = 1e308
    refused = _post(module_client, "/train", body, 422)["detail"]
    assert refused[0]["type"] == "non_finite"
    assert _post(module_client, "/export", body | {"format": fmt}, 422)["detail"] == refused
    network_only = {"network": body["network"], "format": fmt}
    assert _post(module_client, "/export", network_only, 200)["format"] == fmt


def test_network_only_loss_needs_its_activation(module_client: TestClient) -> None:
    """A cross-entropy without data still needs its last activation."""
    body = {"network": examples.NOTEBOOK_NETWORK, "format": "numpy", "loss": "cross_entropy"}
    detail = _post(module_client, "/export", body, 422)["detail"]
    assert [item["loc"][1:] for item in detail] == [["network", "layers", 1, "activation"]]


def test_settings_export_does_not_reproduce_are_refused() -> None:
    """A field set to a value other than its default, outside what the scripts reproduce, is an
    issue naming it (as a /train setting added later will be)."""

    class Stop(StrictModel):
        patience: int | None = None
        later_rule: float | None = None

    issues = unreproduced(Stop(patience=3, later_rule=0.5), ("stop",))
    assert [issue["loc"] for issue in issues] == [("stop", "later_rule")]
    assert "export does not reproduce later_rule" in str(issues[0]["type"])
    assert unreproduced(Stop(patience=3, later_rule=None), ("stop",)) == []


def test_every_train_setting_is_reproduced() -> None:
    """Every field of a /train body and of its stop rule is reproduced: none is refused today."""
    assert set(TrainExport.model_fields) == REPRODUCED[""]
    assert set(StopRule.model_fields) == REPRODUCED["stop"]


def test_script_size_is_limited(limited_client: Any) -> None:
    """The numbers a script holds count against BACKPROP_MAX_TRACE_VALUES; shuffled orders too,
    even when /train's answer (a sparse trace) is under it."""
    client = limited_client(BACKPROP_MAX_TRACE_VALUES=300)
    sparse = {"trace": {"every": 200, "include": ["loss"]}}
    body = copy.deepcopy(examples.CLASSIFY) | sparse | {"format": "pytorch"}
    _post(client, "/train", examples.CLASSIFY | sparse)
    detail = _post(client, "/export", body, 422)["detail"]
    assert "BACKPROP_MAX_TRACE_VALUES" in detail[0]["msg"]
    assert "the exported file" in detail[0]["msg"]
    assert _post(client, "/export", body | {"format": "numpy"})["format"] == "numpy"


@pytest.mark.parametrize("name", list(examples.EXPORT_EXAMPLES))
def test_swagger_examples_export(module_client: TestClient, name: str) -> None:
    """Each example of /export in the docs answers its file."""
    example = examples.EXPORT_EXAMPLES[name]["value"]
    answer = _post(module_client, "/export", example)
    assert answer["format"] == example["format"]
    assert answer["content"]


def test_reproduced_fields_are_fields() -> None:
    """Every field named as reproduced is one of the request's (a rename would leave it
    unchecked)."""
    assert REPRODUCED[""] <= set(TrainExport.model_fields)
    assert REPRODUCED["stop"] <= set(StopRule.model_fields)


def _largest_epochs(accepted: Any, low: int, high: int) -> int:
    """The most epochs in [low, high) that ``accepted(epochs)`` allows (it allows ``low``)."""
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if accepted(middle) else (low, middle)
    return low


@pytest.mark.parametrize("fmt", ["pytorch", "numpy", "json"])
def test_export_refuses_what_train_refuses(limited_client: Any, fmt: str) -> None:
    """A body /train refuses for its answer's size gets the same 422 (type, loc, message) from
    /export, whatever the file would hold; the largest one /train accepts is exported."""
    client = limited_client(BACKPROP_MAX_TRACE_VALUES=2_000)
    body = copy.deepcopy(examples.TRAIN) | {"optimizer": {"type": "adam"}}

    def accepted(epochs: int) -> bool:
        answer = client.post("/train", json=body | {"epochs": epochs})
        assert answer.status_code in (200, 422), answer.text
        return answer.status_code == 200

    edge = _largest_epochs(accepted, 1, 2_000)
    refused = _post(client, "/train", body | {"epochs": edge + 1}, 422)["detail"]
    assert [item["type"] for item in refused] == ["limit_exceeded"]
    exported = _post(client, "/export", body | {"epochs": edge + 1, "format": fmt}, 422)
    assert exported["detail"] == refused
    assert _post(client, "/export", body | {"epochs": edge, "format": fmt})["format"] == fmt


def test_export_of_a_large_adam_network_is_refused_as_train_does(module_client: Any) -> None:
    """The issue's case, scaled to the default limit: an Adam body whose /train answer is over
    BACKPROP_MAX_TRACE_VALUES (two parameter sets per trace entry) but whose script holds only
    one parameter set and the data is refused by both."""
    rng = np.random.default_rng(7)
    body = {
        "network": _network(["relu", "softmax"], [784, 256, 10], 5),
        "inputs": rng.uniform(size=(2, 784)).tolist(),
        "targets": np.eye(10)[[3, 4]].tolist(),
        "loss": "cross_entropy",
        "optimizer": {"type": "adam"},
        "epochs": 5,
    }
    refused = _post(module_client, "/train", body, 422)["detail"]
    assert "BACKPROP_MAX_TRACE_VALUES" in refused[0]["msg"]
    assert _post(module_client, "/export", body | {"format": "pytorch"}, 422)["detail"] == refused


def test_the_answer_is_the_bytes_pydantic_writes_for_the_documented_model(
    module_client: TestClient,
) -> None:
    """The route writes its answer's keys by hand: read back into ExportResponse and written by
    Pydantic, it is the same bytes, so the keys follow the model's fields."""
    response = module_client.post("/export", json=examples.TRAIN | {"format": "numpy"})
    assert response.status_code == 200, response.text
    answer = ExportResponse.model_validate_json(response.content)
    assert answer.model_dump_json().encode() == response.content
