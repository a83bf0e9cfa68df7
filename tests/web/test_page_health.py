"""Issue 25's training-health panel, "Why is it not learning?", in a real browser: a planted
vanishing-gradient run shows each layer's numbers of the latest recorded epoch, the API's own
diagnosis in plain words, and a button that applies its change to the form."""

import itertools
import json
import math
import re
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import Visit
from tests.web.test_page import _assert_clean, _open, _screenshot, _set, _train

XOR_INPUTS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
XOR_TARGETS = [[0.0], [1.0], [1.0], [0.0]]


def _vanishing() -> dict[str, Any]:
    """XOR on six sigmoid layers (2-8-8-8-8-8-1, Xavier-scaled weights), 20 epochs of SGD."""
    rng = np.random.default_rng(0)
    layers = [
        {
            "weights": rng.normal(0, 1 / math.sqrt(n_in), (n_out, n_in)).round(4).tolist(),
            "bias": [0.0] * n_out,
            "activation": "sigmoid",
        }
        for n_in, n_out in itertools.pairwise([2, 8, 8, 8, 8, 8, 1])
    ]
    return {
        "network": {"layers": layers},
        "inputs": XOR_INPUTS,
        "targets": XOR_TARGETS,
        "optimizer": {"type": "sgd", "learning_rate": 0.1},
        "epochs": 20,
    }


def _paste(page: Page, body: dict[str, Any]) -> None:
    page.click("#paste-box summary")
    page.fill("#paste", json.dumps(body))
    page.click("#load-paste")
    expect(page.locator("#preset")).to_have_value("paste")
    page.click("#paste-box summary")


@pytest.mark.screenshot
@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_a_vanishing_gradient_run_is_diagnosed_and_its_button_changes_the_form(
    visit: Visit, size: tuple[int, int]
) -> None:
    """The panel shows the six layers of the last epoch with /train's gradient norms, the API's
    diagnosis text, and its button turns the five hidden layers to ReLU with He init."""
    body = _vanishing()
    expected = httpx.post(
        f"{visit.origin}/train", json=body | {"trace": {"include": ["health"], "every": 1}}
    ).json()
    (diagnosis,) = expected["diagnoses"]
    assert diagnosis["id"] == "vanishing_gradients"
    page = _open(visit, size=size)
    expect(page.locator("#health")).to_contain_text("Train: each layer's gradient")
    _paste(page, body)
    _train(page)
    panel = page.locator("#health")
    rows = panel.locator("tr[data-layer]")
    expect(rows).to_have_count(6)
    expect(panel.locator("caption")).to_contain_text("epoch 20")
    latest = expected["trace"][-1]["health"]
    for index, layer in enumerate(latest):
        title = rows.nth(index).locator(".health-value").first.get_attribute("title")
        assert float(title or "nan") == layer["gradient_norm"]
    expect(rows.first.locator("th")).to_have_text("1 (sigmoid)")
    item = panel.locator('.diagnosis[data-id="vanishing_gradients"]')
    expect(item.locator("p")).to_have_text(diagnosis["text"])
    button = item.locator("button")
    expect(button).to_have_text("Try relu in layers 1, 2, 3, 4, 5, init he_normal")
    if size[0] == 1280:
        _screenshot(page, "playground-health", top="#health-title")
    box = button.bounding_box()
    assert box is not None
    assert box["height"] >= 24
    button.click()
    expect(page.locator("#init")).to_have_value("he_normal")
    for index in range(5):
        expect(page.locator(f"#activation-{index}")).to_have_value("relu")
    expect(page.locator("#output")).to_have_value("sigmoid")
    expect(page.locator("#train")).to_be_focused()
    expect(panel.locator(".diagnosis")).to_have_count(0)
    _train(page)
    expect(panel.locator("tr[data-layer]")).to_have_count(6)
    expect(panel.locator('.diagnosis[data-id="vanishing_gradients"]')).to_have_count(0)
    _assert_clean(visit)


def test_relus_killed_by_a_high_rate_are_fixed_in_one_click_and_a_healthy_run_says_so(
    visit: Visit,
) -> None:
    """The notebook at a learning rate of 1: its first updates knock out both ReLUs; the panel
    says so and that the rate is to blame, and its button sets 0.1 in the form; at the
    notebook's own 0.01 the run is healthy."""
    page = _open(visit)
    _set(page, "#lr", "1")
    expect(page.locator("body")).to_have_attribute("data-prepared", "notebook")
    _train(page)
    expect(page.locator("#health tr[data-layer='1'] td").last).to_have_text("100%")
    item = page.locator('#health .diagnosis[data-id="dead_relus"]')
    expect(item.locator("p")).to_have_text(
        "100% of layer 1's ReLUs are dead (z ≤ 0 on every sample): no gradient flows through "
        "them, and they died during training (epoch 1: 0%); lower the learning rate to 0.1"
    )
    expect(page.locator("#health .diagnosis")).to_have_count(1)
    expect(item.locator("button")).to_have_text("Try learning rate 0.1")
    item.locator("button").click()
    expect(page.locator("#lr")).to_have_value("0.1")
    _set(page, "#lr", "0.01")
    expect(page.locator("body")).to_have_attribute("data-prepared", "notebook")
    _train(page)
    expect(page.locator("#health .health-ok")).to_have_text(
        "No clear sign of trouble: gradients, updates and units look healthy."
    )
    expect(page.locator("#health .diagnosis")).to_have_count(0)
    _assert_clean(visit)


def test_a_run_in_several_requests_counts_its_texts_epochs_from_the_run_start(
    visit: Visit,
) -> None:
    """400 epochs (at a rate of 0.01, which leaves the gradient vanishing) go in requests of
    100: the diagnoses are the last request's, whose texts count its own epochs; the panel
    tells them as the run's (epoch 301 to 400, not 1 to 100) and says they read the last
    request."""
    page = _open(visit)
    slow = {"optimizer": {"type": "sgd", "learning_rate": 0.01}, "epochs": 400}
    _paste(page, _vanishing() | slow)
    _train(page)
    expect(page.locator("#health caption")).to_contain_text("epoch 400")
    vanishing = page.locator('#health .diagnosis[data-id="vanishing_gradients"]')
    expect(vanishing).to_have_count(1)
    told = re.search(r"\bin epoch (\d+) ", vanishing.inner_text())
    assert told is not None, vanishing.inner_text()
    assert 301 <= int(told.group(1)) <= 400, vanishing.inner_text()
    expect(page.locator("#health .note")).to_contain_text(
        "They read the run's last request, from epoch 301 on."
    )
    _assert_clean(visit)
