"""/explain: the notebook's worked solution digit for digit, every result bit for bit /backward's
and /train's, the three formats, the bounds on large networks and the 422s."""

import copy
import itertools
import re
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app import examples
from app.schemas.explain import ExplainRequest
from bench.explain import mnist_like
from tests.helpers import OPTIMIZERS, strict_json
from tests.notebook_values import PRINTED, PRINTED_UPDATES

BATCH = {
    **examples.LOSS,
    "inputs": [[-1.0, 2.0, 1.5], [1.0, 0.0, 0.0], [0.5, -0.5, 2.0]],
    "targets": [[1.0], [0.0], [-1.0]],
}


def _post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return strict_json(response.text)


def _steps(client: TestClient, body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The json steps of ``body`` by id."""
    answer = _post(client, "/explain", {**body, "format": "json"})
    return {step["id"]: step for step in answer["steps"]}


def _expected(backward: dict[str, Any], trained: dict[str, Any], sample: int) -> dict[str, float]:
    """Every step id whose value /backward or /train returns, with that value."""
    values: dict[str, float] = {"loss": backward["loss"]}
    for layer, (values_l, grads, params) in enumerate(
        zip(backward["layers"], backward["gradients"], trained["network"]["layers"], strict=True)
    ):
        for part in ("z", "a"):
            row = values_l[part][sample] if isinstance(values_l[part][0], list) else values_l[part]
            values |= {f"forward.{layer}.{part}.{i}": v for i, v in enumerate(row)}
        for part in ("weights", "bias"):
            for tensor, stage in ((grads, "backward"), (params, "update")):
                if part == "bias":
                    values |= {f"{stage}.{layer}.bias.{i}": v for i, v in enumerate(tensor[part])}
                else:
                    values |= {
                        f"{stage}.{layer}.weights.{i}.{j}": v
                        for i, row in enumerate(tensor[part])
                        for j, v in enumerate(row)
                    }
    return values


XOR = {key: examples.CLASSIFY[key] for key in ("network", "inputs", "targets", "loss")}
XOR_BCE = {
    "network": {
        "layers": [
            XOR["network"]["layers"][0],
            {"weights": [[0.6, -0.5, 0.3]], "bias": [0.1], "activation": "sigmoid"},
        ]
    },
    "inputs": XOR["inputs"],
    "targets": [[0.0], [1.0], [1.0], [0.0]],
    "loss": "binary_cross_entropy",
}
XOR_MSE = {**XOR, "loss": "mean_squared_error"}
BODIES = [(examples.LOSS, 0), (BATCH, 2), (XOR, 1), (XOR_BCE, 3), (XOR_MSE, 0)]


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=[str(o) for o in OPTIMIZERS])
@pytest.mark.parametrize(
    ("body", "sample"), BODIES, ids=["one", "batch", "softmax-ce", "sigmoid-bce", "softmax-mse"]
)
def test_every_result_is_backwards_and_trains_value_bit_for_bit(
    client: TestClient, optimizer: dict[str, Any], body: dict[str, Any], sample: int
) -> None:
    backward = _post(client, "/backward", body)
    trained = _post(client, "/train", {**body, "optimizer": optimizer, "epochs": 1})
    steps = _steps(client, {**body, "optimizer": optimizer, "sample": sample})
    expected = _expected(backward, trained, sample)
    assert {key: steps[key]["result"] for key in expected} == expected


@pytest.mark.parametrize("optimizer", OPTIMIZERS[1:], ids=[str(o) for o in OPTIMIZERS[1:]])
def test_a_later_step_from_optimizer_state_is_trains_next_epoch(
    client: TestClient, optimizer: dict[str, Any]
) -> None:
    first = _post(client, "/train", {**examples.LOSS, "optimizer": optimizer, "epochs": 1})
    resumed = {
        **examples.LOSS,
        "network": first["network"],
        "optimizer": optimizer,
        "optimizer_state": first["optimizer_state"],
    }
    second = _post(client, "/train", {**resumed, "epochs": 1})
    steps = _steps(client, resumed)
    backward = _post(client, "/backward", {**examples.LOSS, "network": first["network"]})
    expected = _expected(backward, second, 0)
    assert {key: steps[key]["result"] for key in expected} == expected


def _shown(line: str) -> float:
    """The result a text line shows (its last number before the note)."""
    body = line.split("   (")[0]
    return float(body.rsplit(" = ", 1)[1].replace("−", "-"))


def _agrees(shown_text: str, printed: float) -> bool:
    """``shown_text`` is ``printed`` at the precision it is shown (printed had 8 decimals)."""
    shown = float(shown_text.replace("−", "-"))
    digits = shown_text.lstrip("−").split("e")[0]
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return abs(shown - printed) <= 0.5 * 10.0**-decimals + 5e-9


@pytest.mark.parametrize("digits", [4, 6, 8])
def test_the_notebooks_printed_values_at_the_shown_precision(
    client: TestClient, digits: int
) -> None:
    response = client.post("/explain", json={**examples.LOSS, "format": "text", "digits": digits})
    lines = {
        line.split(" ")[0]: line.split("   (")[0].rsplit(" = ", 1)[1]
        for line in response.text.splitlines()
        if " = " in line
    }
    printed, updated = PRINTED[0], PRINTED_UPDATES[0]
    expected = {
        "a1[0]": printed["hidden"][0],
        "a1[1]": printed["hidden"][1],
        "a2[0]": printed["output"][0],
        "L": printed["loss"],
        "δ2[0]": printed["B2_grad"][0],
        "∂L/∂b2[0]": printed["B2_grad"][0],
        "∂L/∂W2[0,0]": printed["W2_grad"][0][0],
        "∂L/∂W2[0,1]": printed["W2_grad"][0][1],
        "δ1[0]": printed["B1_grad"][0],
        "δ1[1]": printed["B1_grad"][1],
        "∂L/∂b1[0]": printed["B1_grad"][0],
        "∂L/∂b1[1]": printed["B1_grad"][1],
        **{f"∂L/∂W1[{k // 3},{k % 3}]": v for k, v in enumerate(printed["W1_grad"])},
        **{f"W1[{i},{j}]": updated["W1"][i][j] for i in range(2) for j in range(3)},
        "W2[0,0]": updated["W2"][0][0],
        "W2[0,1]": updated["W2"][0][1],
        "b1[0]": updated["B1"][0],
        "b1[1]": updated["B1"][1],
        "b2[0]": updated["B2"][0],
    }
    wrong = {key: (lines[key], value) for key, value in expected.items()}
    assert {key: pair for key, pair in wrong.items() if not _agrees(*pair)} == {}


def test_text_writes_the_weighted_sum_out_as_on_the_board(client: TestClient) -> None:
    response = client.post("/explain", json={**examples.LOSS, "format": "text"})
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    lines = response.text.splitlines()
    assert (
        "z1[0] = W1[0,0]·x[0] + W1[0,1]·x[1] + W1[0,2]·x[2] + b1[0] = 0.1·(−1) + (−0.2)·2 + "
        "0.4·1.5 + 0 = 0.1"
    ) in lines
    assert "W2[0,1] ← W2[0,1] − η·∂L/∂W2[0,1] = (−0.7) − 0.01·(−2.73325) = −0.672667" in lines
    titles = [line for line, under in itertools.pairwise(lines) if set(under) == {"="}]
    assert titles == ["Forward pass", "Loss", "Output delta", "Backward pass", "Update"]


def test_markdown_is_the_default_with_latex_between_dollars(client: TestClient) -> None:
    response = client.post("/explain", json=examples.LOSS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    text = response.text
    assert text.startswith("# Worked solution\n\n## Forward pass\n\n### Layer 1 (relu)\n")
    assert (
        r"- $z^{(1)}_{1} = w^{(1)}_{11} \cdot x_{1} + w^{(1)}_{12} \cdot x_{2} + "
        r"w^{(1)}_{13} \cdot x_{3} + b^{(1)}_{1} = 0.1 \cdot (-1) + (-0.2) \cdot 2 + "
        r"0.4 \cdot 1.5 + 0 = 0.1$"
    ) in text.splitlines()


def test_a_unit_that_is_off_is_said_in_words(client: TestClient) -> None:
    body = {**examples.LOSS, "inputs": [1.0, 0.0, 0.0], "format": "text"}
    lines = client.post("/explain", json=body).text.splitlines()
    (line,) = [line for line in lines if line.startswith("δ1[1] =")]
    assert line.endswith(
        "= 0   (unit off (z ≤ 0): relu'(z) = 0, so no gradient flows back through it)"
    )


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("text/plain", "text/plain"),
        ("text/markdown", "text/markdown"),
        ("application/json", "application/json"),
        ("text/html;q=0.9, text/plain", "text/plain"),
        ("*/*", "text/markdown"),
    ],
)
def test_accept_picks_the_format(client: TestClient, accept: str, media: str) -> None:
    response = client.post("/explain", json=examples.LOSS, headers={"accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media


def test_format_in_the_body_wins_over_accept(client: TestClient) -> None:
    body = {**examples.LOSS, "format": "json"}
    response = client.post("/explain", json=body, headers={"accept": "text/plain"})
    assert response.headers["content-type"] == "application/json"


def test_json_steps_carry_operands_and_exact_values(client: TestClient) -> None:
    steps = _steps(client, {**examples.LOSS, "digits": 2})
    step = steps["forward.0.z.0"]
    assert step["symbol"] == "z1[0]"
    assert step["formula"] == "W1[0,0]·x[0] + W1[0,1]·x[1] + W1[0,2]·x[2] + b1[0]"
    assert step["operands"] == [
        {"symbol": "W1[0,0]", "value": 0.1},
        {"symbol": "x[0]", "value": -1.0},
        {"symbol": "W1[0,1]", "value": -0.2},
        {"symbol": "x[1]", "value": 2.0},
        {"symbol": "W1[0,2]", "value": 0.4},
        {"symbol": "x[2]", "value": 1.5},
        {"symbol": "b1[0]", "value": 0.0},
    ]
    assert steps["loss"]["result"] == 1.7766125000000004


def test_batch_writes_one_sample_and_the_mean(client: TestClient) -> None:
    steps = _steps(client, {**BATCH, "sample": 1})
    assert steps["forward.0.z.0"]["operands"][1] == {"symbol": "x[0]", "value": 1.0}
    assert steps["loss"]["formula"] == "(L(s0) + L(s1) + L(s2))/3"
    assert steps["loss.sample"]["symbol"] == "L(s1)"
    assert steps["backward.1.bias.0"]["formula"] == "δ2[0](s0) + δ2[0](s1) + δ2[0](s2)"


def test_a_784_input_layer_is_elided_to_max_terms(client: TestClient) -> None:
    body = {
        "network": {
            "layers": [
                {"weights": [[0.001] * 784] * 2, "bias": [0.0, 0.0], "activation": "relu"},
                {"weights": [[1.0, -1.0]], "bias": [0.0], "activation": "identity"},
            ]
        },
        "inputs": [0.5] * 784,
        "targets": [0.0],
        "format": "text",
    }
    response = client.post("/explain", json=body)
    assert response.status_code == 200
    (line,) = [line for line in response.text.splitlines() if line.startswith("z1[0] =")]
    assert line.startswith("z1[0] = W1[0,0]·x[0] + W1[0,1]·x[1] + ")
    assert "W1[0,6]·x[6] + … + W1[0,783]·x[783] + b1[0] = " in line
    assert line.endswith("(784 terms summed)")
    assert len(response.content) < 600_000


def test_max_terms_sets_the_elision(client: TestClient) -> None:
    body = {**examples.LOSS, "format": "text", "max_terms": 2}
    lines = client.post("/explain", json=body).text.splitlines()
    (line,) = [line for line in lines if line.startswith("z1[0] =")]
    assert line.startswith("z1[0] = W1[0,0]·x[0] + … + W1[0,2]·x[2] + b1[0] = 0.1·(−1) + … + 0.4")


def test_the_response_size_limit_applies(limited_client: Any) -> None:
    client = limited_client(BACKPROP_MAX_TRACE_VALUES=100)
    response = client.post("/explain", json=examples.LOSS)
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert detail["type"] == "limit_exceeded"
    assert "BACKPROP_MAX_TRACE_VALUES" in detail["msg"]


BAD_BODIES = [
    {**examples.LOSS, "inputs": [1.0, 2.0]},
    {**examples.LOSS, "targets": [[1.0]]},
    {**examples.LOSS, "loss": "hinge"},
    {**examples.LOSS, "loss": "cross_entropy"},
    {**examples.LOSS, "inputs": [1.0, "2", 3.0]},
    {key: value for key, value in examples.LOSS.items() if key != "targets"},
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_input_gets_backwards_422(client: TestClient, body: dict[str, Any]) -> None:
    backward = client.post("/backward", json=body)
    explained = client.post("/explain", json=body)
    assert backward.status_code == explained.status_code == 422
    assert explained.json() == backward.json()


def test_a_large_value_gets_backwards_answer(client: TestClient) -> None:
    body = copy.deepcopy(examples.LOSS)
    body["network"]["layers"][0]["weights"][0][0] = 1e308
    body["inputs"] = [1e308, 2.0, 1.5]
    backward = client.post("/backward", json=body)
    explained = client.post("/explain", json=body)
    assert explained.status_code == backward.status_code
    assert explained.json() == backward.json()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"format": "latex"}, "format"),
        ({"sample": 1}, "sample"),
        ({"sample": -1}, "sample"),
        ({"digits": 0}, "digits"),
        ({"max_terms": 1}, "max_terms"),
        ({"optimizer": {"type": "rmsprop"}}, "optimizer"),
    ],
)
def test_bad_explain_fields_are_422s_naming_the_field(
    client: TestClient, change: dict[str, Any], field: str
) -> None:
    response = client.post("/explain", json={**examples.LOSS, **change})
    assert response.status_code == 422
    locs = [detail["loc"] for detail in response.json()["detail"]]
    assert any(loc[:2] == ["body", field] for loc in locs), locs


def test_sample_out_of_range_says_how_many_there_are(client: TestClient) -> None:
    response = client.post("/explain", json={**BATCH, "sample": 3})
    (detail,) = response.json()["detail"]
    assert detail["loc"] == ["body", "sample"]
    assert detail["msg"] == "sample 3 is out of range: inputs has 3 samples, numbered from 0"


def test_a_state_of_another_optimizer_is_rejected(client: TestClient) -> None:
    state = {"type": "adam", "step": 1}
    response = client.post("/explain", json={**examples.LOSS, "optimizer_state": state})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "optimizer_state", "type"]


def test_adam_writes_its_bias_corrections(client: TestClient) -> None:
    body = {**examples.LOSS, "optimizer": {"type": "adam"}, "format": "text"}
    lines = client.post("/explain", json=body).text.splitlines()
    assert "c1 = 1 − β1^k = 1 − 0.9^1 = 0.1   (step 1: the first moment's bias correction)" in lines
    assert any(re.match(r"W1\[0,0\] ← W1\[0,0\] − η/c1·m\(W1\[0,0\]\)/", line) for line in lines)


CHECK_BATCH = {
    **examples.CHECK,
    "inputs": [[-1.0, 2.0, 1.5], [1.0, 0.0, 0.0]],
    "targets": [[1.0], [1.0]],
    "claimed": {
        "layers": [{"z": [[0.1, 1.45], [0.1, -0.4]]}],
        "outputs": [[-0.885], [0.13]],
        "loss": 1.0,
        "gradients": [{"weights": [[0.3, -0.6, -0.4], [-0.7, 1.3, 1.0]]}, {"bias": [-1.5]}],
        "network": {"layers": [{}, {"weights": [[0.3, -0.7]]}]},
    },
}


@pytest.mark.parametrize("body", [examples.CHECK_MISTAKES, CHECK_BATCH], ids=["one", "batch"])
def test_each_wrong_check_points_to_the_step_that_computes_it(
    client: TestClient, body: dict[str, Any]
) -> None:
    checked = _post(client, "/check", body)
    wrong = [item for item in checked["checks"] if item["verdict"] == "wrong"]
    assert len(wrong) >= 3
    assert checked["first_wrong"]["explain"] == wrong[0]["explain"]
    request = {key: body[key] for key in ("network", "inputs", "targets", "loss")}
    for item in wrong:
        pointer = item["explain"]
        steps = _steps(client, {**request, "sample": pointer["sample"]})
        correct = item["correct"]
        values = correct if isinstance(correct, list) else [correct]
        flat = [v for row in values for v in (row if isinstance(row, list) else [row])]
        assert steps[pointer["step"]]["result"] in flat
    assert all(item["explain"] is None for item in checked["checks"] if item not in wrong)


def test_the_pointer_names_the_first_wrong_number_and_its_sample(client: TestClient) -> None:
    checked = _post(client, "/check", CHECK_BATCH)
    pointers = {item["path"]: item["explain"] for item in checked["checks"]}
    assert pointers["layers[0].z"] == {"step": "forward.0.z.1", "sample": 1}
    assert pointers["gradients[0].weights"] == {"step": "backward.0.weights.0.0", "sample": 0}
    assert pointers["network.layers[1].weights"] == {"step": "update.1.weights.0.0", "sample": 0}
    assert checked["first_wrong"]["explain"] == {"step": "forward.0.z.1", "sample": 1}


def _mnist_like(hidden: int) -> dict[str, Any]:
    """The benchmark's 784-hidden-10 softmax network on one sample, asked for as JSON."""
    return mnist_like(hidden) | {"format": "json"}


def test_a_large_network_is_written_in_full_up_to_the_response_size_limit(
    client: TestClient,
) -> None:
    small = client.post("/explain", json={**_mnist_like(8), "max_steps": 10_000})
    assert small.status_code == 200
    parameters, units = 784 * 8 + 8 + 8 * 10 + 10, 8 + 10
    # a gradient and an update per parameter; z and a per unit; the loss; δ of the 10 outputs;
    # ∂L/∂a and δ of the 8 hidden units
    assert len(small.json()["steps"]) == 2 * parameters + 2 * units + 1 + 10 + 2 * 8
    large = client.post("/explain", json={**_mnist_like(128), "max_steps": 1_000_000})
    assert large.status_code == 422
    (detail,) = large.json()["detail"]
    assert detail["type"] == "limit_exceeded"
    assert "BACKPROP_MAX_TRACE_VALUES" in detail["msg"]


RUNS_784_128_10 = {
    # run id: items, steps per item
    "forward.0": (128, 2),
    "backward.0.da": (128, 1),
    "backward.0.delta": (128, 1),
    "backward.0.weights": (128 * 784, 1),
    "backward.0.bias": (128, 1),
    "backward.1.weights": (10 * 128, 1),
    "update.0.weights": (128 * 784, 1),
    "update.0.bias": (128, 1),
    "update.1.weights": (10 * 128, 1),
}


def test_a_784_128_10_network_is_explained_briefly_by_default(client: TestClient) -> None:
    body = _mnist_like(128)
    response = client.post("/explain", json=body)
    assert response.status_code == 200, response.text
    assert len(response.content) < 100_000
    steps = strict_json(response.text)["steps"]
    elisions = {
        step["id"].removesuffix(".elided"): step for step in steps if "elided_steps" in step
    }
    assert set(elisions) == set(RUNS_784_128_10)
    for run, (items, per) in RUNS_784_128_10.items():
        shown = [
            step
            for step in steps
            if step["id"].startswith(f"{run}.") and step["id"] != f"{run}.elided"
        ]
        assert len(shown) == 10 * per, run
        assert elisions[run]["elided_items"] == items - 10
        assert elisions[run]["elided_steps"] + len(shown) == items * per
        assert f"{items - 10:,} more {elisions[run]['what']}" in elisions[run]["note"]
    weights = elisions["backward.0.weights"]
    assert (weights["first"], weights["last"]) == ("∂L/∂W1[0,9]", "∂L/∂W1[127,782]")
    assert weights["note"] == (
        "… 100,342 more weight gradients (∂L/∂W1[0,9] to ∂L/∂W1[127,782]), each δ·x the same "
        "way: 100,342 steps not written out (a larger max_steps writes them)"
    )
    written = {step["id"] for step in steps}
    assert {"backward.0.weights.0.8", "backward.0.weights.127.783", "update.1.bias.9"} <= written
    assert len(steps) < 200


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=[str(o) for o in OPTIMIZERS])
def test_an_elision_counts_the_steps_the_full_explanation_writes(
    client: TestClient, optimizer: dict[str, Any]
) -> None:
    rng = np.random.default_rng(3)
    body = {
        "network": {
            "layers": [
                {
                    "weights": rng.normal(size=(12, 5)).tolist(),
                    "bias": [0.1] * 12,
                    "activation": "tanh",
                },
                {
                    "weights": rng.normal(size=(3, 12)).tolist(),
                    "bias": [0.0] * 3,
                    "activation": "sigmoid",
                },
            ]
        },
        "inputs": rng.normal(size=(2, 5)).tolist(),
        "targets": [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]],
        "optimizer": optimizer,
        "max_steps": 4,
    }
    full = _post(client, "/explain", {**body, "format": "json", "max_steps": 1000})["steps"]
    bounded = _post(client, "/explain", {**body, "format": "json"})["steps"]
    elisions = [step for step in bounded if "elided_steps" in step]
    assert len(elisions) == 9  # the 3 outputs are written in full
    shown = [step for step in bounded if "elided_steps" not in step]
    assert all(step in full for step in shown)
    for elision in elisions:
        run = elision["id"].removesuffix("elided")
        written = [step for step in shown if step["id"].startswith(run)]
        everything = [step for step in full if step["id"].startswith(run)]
        assert elision["elided_steps"] == len(everything) - len(written), run
    assert len(full) - len(shown) == sum(elision["elided_steps"] for elision in elisions)


def test_markdown_and_text_write_the_elision_in_the_layers_section(client: TestClient) -> None:
    body = {**_mnist_like(128), "format": "text"}
    lines = client.post("/explain", json=body).text.splitlines()
    assert (
        "… 118 more units (z1[9] to z1[126]), each z = Σ w·x + b, then a = relu(z), the same way: "
        "236 steps not written out (a larger max_steps writes them)"
    ) in lines
    markdown = client.post("/explain", json={**body, "format": "markdown"}).text.splitlines()
    assert (
        r"- … 100,342 more weight updates ($w^{(1)}_{1,10}$ to $w^{(1)}_{128,783}$), each the "
        "same way: 100,342 steps not written out (a larger max_steps writes them)"
    ) in markdown


def test_a_check_pointer_into_an_elided_run_is_written_with_max_steps_raised(
    client: TestClient,
) -> None:
    body = {key: value for key, value in _mnist_like(8).items() if key != "format"}
    correct = _post(client, "/backward", body)["gradients"][0]["weights"]
    claimed = copy.deepcopy(correct)
    claimed[5][300] += 1.0
    checked = _post(client, "/check", {**body, "claimed": {"gradients": [{"weights": claimed}]}})
    pointer = checked["first_wrong"]["explain"]
    assert pointer == {"step": "backward.0.weights.5.300", "sample": 0}
    default = _post(client, "/explain", {**body, "format": "json"})["steps"]
    (elision,) = [step for step in default if step["id"] == "backward.0.weights.elided"]
    assert (elision["first"], elision["last"]) == ("∂L/∂W1[0,9]", "∂L/∂W1[7,782]")
    raised = _steps(client, {**body, "max_steps": 8 * 784})
    assert raised[pointer["step"]]["result"] == correct[5][300]


def test_every_swagger_example_answers_in_its_format(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/explain"]["post"]
    examples_ = operation["requestBody"]["content"]["application/json"]["examples"]
    media = {"markdown": "text/markdown", "text": "text/plain", "json": "application/json"}
    assert sorted(examples_) == ["adam", "batch", "notebook"]
    for example in examples_.values():
        response = client.post("/explain", json=example["value"])
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].split(";")[0] == media[example["value"]["format"]]


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (
            XOR,
            "δ2[0] = (a2[0] − t[0])/4 = (0.455269 − 1)/4 = −0.136183   (softmax with "
            "cross-entropy: ∂L/∂z = (softmax(z) − t) / samples, the softmax's Jacobian cancels)",
        ),
        (
            XOR_BCE,
            "δ2[0] = (a2[0] − t[0])/4 = (0.505066 − 0)/4 = 0.126267   (sigmoid with binary "
            "cross-entropy: ∂L/∂z = (σ(z) − t) / (samples × outputs), σ' cancels)",
        ),
    ],
    ids=["softmax-ce", "sigmoid-bce"],
)
def test_the_output_delta_simplifications_are_stated(
    client: TestClient, body: dict[str, Any], line: str
) -> None:
    response = client.post("/explain", json={**body, "format": "text"})
    assert line in response.text.splitlines()


MAZUR = {
    "network": {
        "layers": [
            {"weights": [[0.15, 0.2], [0.25, 0.3]], "bias": [0.35, 0.35], "activation": "sigmoid"},
            {"weights": [[0.4, 0.45], [0.5, 0.55]], "bias": [0.6, 0.6], "activation": "sigmoid"},
        ]
    },
    "inputs": [0.05, 0.1],
    "targets": [0.01, 0.99],
}


@pytest.mark.parametrize("body", [examples.LOSS, MAZUR], ids=["notebook", "mazur"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=[str(o) for o in OPTIMIZERS])
def test_the_notebook_and_mazurs_2_2_2_are_written_in_full_by_default(
    client: TestClient, body: dict[str, Any], optimizer: dict[str, Any]
) -> None:
    request = {**body, "optimizer": optimizer, "format": "json"}
    default = _post(client, "/explain", request)["steps"]
    assert not any("elided_steps" in step for step in default)
    assert default == _post(client, "/explain", {**request, "max_steps": 1000})["steps"]


def test_step_ids_are_unique_with_every_sgd_setting_at_once(client: TestClient) -> None:
    """Weight decay and Nesterov each write a g: the ids tell them apart, for /check to point to."""
    sgd = {"type": "sgd", "learning_rate": 0.1, "momentum": 0.9, "nesterov": True}
    sgd |= {"weight_decay": 0.01}
    first = _post(client, "/train", {**examples.TRAIN, "optimizer": sgd, "epochs": 1})
    body = {**examples.LOSS, "optimizer": sgd, "optimizer_state": first["optimizer_state"]}
    body |= {"network": first["network"], "format": "json"}
    ids = [step["id"] for step in _post(client, "/explain", body)["steps"]]
    assert len(ids) == len(set(ids))
    assert {"update.0.weights.0.0.g", "update.0.weights.0.0.g.nesterov"} <= set(ids)


def _tanh_net(sizes: list[int], samples: int, seed: int = 0) -> dict[str, Any]:
    """A tanh network of ``sizes`` (an identity output) on ``samples`` random samples."""
    rng = np.random.default_rng(seed)
    pairs = list(itertools.pairwise(sizes))
    layers = [
        {
            "weights": rng.normal(size=(units, inputs)).tolist(),
            "bias": rng.normal(size=units).tolist(),
            "activation": "identity" if index == len(pairs) - 1 else "tanh",
        }
        for index, (inputs, units) in enumerate(pairs)
    ]
    return {
        "network": {"layers": layers},
        "inputs": rng.normal(size=(samples, sizes[0])).tolist(),
        "targets": rng.normal(size=(samples, sizes[-1])).tolist(),
    }


ANSWER_LIMIT = 200_000
"""BACKPROP_MAX_TRACE_VALUES of the answer-size tests."""
VALUE_BYTES = 26
"""The bytes of answer a value of BACKPROP_MAX_TRACE_VALUES stands for (docs/operating.md,
Limits)."""
AT_THE_LIMIT = {
    # the issue's case, scaled down: long sums over the samples, every step written
    "sums": (_tanh_net([1, 40, 1], 1_000) | {"max_steps": 1_000_000}, "max_terms", 2, 1_000),
    # many short steps: a 64-8-4 network written in full
    "steps": (_tanh_net([64, 8, 4], 1), "max_steps", 2, 1_000),
    # Adam's updates, the wordiest steps
    "adam": (
        _tanh_net([12, 12, 2], 3) | {"optimizer": {"type": "adam"}},
        "max_steps",
        2,
        1_000,
    ),
}


@pytest.mark.parametrize("case", list(AT_THE_LIMIT))
def test_the_largest_answer_accepted_fits_the_limit(limited_client: Any, case: str) -> None:
    """/explain is charged by what it writes: the largest request the limit accepts (the
    largest max_terms or max_steps) answers at most BACKPROP_MAX_TRACE_VALUES × 26 bytes in
    every format, digits at their most, as every other endpoint's answer; one more is a 422."""
    client = limited_client(BACKPROP_MAX_TRACE_VALUES=ANSWER_LIMIT)
    body, knob, low, high = AT_THE_LIMIT[case]
    body = body | {"digits": 17}
    while high - low > 1:  # the limit is checked by validation alone, before any work
        middle = (low + high) // 2
        try:
            ExplainRequest.model_validate(body | {knob: middle})
            low = middle
        except ValidationError:
            high = middle
    refused = client.post("/explain", json=body | {knob: low + 1})
    if low + 1 < AT_THE_LIMIT[case][3]:
        assert refused.status_code == 422
        assert "BACKPROP_MAX_TRACE_VALUES" in refused.json()["detail"][0]["msg"]
    for fmt in ("json", "markdown", "text"):
        answer = client.post("/explain", json=body | {knob: low, "format": fmt})
        assert answer.status_code == 200
        assert len(answer.content) <= ANSWER_LIMIT * VALUE_BYTES, (fmt, knob, low)


def test_the_issue_s_request_is_refused_at_once(client: TestClient) -> None:
    """A 1-40-40-1 tanh network on 1,000 samples with max_terms, digits and max_steps at the
    most the old charge allowed (a 117 MB answer written in 20 s and 1.3 GB) is a 422 naming the
    limit and saying how a worked solution is counted."""
    body = _tanh_net([1, 40, 40, 1], 1_000) | {
        "max_terms": 481,
        "digits": 17,
        "max_steps": 1_000_000,
        "format": "json",
    }
    response = client.post("/explain", json=body)
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert detail["type"] == "limit_exceeded"
    assert "BACKPROP_MAX_TRACE_VALUES" in detail["msg"]
    assert "bytes per number" in detail["msg"]


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_writing_stops_at_the_deadline(limited_client: Any, fmt: str) -> None:
    """With the size limit out of the way, a solution no machine writes in a second (80 million
    numbers: a 1-200-200-1 network's 40,000 weight gradients summed over 1,000 samples) ends at
    BACKPROP_DEADLINE_SECONDS with a 422 naming it, rather than running on."""
    client = limited_client(BACKPROP_MAX_TRACE_VALUES=10**15, BACKPROP_DEADLINE_SECONDS=1)
    body = _tanh_net([1, 200, 200, 1], 1_000) | {
        "max_terms": 1_000,
        "max_steps": 1_000_000,
        "format": fmt,
    }
    response = client.post("/explain", json=body)
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert detail["type"] == "deadline_exceeded"
    assert detail["loc"] == ["body"]
    assert "BACKPROP_DEADLINE_SECONDS" in detail["msg"]
