"""The playground at ``/`` in a real browser: its numbers are the API's, nothing leaves the app's
origin, nothing logs an error. With ``PAGE_SCREENSHOTS=1`` the tests also write the docs'
screenshots into docs/images/ (off by default, so that a test run leaves the tree clean)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
from playwright.sync_api import Locator, Page, Route, expect

from app.api.routes.docs import WEB_DIR
from app.api.routes.page import CSP
from app.examples import NOTEBOOK_NETWORK, TRAIN
from app.nn.activations import ActivationName
from app.nn.init import InitName
from app.nn.losses import LossName
from app.schemas.training import OptimizerState
from tests.web.conftest import Visit

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "images"
XOR = ROOT / "examples" / "xor.json"
NOTEBOOK_SAMPLE = {"inputs": [-1.0, 2.0, 1.5], "targets": [1.0], "loss": "half_squared_error"}


def _open(visit: Visit, path: str = "/", size: tuple[int, int] = (1280, 800)) -> Page:
    """The page at ``path``, once its first view is drawn."""
    visit.page.set_viewport_size({"width": size[0], "height": size[1]})
    visit.page.goto(path)
    expect(visit.page.locator("body")).to_have_attribute("data-ready", "true", timeout=15_000)
    return visit.page


def _train(page: Page, status: str = "completed") -> None:
    """Press Train and wait for the run to end with ``status``."""
    page.click("#train")
    expect(page.locator("#status")).to_have_attribute("data-status", status, timeout=30_000)


def _screenshot(page: Page, name: str, top: str | None = None) -> None:
    """Write docs/images/NAME.png (the viewport, scrolled to ``top`` when given) when
    PAGE_SCREENSHOTS is set."""
    if os.environ.get("PAGE_SCREENSHOTS"):
        if top:
            page.locator(top).evaluate("node => node.scrollIntoView({block: 'start'})")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}.png")


SHED = "the server responded with a status of 503"
"""The browser's own line for a 503, which the page sends again after its Retry-After."""


def _assert_clean(visit: Visit, expected_422: bool = False) -> None:
    """Nothing left the origin, nothing logged an error but the browser's own lines, which no
    script can silence: one per expected 422 answer, and one per 503 the page sent again (a
    busy server's compute slots, counted in body[data-retried])."""
    assert visit.outside_requests() == []
    retried = int(visit.page.locator("body").get_attribute("data-retried") or 0)
    assert len([error for error in visit.errors if SHED in error]) <= retried
    ignored = "the server responded with a status of 422" if expected_422 else None
    unexplained = [error for error in visit.errors if SHED not in error]
    assert [error for error in unexplained if not (ignored and ignored in error)] == []


@pytest.mark.screenshot
def test_the_page_loads_from_its_own_origin_under_a_strict_csp(visit: Visit) -> None:
    answer = httpx.get(f"{visit.origin}/")
    assert answer.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP
    assert "style-src 'self'" in CSP
    assert "<script>" not in answer.text
    assert " style=" not in answer.text
    page = _open(visit)
    assert page.title() == "backprop-api playground"
    expect(page.locator("#preset")).to_have_value("notebook")
    expect(page.locator("#epoch-counter")).to_have_text("epoch 0 / 10")
    _screenshot(page, "playground-start")
    _assert_clean(visit)


def test_ten_notebook_epochs_show_the_notebooks_loss_and_trains_final_loss(visit: Visit) -> None:
    expected = httpx.post(f"{visit.origin}/train", json=TRAIN).json()
    page = _open(visit)
    _train(page)
    expect(page.locator("#epoch-counter")).to_have_text("epoch 10 / 10")
    expect(page.locator("#summary")).to_contain_text(f"final loss {expected['final_loss']!r}")
    expect(page.locator("#curve")).to_have_attribute("data-points", str(len(expected["trace"])))
    page.locator("#scrubber").fill("0")
    expect(page.locator("body")).to_have_attribute("data-epoch", "1")
    expect(page.locator("#scrub-label")).to_have_text("epoch 1, loss 1.7766125")
    expect(page.locator("#printout .loss-value")).to_have_text("1.7766125")
    _assert_clean(visit)


def test_a_busy_servers_503_is_sent_again_after_its_retry_after(visit: Visit) -> None:
    """The first /backward and the first stream are refused as a busy server refuses them (503,
    Retry-After: 1): the page sends each again and shows the same numbers, with no error."""
    refused: list[str] = []

    def busy_once(route: Route) -> None:
        path = route.request.url.removeprefix(visit.origin)
        if path in refused:
            route.continue_()
            return
        refused.append(path)
        detail = {"detail": "all 4 compute slots are busy; try again after Retry-After seconds"}
        route.fulfill(status=503, headers={"retry-after": "1"}, json=detail)

    visit.page.route("**/backward", busy_once)
    visit.page.route("**/train/stream", busy_once)
    expected = httpx.post(f"{visit.origin}/train", json=TRAIN).json()
    page = _open(visit)
    _train(page)
    expect(page.locator("#summary")).to_contain_text(f"final loss {expected['final_loss']!r}")
    expect(page.locator("#curve")).to_have_attribute("data-points", str(len(expected["trace"])))
    assert refused == ["/backward", "/train/stream"]
    expect(page.locator("body")).to_have_attribute("data-retried", "2")
    expect(page.locator("#run-error")).to_have_text("")
    _assert_clean(visit)


def _full(page: Page, key: str) -> Locator:
    """The number the details box shows for ``key``: its text has 8 significant digits, its
    ``data-full`` the float64 value."""
    return page.locator(f'#details dd[data-key="{key}"] .number')


def test_an_edge_shows_the_gradient_backward_gives(visit: Visit) -> None:
    """w₁₂⁽²⁾ (hidden unit 2 to the output), before training: its gradient is /backward's."""
    body = {"network": NOTEBOOK_NETWORK, **NOTEBOOK_SAMPLE}
    gradient = httpx.post(f"{visit.origin}/backward", json=body).json()["gradients"][1]["weights"]
    page = _open(visit)
    page.locator('line.edge[data-layer="1"][data-unit="0"][data-from="1"]').focus()
    shown = _full(page, "gradient")
    expect(shown).to_have_attribute("data-full", repr(gradient[0][1]))
    assert float(shown.get_attribute("data-full") or "nan") == gradient[0][1]
    expect(shown).to_have_text(f"{gradient[0][1]:.8g}")
    expect(page.locator('#details dd[data-key="weight"]')).to_have_text("-0.7")
    page.locator('.node[data-layer="1"][data-unit="1"]').focus()
    expect(_full(page, "z")).to_have_attribute("data-full", "1.4500000000000002")
    expect(_full(page, "z")).to_have_text("1.45")
    expect(_full(page, "delta")).to_have_attribute("data-full", "1.3195000000000001")
    _assert_clean(visit)


CORNERS = """c => { const g = c.getContext('2d');
    return [[0.03, 0.03], [0.97, 0.03], [0.03, 0.97], [0.97, 0.97]].map(([x, y]) => {
        const at = [Math.round(x * c.width), Math.round(y * c.height)];
        const [r, , b] = g.getImageData(at[0], at[1], 1, 1).data;
        return r > b ? 'orange' : 'blue'; }); }"""


@pytest.mark.screenshot
def test_the_xor_preset_draws_a_heatmap(visit: Visit) -> None:
    """Trained, the map is orange (class 1) by (0, 1) and (1, 0), blue by (0, 0) and (1, 1)."""
    expected = httpx.post(f"{visit.origin}/train", json=json.loads(XOR.read_text())).json()
    page = _open(visit)
    page.select_option("#preset", "xor")
    canvas = page.locator("#heatmap")
    expect(canvas).to_be_visible()
    expect(canvas).to_have_attribute("data-draw-ms", re.compile(r"^\d"))
    _train(page, "target_reached")
    expect(page.locator("#summary")).to_contain_text(
        f"Target reached after {expected['epochs_run']} epochs"
    )
    expect(page.locator("body")).to_have_attribute("data-epoch", str(expected["epochs_run"]))
    assert canvas.evaluate(CORNERS) == ["orange", "blue", "blue", "orange"]
    _screenshot(page, "playground-xor", top=".see")
    _assert_clean(visit)


def test_a_copied_link_restores_the_same_state_in_a_fresh_page(visit: Visit) -> None:
    page = _open(visit)
    page.fill("#lr", "0.05")
    page.fill("#epochs", "6")
    page.locator("#epochs").dispatch_event("change")
    expect(page.locator("#epoch-counter")).to_have_text("epoch 0 / 6")
    _train(page)
    page.locator("#scrubber").fill("2")
    expect(page.locator("body")).to_have_attribute("data-epoch", "3")
    label = page.locator("#scrub-label").inner_text()
    assert label.startswith("epoch 3, loss ")
    loss = page.locator("#printout .loss-value").inner_text()
    page.click("#copy-url")
    link = page.locator("#share-output").input_value()
    assert link.startswith(f"{visit.origin}/#s=")
    fresh = page.context.new_page()
    fresh.goto(link)
    expect(fresh.locator("#status")).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(fresh.locator("#lr")).to_have_value("0.05")
    expect(fresh.locator("#epochs")).to_have_value("6")
    expect(fresh.locator("#scrub-label")).to_have_text(label)
    expect(fresh.locator("#printout .loss-value")).to_have_text(loss)
    page.select_option("#preset", "xor")  # the same link pasted into a tab that moved on
    expect(page.locator("body")).to_have_attribute("data-prepared", "xor")
    page.goto(link)
    expect(page.locator("#status")).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(page.locator("#preset")).to_have_value("notebook")
    expect(page.locator("#scrub-label")).to_have_text(label)
    _assert_clean(visit)


@pytest.mark.screenshot
def test_the_exercise_marks_a_planted_mistake_wrong_with_its_hint(visit: Visit) -> None:
    page = _open(visit)
    page.click("#exercise-box summary")
    page.fill("#claim-layers-0-a", "0.1, 1.45")
    page.fill("#claim-loss", "3.553225")  # the ½ dropped
    page.click("#exercise button[type=submit]")
    right = page.locator(".exercise-field:has(#claim-layers-0-a)")
    wrong = page.locator(".exercise-field:has(#claim-loss)")
    expect(right).to_have_class(re.compile(r"\bright\b"))
    expect(wrong).to_have_class(re.compile(r"\bwrong\b"))
    expect(wrong.locator(".verdict")).to_contain_text("the ½ is missing")
    wrong.locator(".step-link").click()
    expect(page.locator("#step-loss")).to_be_focused()
    expect(page.locator("#step-loss .katex").first).to_be_visible()
    _screenshot(page, "playground-exercise", top="#exercise-box")
    _assert_clean(visit)


def test_the_exercise_marks_a_value_carried_forward_from_a_slip(visit: Visit) -> None:
    """a of layer 0 wrong, the loss computed from it (to 5 decimals): the loss is marked as
    carried forward from layers[0].a, not wrong."""
    page = _open(visit)
    page.click("#exercise-box summary")
    page.fill("#claim-layers-0-a", "0.2, 1.45")
    page.fill("#claim-loss", "1.72051")
    page.click("#exercise button[type=submit]")
    slip = page.locator(".exercise-field:has(#claim-layers-0-a)")
    carried = page.locator(".exercise-field:has(#claim-loss)")
    expect(slip).to_have_class(re.compile(r"\bwrong\b"))
    expect(carried).to_have_class(re.compile(r"\bcarried\b"))
    expect(carried.locator(".verdict")).to_have_text(
        "↪ carried forward from your a⁽¹⁾: right from there"
    )
    carried.locator(".carried-link").click()
    expect(page.locator("#claim-layers-0-a")).to_be_focused()
    _assert_clean(visit)


SHOWN = re.compile(
    r"^(?P<kind>[za]|L|∂L/∂W|∂L/∂b|W(?=\S* ←)|b(?=\S* ←))(?P<layer>\d*)(?:\[(?P<at>[\d,]+)\])?"
    r".* = (?P<value>[−\d.e+]+)(?:   \(.*)?$"
)
FIELDS = {
    "z": "layers-{}-z",
    "a": "layers-{}-a",
    "L": "loss",
    "∂L/∂W": "gradients-{}-weights",
    "∂L/∂b": "gradients-{}-bias",
    "W": "network-layers-{}-weights",
    "b": "network-layers-{}-bias",
}


def _shown_fields(worked: str) -> dict[str, str]:
    """Each exercise field's id and its numbers as a worked solution in text shows them (rows
    of a matrix joined by "; ")."""
    found: dict[str, dict[tuple[int, ...], str]] = {}
    for line in worked.splitlines():
        match = SHOWN.match(line)
        if match:
            layer = int(match["layer"]) - 1 if match["layer"] else 0
            field = "claim-" + FIELDS[match["kind"]].format(layer)
            at = tuple(int(i) for i in (match["at"] or "0").split(","))
            found.setdefault(field, {})[at] = match["value"].replace("−", "-")
    fields = {}
    for field, values in found.items():
        rows = sorted({at[0] for at in values})
        if len(next(iter(values))) == 2:
            fields[field] = "; ".join(
                ", ".join(v for at, v in sorted(values.items()) if at[0] == row) for row in rows
            )
        else:
            fields[field] = ", ".join(v for _, v in sorted(values.items()))
    return fields


def test_the_exercise_accepts_the_worked_solutions_displayed_values(visit: Visit) -> None:
    """Every field typed as the worked solution shows it (6 significant figures): all right."""
    request = {
        "network": NOTEBOOK_NETWORK,
        **NOTEBOOK_SAMPLE,
        "optimizer": {"type": "sgd", "learning_rate": 0.01},
        "format": "text",
    }
    fields = _shown_fields(httpx.post(f"{visit.origin}/explain", json=request).text)
    assert len(fields) == 13
    assert fields["claim-loss"] == "1.77661"
    page = _open(visit)
    page.click("#exercise-box summary")
    for field, text in fields.items():
        page.fill(f"#{field}", text)
    page.click("#exercise button[type=submit]")
    for field in fields:
        expect(page.locator(f".exercise-field:has(#{field})")).to_have_class(
            re.compile(r"\bright\b")
        )
    _assert_clean(visit)


def test_the_exercise_states_its_rule_and_counts_layers_from_1(visit: Visit) -> None:
    """The note says how answers are graded; the labels are the worked solution's (a⁽¹⁾, W⁽²⁾),
    and so are the layers a verdict names (the server's layer 0 is layer 1 here)."""
    page = _open(visit)
    page.click("#exercise-box summary")
    expect(page.locator("#exercise-note")).to_contain_text(
        "Rounded or truncated answers are right; give at least 3 significant figures."
    )
    expect(page.locator("label[for=claim-layers-0-a]")).to_have_text("a⁽¹⁾")
    expect(page.locator("label[for=claim-network-layers-1-weights]")).to_have_text(
        "W⁽²⁾ after the step"
    )
    page.fill("#claim-gradients-1-weights", "-0.5, -0.5")  # no usual mistake: the formula
    page.click("#exercise button[type=submit]")
    # δ of the first layer back-propagated through the second's updated weights
    page.fill("#claim-gradients-0-bias", "-0.569053, 1.267978")
    page.click("#exercise button[type=submit]")
    wrong = page.locator(".exercise-field:has(#claim-gradients-1-weights) .verdict")
    expect(wrong).to_contain_text("∂L/∂W⁽²⁾ = δ⁽²⁾·a_prevᵀ, a_prev = layer 1's a")
    updated = page.locator(".exercise-field:has(#claim-gradients-0-bias) .verdict")
    expect(updated).to_contain_text(
        "layer 2's weights after their update are used: δ⁽¹⁾ is back-propagated through W⁽²⁾ "
        "as it was before the step, in layer 1's δ (unit 2)"
    )
    _assert_clean(visit)


def test_the_exercise_marks_an_unreadable_field_and_checks_the_others(visit: Visit) -> None:
    """A field of letters is marked beside itself, unread; a vector typed as two rows goes to
    /check, which marks its shape; the loss beside them is graded right."""
    page = _open(visit)
    page.click("#exercise-box summary")
    page.fill("#claim-layers-0-z", "0.1, abc")
    page.fill("#claim-layers-0-a", "0.1; 1.45")
    page.fill("#claim-loss", "1.77661")
    page.click("#exercise button[type=submit]")
    unread = page.locator(".exercise-field:has(#claim-layers-0-z)")
    shape = page.locator(".exercise-field:has(#claim-layers-0-a)")
    right = page.locator(".exercise-field:has(#claim-loss)")
    expect(right).to_have_class(re.compile(r"\bright\b"))
    expect(unread).to_have_class(re.compile(r"\bwrong\b"))
    expect(unread.locator(".verdict")).to_have_text("✗ not read — numbers only, e.g. 0.1, -2.5e-3")
    expect(shape).to_have_class(re.compile(r"\bwrong\b"))
    expect(shape.locator(".verdict")).to_contain_text("expected shape (2,)")
    expect(page.locator("#exercise-error")).to_have_text("")
    _assert_clean(visit)


def test_the_exercises_worked_step_is_the_step_it_checks(visit: Visit) -> None:
    """XOR trains 4 samples with Adam; the exercise checks one SGD step on sample 1 alone, and
    its link opens that step's worked solution: the loss is sample 1's alone."""
    body = json.loads(XOR.read_text())
    one = {"inputs": body["inputs"][0], "targets": body["targets"][0], "loss": body["loss"]}
    loss = httpx.post(f"{visit.origin}/loss", json={"network": body["network"], **one}).json()
    data = {key: body[key] for key in ("network", "inputs", "targets", "loss")}
    batch = httpx.post(f"{visit.origin}/loss", json=data).json()
    assert f"{batch['loss']:.6g}" != f"{loss['loss']:.6g}"
    page = _open(visit)
    page.select_option("#preset", "xor")
    expect(page.locator("body")).to_have_attribute("data-prepared", "xor")
    page.click("#exercise-box summary")
    page.fill("#claim-loss", "5")
    page.click("#exercise button[type=submit]")
    page.locator(".exercise-field:has(#claim-loss) .step-link").click()
    expect(page.locator("#step-loss")).to_be_focused()
    expect(page.locator("#explain-note")).to_contain_text("The exercise's step")
    expect(page.locator("#step-loss")).to_contain_text(f"{loss['loss']:.6g}")
    _assert_clean(visit)


def test_a_pasted_invalid_request_shows_the_422_message(visit: Visit) -> None:
    body: dict[str, Any] = json.loads(json.dumps(TRAIN))
    body["network"]["layers"][1]["weights"] = [[0.3, -0.7, 0.2]]
    message = httpx.post(f"{visit.origin}/train", json=body).json()["detail"][0]["msg"]
    page = _open(visit)
    page.click("#paste-box summary")
    page.fill("#paste", json.dumps(body))
    page.click("#load-paste")
    expect(page.locator("#paste-box .problem")).to_contain_text(message)
    _assert_clean(visit, expected_422=True)


def test_an_invalid_setting_shows_the_422_message_beside_its_field(visit: Visit) -> None:
    page = _open(visit)
    page.fill("#lr", "-1")
    page.locator("#lr").dispatch_event("change")
    _train(page, "failed")
    problem = page.locator(".field:has(#lr) .problem")
    expect(problem).to_contain_text(
        "optimizer.learning_rate: Input should be greater than or equal to 0"
    )
    expect(page.locator("#lr")).to_have_attribute("aria-invalid", "true")
    _assert_clean(visit, expected_422=True)


@pytest.mark.screenshot
def test_the_page_is_readable_at_phone_width(visit: Visit) -> None:
    page = _open(visit, size=(390, 844))
    _train(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    _screenshot(page, "playground-phone", top=".run")
    _assert_clean(visit)


def test_the_forms_names_are_the_engines() -> None:
    """vocab.js lists the activations, losses, init schemes and optimizers the API accepts."""
    source = (WEB_DIR / "page" / "vocab.js").read_text()

    def listed(name: str) -> list[str]:
        match = re.search(rf"export const {name} = \[(.*?)\];", source, re.S)
        assert match is not None, name
        return re.findall(r'"([a-z_]+)"', match[1])

    assert listed("ACTIVATIONS") == list(get_args(ActivationName))
    assert listed("LOSSES") == list(get_args(LossName))
    assert listed("INITS") == list(get_args(InitName))
    assert listed("OPTIMIZERS") == list(get_args(OptimizerState.model_fields["type"].annotation))


def test_every_module_is_preloaded_with_the_page() -> None:
    """The modules load in one round, not import by import (main.js is the page's own script)."""
    html = (WEB_DIR / "page" / "index.html").read_text()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/static/([^"]+)">', html))
    modules = {f"page/{path.name}" for path in (WEB_DIR / "page").glob("*.js")}
    assert preloaded == modules - {"page/main.js"} | {"vendor/uplot@1.6.32/dist/uPlot.esm.js"}


@pytest.mark.parametrize("path", ["page/index.html"])
def test_the_page_has_no_inline_script_or_style(path: str) -> None:
    html = (WEB_DIR / path).read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert "<style" not in html
    assert re.search(r"\son[a-z]+=", html) is None
    assert re.search(r"\sstyle=", html) is None


def _set(page: Page, field: str, value: str) -> None:
    """Type into a field and commit it, as leaving the field does."""
    page.fill(field, value)
    page.locator(field).dispatch_event("change")


LAG_PROBE = """() => { window.lags = []; let due = performance.now() + 20;
    window.lagTimer = setInterval(() => { const now = performance.now();
        window.lags.push(now - due); due = now + 20; }, 20); }"""


def test_a_long_run_streams_pauses_resumes_and_keeps_the_page_responsive(visit: Visit) -> None:
    """10,000 notebook epochs: paused and resumed, the same final loss as one /train request;
    the curve holds one point per recorded line (a few hundred); timers keep running."""
    expected = httpx.post(
        f"{visit.origin}/train",
        json=TRAIN | {"epochs": 10_000, "trace": {"every": 10_000, "include": ["loss"]}},
    ).json()
    page = _open(visit)
    _set(page, "#epochs", "10000")
    expect(page.locator("#epoch-counter")).to_have_text("epoch 0 / 10000")
    page.evaluate(LAG_PROBE)
    page.click("#train")
    expect(page.locator("#epoch-counter")).not_to_have_text("epoch 0 / 10000")
    page.click("#pause")
    expect(page.locator("#status")).to_have_attribute("data-status", "paused")
    paused_at = int(page.locator("#epoch-counter").inner_text().split()[1])
    assert 0 < paused_at < 10_000
    expect(page.locator("#train")).to_have_text("Resume")
    _train(page)
    expect(page.locator("#summary")).to_contain_text(f"final loss {expected['final_loss']!r}")
    lags = page.evaluate("(clearInterval(window.lagTimer), window.lags)")
    assert max(lags) < 500, f"the page froze for {max(lags):.0f} ms"
    points = int(page.locator("#curve").get_attribute("data-points") or 0)
    assert 500 <= points <= 600
    _assert_clean(visit)


def test_stop_cancels_the_stream(visit: Visit) -> None:
    page = _open(visit)
    _set(page, "#epochs", "200000")
    page.click("#train")
    expect(page.locator("#epoch-counter")).not_to_have_text("epoch 0 / 200000")
    page.click("#stop")
    expect(page.locator("#status")).to_have_attribute("data-status", "stopped")
    counter = page.locator("#epoch-counter").inner_text()
    page.wait_for_timeout(500)
    expect(page.locator("#epoch-counter")).to_have_text(counter)
    assert int(counter.split()[1]) < 200_000
    expect(page.locator("#summary")).to_contain_text("Stopped at epoch")
    expect(page.locator("#train")).to_be_disabled()
    _assert_clean(visit)


def test_divergence_is_shown_as_divergence(visit: Visit) -> None:
    body = TRAIN | {"optimizer": {"type": "sgd", "learning_rate": 1e150}, "epochs": 5}
    expected = httpx.post(f"{visit.origin}/train", json=body).json()
    page = _open(visit)
    _set(page, "#lr", "1e150")
    _train(page, "diverged")
    expect(page.locator("#status")).to_have_text("diverged")
    expect(page.locator("#summary")).to_have_text(
        f"Diverged at epoch {expected['diverged_at_epoch']}: {expected['divergence']}"
    )
    _assert_clean(visit)


def test_copy_as_json_curl_and_python_run_the_pages_request(visit: Visit) -> None:
    """Each copied form of the request, run outside the browser, ends at the page's final loss."""
    page = _open(visit)
    _train(page)
    summary = page.locator("#summary").inner_text()
    page.click("#copy-json")
    body = json.loads(page.locator("#share-output").input_value())
    assert (
        f"final loss {httpx.post(f'{visit.origin}/train', json=body).json()['final_loss']!r}"
        in (summary)
    )
    page.click("#copy-curl")
    curl = page.locator("#share-output").input_value()
    ran = subprocess.run(["sh", "-c", curl], capture_output=True, check=True, text=True)
    assert f"final loss {json.loads(ran.stdout)['final_loss']!r}" in summary
    page.click("#copy-python")
    script = page.locator("#share-output").input_value()
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True, text=True)
    status, epochs, final_loss = ran.stdout.split()
    assert (status, epochs) == ("completed", "10")
    assert f"final loss {final_loss}" in summary
    _assert_clean(visit)


def test_the_trained_network_downloads_as_json(visit: Visit) -> None:
    expected = httpx.post(f"{visit.origin}/train", json=TRAIN).json()
    page = _open(visit)
    _train(page)
    with page.expect_download() as download:
        page.click("#download-network")
    assert download.value.suggested_filename == "network.json"
    saved = json.loads(Path(download.value.path()).read_text())
    assert saved == {"network": expected["network"]}
    _assert_clean(visit)


def test_a_pasted_example_trains_as_it_is(visit: Visit) -> None:
    """Mazur's example file, pasted: his first loss, 0.298371109, and the API's final loss."""
    body = json.loads((ROOT / "examples" / "mazur.json").read_text())
    expected = httpx.post(f"{visit.origin}/train", json=body).json()
    page = _open(visit)
    page.click("#paste-box summary")
    page.fill("#paste", json.dumps(body, indent=2))
    page.click("#load-paste")
    expect(page.locator("#preset")).to_have_value("paste")
    expect(page.locator("#lr")).to_have_value("0.5")
    _train(page)
    expect(page.locator("#printout .loss-value")).to_have_text("0.29837111")
    expect(page.locator("#summary")).to_contain_text(f"final loss {expected['final_loss']!r}")
    _assert_clean(visit)


PRESETS: dict[str, tuple[int, list[int], str]] = {
    "mazur": (2, [2, 2], "Output map"),
    "xor": (2, [3, 2], "Decision map"),
    "circles": (2, [8, 2], "Decision map"),
    "moons": (2, [8, 2], "Decision map"),
    "spiral": (2, [16, 16, 3], "Decision map"),
    "blobs": (2, [8, 3], "Decision map"),
    "sine": (1, [16, 1], "The fitted curve"),
}


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_opens_and_trains_an_epoch(visit: Visit, preset: str) -> None:
    """Its network drawn unit by unit, its picture (2 inputs: a map, 1 input: a curve), an epoch."""
    inputs, sizes, picture = PRESETS[preset]
    page = _open(visit)
    page.select_option("#preset", preset)
    expect(page.locator("body")).to_have_attribute("data-prepared", preset)
    expect(page.locator("#network .node")).to_have_count(inputs + sum(sizes))
    expect(page.locator("#heatmap-title")).to_have_text(picture)
    expect(page.locator("#heatmap")).to_have_attribute("data-draw-ms", re.compile(r"^\d"))
    epochs = page.locator("#epochs").input_value()
    page.click("#step")
    expect(page.locator("#epoch-counter")).to_have_text(f"epoch 1 / {epochs}")
    expect(page.locator("#status")).to_have_attribute("data-status", "paused")
    _assert_clean(visit)


def test_a_data_set_problem_shows_beside_its_field(visit: Visit) -> None:
    """Too many samples: /datasets' limit message under Samples."""
    body = {"name": "moons", "samples": 20_000, "noise": 0.1, "seed": 0, "test_fraction": 0.25}
    message = httpx.post(f"{visit.origin}/datasets", json=body).json()["detail"][0]["msg"]
    page = _open(visit)
    page.select_option("#preset", "moons")
    expect(page.locator("body")).to_have_attribute("data-prepared", "moons")
    _set(page, "#samples", "20000")
    expect(page.locator(".field:has(#samples) .problem")).to_have_text(f"samples: {message}")
    expect(page.locator("#train")).to_be_disabled()
    _assert_clean(visit, expected_422=True)


def test_the_diagram_is_one_tab_stop_walked_with_the_arrow_keys(visit: Visit) -> None:
    page = _open(visit)
    page.locator("#sample").focus()
    page.keyboard.press("Shift+Tab")
    first = page.locator('#network .node[data-layer="0"][data-unit="0"]')
    expect(first).to_be_focused()
    expect(page.locator("#details .details-title")).to_have_text("Input x₁ of sample 1")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#details dd[data-key=x]")).to_have_text("2")
    page.keyboard.press("End")
    expect(page.locator("#details .details-title")).to_contain_text("Weight w₁₂⁽²⁾")
    expect(page.locator("#details dd[data-key=weight]")).to_have_text("-0.7")
    _assert_clean(visit)


def test_a_new_preset_mid_run_cancels_the_run_cleanly(visit: Visit) -> None:
    page = _open(visit)
    _set(page, "#epochs", "200000")
    page.click("#train")
    expect(page.locator("#epoch-counter")).not_to_have_text("epoch 0 / 200000")
    page.select_option("#preset", "xor")
    expect(page.locator("body")).to_have_attribute("data-prepared", "xor")
    expect(page.locator("#status")).to_have_attribute("data-status", "ready")
    expect(page.locator("#epoch-counter")).to_have_text("epoch 0 / 200")
    expect(page.locator("#curve")).to_have_attribute("data-points", "0")
    _assert_clean(visit)


def test_a_units_numbers_follow_the_selected_sample(visit: Visit) -> None:
    """XOR's third sample, [1, 0]: the first hidden unit's z is /backward's on that sample."""
    body = json.loads(XOR.read_text())
    one = {"inputs": [1.0, 0.0], "targets": [0.0, 1.0], "loss": "cross_entropy"}
    z = httpx.post(f"{visit.origin}/backward", json={"network": body["network"], **one}).json()
    page = _open(visit)
    page.select_option("#preset", "xor")
    expect(page.locator("body")).to_have_attribute("data-prepared", "xor")
    page.select_option("#sample", "2")
    expect(page.locator("body")).to_have_attribute("data-sample", "2")
    page.locator('#network .node[data-layer="0"][data-unit="0"]').focus()
    expect(page.locator('#details dd[data-key="x"]')).to_have_text("1")
    page.locator('#network .node[data-layer="1"][data-unit="0"]').focus()
    expect(_full(page, "z")).to_have_attribute("data-full", repr(z["layers"][0]["z"][0]))
    expect(_full(page, "delta")).to_have_attribute("data-full", repr(z["gradients"][0]["bias"][0]))
    _assert_clean(visit)
