"""Every file in examples/ runs and gives its answer, checked against an independent reference."""

import importlib.util
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app import examples
from app.client import Client
from app.main import in_process_app
from app.schemas.diagnostics import CheckResponse
from app.schemas.training import TrainResponse
from tests.notebook_values import PRINTED
from tests.servers import running_server

EXAMPLES = Path(__file__).parent.parent / "examples"


def load(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return body


def forward(network: Any, x: Any) -> Any:
    """The network's outputs, computed here in plain NumPy (tanh, identity, softmax only)."""
    a = np.asarray(x, dtype=np.float64)
    for layer in network.layers:
        z = a @ np.asarray(layer.weights).T + layer.bias
        if layer.activation == "tanh":
            a = np.tanh(z)
        elif layer.activation == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
        else:
            a = z
    return a


def check_notebook(answer: TrainResponse) -> None:
    """The notebook's printed numbers, at its 8 printed digits, for the epochs it printed."""
    for entry, printed in zip(answer.trace, PRINTED, strict=False):
        assert entry.loss == pytest.approx(printed["loss"], abs=1e-8)
        assert entry.outputs == pytest.approx(printed["output"], abs=1e-8)
    assert answer.epochs_run == 10


def check_mazur(answer: TrainResponse) -> None:
    """Matt Mazur's "A Step by Step Backpropagation Example": its published numbers."""
    assert answer.trace[0].loss == pytest.approx(0.298371109, abs=1e-9)
    (w1, w2), (w3, w4) = answer.network.layers[0].weights
    (w5, w6), (w7, w8) = answer.network.layers[1].weights
    published = [0.149780716, 0.19956143, 0.24975114, 0.29950229]
    assert [w1, w2, w3, w4] == pytest.approx(published, abs=1e-8)
    published = [0.35891648, 0.408666186, 0.511301270, 0.561370121]
    assert [w5, w6, w7, w8] == pytest.approx(published, abs=1e-8)


def check_xor(answer: TrainResponse) -> None:
    """XOR learnt: the returned network, run here, puts each point in its class."""
    assert answer.status == "target_reached"
    assert answer.final_loss <= 0.05
    outputs = forward(answer.network, examples.CLASSIFY["inputs"])
    assert outputs.argmax(axis=1).tolist() == [0, 1, 1, 0]


def check_moons(answer: TrainResponse) -> None:
    """The two moons separated: the returned network, run here, classifies every point."""
    body = load("moons.json")
    outputs = forward(answer.network, body["inputs"])
    labels = np.argmax(body["targets"], axis=1)
    assert (outputs.argmax(axis=1) == labels).all()
    assert answer.final_accuracy == 1
    assert answer.trace[0].accuracy is not None
    assert answer.trace[0].accuracy < 0.6


def check_sine(answer: TrainResponse) -> None:
    """The sine fitted: the returned network, run here, is within 0.01 of sin(x) on the data."""
    x = np.asarray(load("sine.json")["inputs"])
    assert np.abs(forward(answer.network, x) - np.sin(x)).max() < 0.01
    assert answer.final_loss == pytest.approx(
        np.mean((forward(answer.network, x) - np.sin(x)) ** 2), abs=1e-7
    )


def check_minibatch_adam(answer: TrainResponse) -> None:
    """Mini-batch Adam on a noisy plane finds the least-squares plane (NumPy's lstsq)."""
    body = load("minibatch_adam.json")
    x, t = np.asarray(body["inputs"]), np.asarray(body["targets"])
    solution, *_ = np.linalg.lstsq(np.column_stack([x, np.ones(len(x))]), t, rcond=None)
    layer = answer.network.layers[0]
    assert [*layer.weights[0], *layer.bias] == pytest.approx(solution.ravel(), abs=0.02)
    assert answer.optimizer_state.step == 200 * 8


def check_mistakes(answer: CheckResponse) -> None:
    """Each planted mistake is found and named; the right values pass."""
    hints = {c.path: c.hint for c in answer.checks if c.verdict == "wrong"}
    assert set(hints) == {
        "loss",
        "gradients[0].bias",
        "gradients[0].weights",
        "network.layers[1].bias",
    }
    assert hints["loss"] is not None
    assert "½ is missing" in hints["loss"]
    assert "ReLU derivative" in (hints["gradients[0].bias"] or "")
    assert "transposed" in (hints["gradients[0].weights"] or "")
    assert "sign error" in (hints["network.layers[1].bias"] or "")
    assert answer.first_wrong is not None
    assert answer.first_wrong.path == "loss"


CHECKS: dict[str, tuple[str, Callable[[Any], None]]] = {
    "notebook.json": ("train", check_notebook),
    "mazur.json": ("train", check_mazur),
    "xor.json": ("train", check_xor),
    "moons.json": ("train", check_moons),
    "sine.json": ("train", check_sine),
    "minibatch_adam.json": ("train", check_minibatch_adam),
    "check_mistakes.json": ("check", check_mistakes),
}
"""Each example: the client method (the endpoint) it is posted to, and the check of its answer."""


def test_every_example_is_checked() -> None:
    assert {path.name for path in EXAMPLES.glob("*.json")} == set(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example(name: str) -> None:
    method, check = CHECKS[name]
    with Client(app=in_process_app()) as client:
        check(getattr(client, method)(load(name)))


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_server() as (_, url):
        yield url


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_with_curl(server: str, name: str) -> None:
    """``curl -d @examples/X.json`` against a real server, as docs/examples.md shows, gives the
    answer."""
    method, check = CHECKS[name]
    url, data = f"{server}/{method}", f"@{EXAMPLES / name}"
    done = subprocess.run(
        ["curl", "-s", "-f", "-X", "POST", url, "-H", "content-type: application/json", "-d", data],
        capture_output=True,
        check=True,
        timeout=60,
    )
    model = CheckResponse if method == "check" else TrainResponse
    check(model.model_validate_json(done.stdout))


def test_notebook_and_xor_are_the_docs_examples() -> None:
    assert load("notebook.json") == examples.TRAIN
    assert load("xor.json") == examples.CLASSIFY


def test_generated_examples_are_reproduced() -> None:
    spec = importlib.util.spec_from_file_location("make_data", EXAMPLES / "make_data.py")
    assert spec is not None
    assert spec.loader is not None
    make_data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_data)
    for name, body in make_data.examples().items():
        assert (EXAMPLES / name).read_text() == json.dumps(body) + "\n"
