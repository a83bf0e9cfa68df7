"""Issue 25's TF Playground features on the page, in a real browser against the API's own
numbers: a small output map in every hidden unit of the diagram, shown large on hover or focus."""

import itertools
import json
import math
from typing import Any

import httpx
from playwright.sync_api import Page, Request, expect

from app.examples import NOTEBOOK_NETWORK, TRAIN
from tests.web.conftest import Visit
from tests.web.test_page import NOTEBOOK_SAMPLE, XOR, _assert_clean, _full, _open, _set, _train

BLUE, ORANGE = (37, 99, 235), (234, 88, 12)


def _xor_grid(side: int) -> list[list[float]]:
    """The grid the page evaluates for XOR's four corners: their box widened by a tenth on each
    side, row by row from the top, each cell at its centre (the page's own arithmetic)."""
    low, high = 0 - 0.1, 1 + 0.1
    return [
        [low + ((i + 0.5) * (high - low)) / side, high - ((j + 0.5) * (high - low)) / side]
        for j in range(side)
        for i in range(side)
    ]


def _unit_colours(values: list[float]) -> list[tuple[float, float, float]]:
    """A unit map's colours: blue for a > 0, orange for a < 0, white at 0, by a / max |a|."""
    largest = max(abs(value) for value in values) or 1
    colours = []
    for value in values:
        t = max(-1.0, min(1.0, value / largest))
        colour = BLUE if t >= 0 else ORANGE
        colours.append(tuple(255 + (c - 255) * abs(t) for c in colour))
    return colours


def _canvas_pixels(page: Page, selector: str) -> dict[str, Any]:
    """A canvas's size and RGBA bytes."""
    pixels: dict[str, Any] = page.locator(selector).evaluate(
        """canvas => ({side: canvas.width, data: Array.from(canvas.getContext("2d")
            .getImageData(0, 0, canvas.width, canvas.height).data)})"""
    )
    return pixels


def test_every_hidden_unit_shows_its_own_map_from_one_forward(visit: Visit) -> None:
    """XOR (2-3-2, tanh): each of the three hidden units carries a map whose pixels are /forward's
    a of that unit over the page's grid; the one /forward that draws the decision map asked for
    the layers, and no other /forward went out for the maps."""
    xor = json.loads(XOR.read_text())
    page = _open(visit)
    forwards: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda request: (
            forwards.append(json.loads(request.post_data or "{}"))
            if request.url.endswith("/forward")
            else None
        ),
    )
    page.select_option("#preset", "xor")
    expect(page.locator("body")).to_have_attribute("data-prepared", "xor")
    expect(page.locator("#network .node.mapped:not(.input)")).to_have_count(3)
    expect(page.locator('#network .node[data-layer="2"] .unit-map')).to_have_count(0)
    expect(page.locator('#network .node[data-layer="0"] .unit-map')).to_have_count(2)
    grids = [body for body in forwards if len(body["inputs"]) > 100]
    assert grids
    assert all(body["layers"] is True for body in grids)
    side = _canvas_pixels(page, '.node[data-layer="1"][data-unit="0"] .unit-map canvas')["side"]
    assert side == 32
    answer = httpx.post(
        f"{visit.origin}/forward", json={"network": xor["network"], "inputs": _xor_grid(side)}
    ).json()
    for unit in range(3):
        shown = _canvas_pixels(page, f'.node[data-layer="1"][data-unit="{unit}"] .unit-map canvas')
        values = [row[unit] for row in answer["layers"][0]["a"]]
        expected = _unit_colours(values)
        pixels = range(side * side)
        worst = max(
            abs(shown["data"][4 * k + c] - expected[k][c]) for k in pixels for c in range(3)
        )
        assert worst <= 1, (unit, worst)
        assert {shown["data"][4 * k + 3] for k in range(side * side)} == {255}
    assert not math.isclose(values[0], values[-1])
    _assert_clean(visit)


def test_hovering_or_focusing_a_hidden_unit_shows_its_map_large(visit: Visit) -> None:
    """Hover hidden unit 2: the decision map's place shows that unit's map (its title says so);
    the pointer leaving the diagram brings the decision map back; the keyboard does the same."""
    page = _open(visit)
    page.select_option("#preset", "xor")
    expect(page.locator("body")).to_have_attribute("data-prepared", "xor")
    expect(page.locator("#network .node.mapped:not(.input)")).to_have_count(3)
    canvas, title = page.locator("#heatmap"), page.locator("#heatmap-title")
    expect(canvas).to_have_attribute("data-shows", "output")
    decision = _canvas_pixels(page, "#heatmap")["data"]
    page.locator('#network .node[data-layer="1"][data-unit="1"]').hover()
    expect(canvas).to_have_attribute("data-shows", "1.1")
    expect(title).to_have_text("hidden layer 1, unit 2: its output a over the plane")
    assert _canvas_pixels(page, "#heatmap")["data"] != decision
    xor = json.loads(XOR.read_text())
    side = 32  # XOR's grid, as the test above finds
    answer = httpx.post(
        f"{visit.origin}/forward", json={"network": xor["network"], "inputs": _xor_grid(side)}
    ).json()
    largest = max(abs(row[1]) for row in answer["layers"][0]["a"])
    expect(page.locator("#map-scale")).to_have_text(f"a = −{largest:.8g}0+{largest:.8g}")
    page.mouse.move(0, 0)
    expect(canvas).to_have_attribute("data-shows", "output")
    expect(title).to_have_text("Decision map")
    assert _canvas_pixels(page, "#heatmap")["data"] == decision
    expect(page.locator("#map-scale")).to_have_text("class 1class 2")
    page.locator('#network .node[data-layer="1"][data-unit="0"]').focus()
    expect(canvas).to_have_attribute("data-shows", "1.0")
    page.keyboard.press("ArrowDown")
    expect(canvas).to_have_attribute("data-shows", "1.1")
    page.locator('#network .node[data-layer="2"][data-unit="0"]').focus()
    expect(canvas).to_have_attribute("data-shows", "output")
    page.locator("#train").focus()
    expect(title).to_have_text("Decision map")
    _assert_clean(visit)


L2 = {"type": "l2", "rate": 0.1}


def _trained_with(requests: list[Request]) -> list[dict[str, Any]]:
    """The bodies of the /train and /train/stream requests among ``requests``."""
    return [
        json.loads(request.post_data or "{}")
        for request in requests
        if request.url.endswith(("/train", "/train/stream"))
    ]


def test_regularization_goes_to_train_and_shows_in_the_numbers(visit: Visit) -> None:
    """The notebook with L2 at 0.1: /train gets it; before training, w₁₂⁽²⁾'s gradient in the
    details box is /backward's with the penalty; the worked solution writes the penalty's term as
    /explain does; the run's final loss is /train's with it; a negative rate's 422 shows beside
    the rate field."""
    body = {"network": NOTEBOOK_NETWORK, **NOTEBOOK_SAMPLE, "regularization": L2}
    gradient = httpx.post(f"{visit.origin}/backward", json=body).json()["gradients"][1]["weights"]
    unpenalized = {"network": NOTEBOOK_NETWORK, **NOTEBOOK_SAMPLE}
    plain = httpx.post(f"{visit.origin}/backward", json=unpenalized).json()["gradients"][1]
    page = _open(visit)
    expect(page.locator("#regularization-rate")).to_be_disabled()
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    page.select_option("#regularization", "l2")
    expect(page.locator("#regularization-rate")).to_be_enabled()
    expect(page.locator("body")).to_have_attribute("data-prepared", "notebook")
    page.fill("#regularization-rate", "0.1")
    page.locator("#regularization-rate").press("Tab")  # leaving the field commits it
    expect(page.locator("body")).to_have_attribute("data-prepared", "notebook")
    page.locator('line.edge[data-layer="1"][data-unit="0"][data-from="1"]').focus()
    shown = _full(page, "gradient")
    expect(shown).to_have_attribute("data-full", repr(gradient[0][1]))
    assert plain["weights"][0][1] != gradient[0][1]
    page.click("#explain-box summary")
    expect(page.locator("#explain")).to_contain_text("l2 penalty")
    _train(page)
    sent = _trained_with(requests)
    assert sent
    assert all(request["regularization"] == L2 for request in sent)
    final = httpx.post(
        f"{visit.origin}/train", json=TRAIN | {"regularization": L2, "trace": {"include": []}}
    ).json()["final_loss"]
    expect(page.locator("#summary")).to_contain_text(f"final loss {final!r}.")
    _set(page, "#regularization-rate", "-1")
    _train(page, "failed")
    problem = page.locator(".field:has(#regularization-rate) .problem")
    expect(problem).to_contain_text("regularization.rate")
    expect(page.locator("#status")).to_have_text("failed: regularization.rate")
    _assert_clean(visit, expected_422=True)


def test_a_drawn_sets_settings_change_without_a_422(visit: Visit) -> None:
    """Circles, its noise changed: the form sends the set's own settings, never /datasets'
    input_features or grid as if they were number fields."""
    page = _open(visit)
    page.select_option("#preset", "circles")
    expect(page.locator("body")).to_have_attribute("data-prepared", "circles")
    _set(page, "#noise", "0.1")
    expect(page.locator("body")).to_have_attribute("data-prepared", "circles")
    expect(page.locator("#network .node.mapped:not(.input)")).to_have_count(8)
    _assert_clean(visit)


def _posted(requests: list[Request], path: str) -> list[dict[str, Any]]:
    """The bodies posted to ``path`` among ``requests``."""
    return [json.loads(r.post_data or "{}") for r in requests if r.url.endswith(path)]


def _wait_for_grid(page: Page, requests: list[Request], features: list[str]) -> None:
    """Wait (up to 15 s) until the map has asked /datasets for the grid of ``features`` and then
    /forward for its values: after quick toggles the map of an earlier state may still be the
    last one drawn, its own requests already sent."""
    for _ in range(150):
        bodies = [
            (request.url, json.loads(request.post_data or "{}"))
            for request in requests
            if request.url.endswith(("/datasets", "/forward"))
        ]
        grids = [
            index
            for index, (url, body) in enumerate(bodies)
            if url.endswith("/datasets") and "grid" in body
        ]
        if grids and bodies[grids[-1]][1].get("input_features") == features:
            later = bodies[grids[-1] + 1 :]
            if any(url.endswith("/forward") and len(body["inputs"]) > 100 for url, body in later):
                return
        page.wait_for_timeout(100)
    raise AssertionError(f"no map of {features} was asked for")


def test_feature_toggles_apply_to_the_data_and_the_grid(visit: Visit) -> None:
    """Circles on x₁² and x₂² alone: the input nodes are those features; /train's inputs are
    /datasets' features of the set's points; the map's /forward evaluates /datasets' grid of those
    features (its rows from the top of the plane down); the map stays over the plane."""
    page = _open(visit)
    page.select_option("#preset", "circles")
    expect(page.locator("body")).to_have_attribute("data-prepared", "circles")
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    for feature in ("x1_squared", "x2_squared", "x1", "x2"):
        page.locator(f"#feature-{feature}").click()
    expect(page.locator("#feature-x1_squared")).to_be_checked()
    expect(page.locator("#feature-x1")).not_to_be_checked()
    expect(page.locator("body")).to_have_attribute("data-prepared", "circles")
    expect(page.locator('#network .node[data-layer="0"] text')).to_have_text(["x₁²", "x₂²"])
    expect(page.locator("#heatmap-box")).to_be_visible()
    expect(page.locator("#network .node.mapped:not(.input)")).to_have_count(8)
    final = ["x1_squared", "x2_squared"]
    _wait_for_grid(page, requests, final)
    sets = _posted(requests, "/datasets")
    featured = [body for body in sets if body.get("input_features") and "grid" not in body]
    assert featured[-1]["input_features"] == final
    drawn = httpx.post(f"{visit.origin}/datasets", json=featured[-1]).json()
    gridded = [body for body in sets if "grid" in body]
    assert gridded[-1]["input_features"] == final
    grid = httpx.post(f"{visit.origin}/datasets", json=gridded[-1]).json()["grid_inputs"]
    steps = gridded[-1]["grid"]["steps"]
    upside_down = [row for i in reversed(range(steps)) for row in grid[i * steps : (i + 1) * steps]]
    forwards = [body for body in _posted(requests, "/forward") if len(body["inputs"]) > 100]
    assert forwards[-1]["inputs"] == upside_down
    _train(page)
    trained = _trained_with(requests)
    assert trained[0]["inputs"] == drawn["inputs"]
    assert len(trained[0]["network"]["layers"][0]["weights"][0]) == 2
    _assert_clean(visit)


PURE_SHARE = """(c, pure) => { const d = c.getContext('2d').getImageData(0, 0, c.width,
    c.height).data; let near = 0;
    const close = (i, p) => p.every((v, k) => Math.abs(d[i + k] - v) <= 2);
    for (let i = 0; i < d.length; i += 4) if (pure.some((p) => close(i, p))) near++;
    return near / (d.length / 4); }"""


def test_test_data_discretized_output_and_axes_on_the_map(visit: Visit) -> None:
    """Circles (a quarter held out): its 50 test points are drawn, then hidden with "Show test
    data" off; "Discretize output" paints each cell its most likely class at full strength;
    the map's axes carry round ticks over the points' box."""
    page = _open(visit)
    page.select_option("#preset", "circles")
    expect(page.locator("body")).to_have_attribute("data-prepared", "circles")
    canvas = page.locator("#heatmap")
    held_out = 200 // 4
    expect(canvas).to_have_attribute("data-test-points", str(held_out))
    page.locator("#show-test").uncheck()
    expect(canvas).to_have_attribute("data-test-points", "0")
    page.locator("#show-test").check()
    expect(canvas).to_have_attribute("data-test-points", str(held_out))
    pure = [[round(255 + (c - 255) * 140 / 255) for c in colour] for colour in (BLUE, ORANGE)]
    graded = canvas.evaluate(PURE_SHARE, pure)
    page.locator("#discretize").check()
    expect(canvas).to_have_attribute("data-discrete", "true")
    discretized = canvas.evaluate(PURE_SHARE, pure)
    assert discretized > 0.8 > graded
    page.locator("#discretize").uncheck()
    expect(canvas).to_have_attribute("data-discrete", "false")
    assert canvas.evaluate(PURE_SHARE, pure) == graded
    ticks_x = [float(t) for t in (canvas.get_attribute("data-ticks-x") or "").split(",")]
    assert 3 <= len(ticks_x) <= 6
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks_x)}
    assert len(steps) == 1
    assert steps.pop() in {0.1, 0.2, 0.5, 1.0, 2.0, 5.0}
    page.select_option("#preset", "xor")
    expect(page.locator("body")).to_have_attribute("data-prepared", "xor")
    expect(canvas).to_have_attribute("data-ticks-x", "0,0.5,1")
    expect(canvas).to_have_attribute("data-ticks-y", "0,0.5,1")
    _assert_clean(visit)
