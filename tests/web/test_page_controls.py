"""Issue 25's data and network controls as TF Playground has them, in a real browser: the noise
and test-split sliders (their values sent to /datasets and kept in the URL), Regenerate (a new
data seed), +/− buttons for the hidden layers and their units (bounded by the API's limits), and
each input node's map of its value over the plane."""

import base64
import json
from typing import Any

import httpx
from playwright.sync_api import Page, Request, expect

from app.config import Settings
from tests.web.conftest import Visit
from tests.web.test_page import _assert_clean, _open, _set
from tests.web.test_page_defects import PHONE
from tests.web.test_page_features import _canvas_pixels, _unit_colours, _xor_grid
from tests.web.test_page_validation import _copied_body

MOONS = {"name": "moons", "samples": 200, "noise": 0.1, "seed": 0, "test_fraction": 0.25}


def _url_state(page: Page) -> dict[str, Any]:
    """The page state its URL's hash holds (state.js's base64url of the JSON)."""
    code = page.evaluate("location.hash").removeprefix("#s=")
    state: dict[str, Any] = json.loads(base64.urlsafe_b64decode(code + "=" * (-len(code) % 4)))
    return state


def _recorder(page: Page) -> list[Request]:
    """Every request the page sends from now on."""
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    return requests


def _posted(requests: list[Request], path: str) -> list[dict[str, Any]]:
    """The bodies posted to ``path`` among ``requests``."""
    return [
        json.loads(request.post_data or "{}")
        for request in requests
        if request.method == "POST" and request.url.endswith(path)
    ]


def _moons(visit: Visit, size: tuple[int, int] = (1280, 800)) -> Page:
    """The page on the two moons preset (200 points, a quarter held out, 2-8-2 tanh)."""
    page = _open(visit, size=size)
    page.select_option("#preset", "moons")
    expect(page.locator("body")).to_have_attribute("data-prepared", "moons")
    return page


def _prepared(page: Page, preset: str = "moons") -> None:
    """Wait for the run a change started to be ready."""
    expect(page.locator("body")).to_have_attribute("data-prepared", preset)


def _sizes(body: dict[str, Any]) -> list[int]:
    """The units of each layer of a /train body's network."""
    return [len(layer["bias"]) for layer in body["network"]["layers"]]


def test_the_sliders_values_reach_datasets_and_the_url(visit: Visit) -> None:
    """Noise and test split are range inputs showing their value (to a screen reader too); moved,
    they are what /datasets is asked for, what the run validates on and what a link reopens."""
    page = _moons(visit)
    for slider in ("#noise", "#test-fraction"):
        expect(page.locator(slider)).to_have_attribute("type", "range")
    expect(page.locator("#noise-value")).to_have_text("0.1")
    expect(page.locator("#test-fraction-value")).to_have_text("25% (50 of 200 samples held out)")
    requests = _recorder(page)
    page.fill("#noise", "0.3")
    _prepared(page)
    expect(page.locator("#noise-value")).to_have_text("0.3")
    expect(page.locator("#noise")).to_have_attribute("aria-valuetext", "0.3")
    page.fill("#test-fraction", "0.5")
    _prepared(page)
    held = "50% (100 of 200 samples held out)"
    expect(page.locator("#test-fraction-value")).to_have_text(held)
    expect(page.locator("#test-fraction")).to_have_attribute("aria-valuetext", held)
    asked = _posted(requests, "/datasets")
    assert {**MOONS, "noise": 0.3} in [{key: body[key] for key in MOONS} for body in asked]
    assert asked[-1] | {"encoding": "one_hot"} == {
        **MOONS,
        "noise": 0.3,
        "test_fraction": 0.5,
        "encoding": "one_hot",
    }
    state = _url_state(page)
    assert (state["data"]["noise"], state["data"]["test_fraction"]) == (0.3, 0.5)
    drawn = httpx.post(f"{visit.origin}/datasets", json=asked[-1]).json()
    body = _copied_body(page)
    assert body["inputs"] == drawn["inputs"]
    assert body["validation"]["inputs"] == drawn["test_inputs"]
    assert len(body["validation"]["inputs"]) == 100
    fresh = visit.page.context.new_page()
    fresh.goto(page.evaluate("location.href"))
    expect(fresh.locator("body")).to_have_attribute("data-ready", "true", timeout=15_000)
    expect(fresh.locator("#noise")).to_have_value("0.3")
    expect(fresh.locator("#test-fraction-value")).to_have_text(held)
    assert _copied_body(fresh)["inputs"] == drawn["inputs"]
    _assert_clean(visit)


def test_a_links_exact_noise_is_kept_while_another_field_changes(visit: Visit) -> None:
    """A slider moves in steps of 0.01, yet a noise of 0.123 from a link is sent as it is, and
    stays 0.123 when another setting changes (the slider untouched)."""
    page = _moons(visit)
    _set(page, "#samples", "100")
    _prepared(page)
    state = _url_state(page)
    state["data"]["noise"] = 0.123
    code = base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")
    fresh = visit.page.context.new_page()
    requests = _recorder(fresh)
    fresh.goto(f"/#s={code}")
    expect(fresh.locator("body")).to_have_attribute("data-ready", "true", timeout=15_000)
    expect(fresh.locator("#noise-value")).to_have_text("0.123")
    _set(fresh, "#samples", "120")
    _prepared(fresh)
    asked = _posted(requests, "/datasets")
    assert [body["noise"] for body in asked] == [0.123, 0.123]
    assert _url_state(fresh)["data"]["noise"] == 0.123
    _assert_clean(visit)


def test_regenerate_draws_the_data_again_with_a_new_seed_in_the_url(visit: Visit) -> None:
    """Regenerate: a new data seed in the field and the URL, the data /datasets draws with it (not
    the old data), and the link to it reopens the same data."""
    page = _moons(visit)
    before = _copied_body(page)["inputs"]
    requests = _recorder(page)
    page.click("#regenerate")
    _prepared(page)
    expect(page.locator("#regenerate")).to_be_focused()
    seed = _url_state(page)["data"]["seed"]
    assert seed != 0
    expect(page.locator("#data-seed")).to_have_value(str(seed))
    assert _posted(requests, "/datasets")[-1]["seed"] == seed
    after = _copied_body(page)["inputs"]
    assert after != before
    drawn = httpx.post(f"{visit.origin}/datasets", json={**MOONS, "seed": seed}).json()
    assert after == drawn["inputs"]
    page.locator("#regenerate").focus()
    page.keyboard.press("Enter")
    _prepared(page)
    assert _url_state(page)["data"]["seed"] not in (0, seed)
    fresh = visit.page.context.new_page()
    fresh.goto(page.evaluate("location.href"))
    expect(fresh.locator("body")).to_have_attribute("data-ready", "true", timeout=15_000)
    assert _copied_body(fresh)["inputs"] == _copied_body(page)["inputs"]
    _assert_clean(visit)


def test_plus_and_minus_change_the_layers_the_next_train_sends(visit: Visit) -> None:
    """+ and − of a layer's units and of the hidden layers: the next /train/stream body has those
    sizes, from /init with the form's scheme and seed; the keyboard stays on the button."""
    page = _moons(visit)
    requests = _recorder(page)
    expect(page.locator("#layer-count")).to_have_text("1 hidden layer")
    page.click('#layers .units-plus[data-index="0"]')
    _prepared(page)
    expect(page.locator("#units-0")).to_have_value("9")
    page.click("#add-layer")
    _prepared(page)
    expect(page.locator("#layer-count")).to_have_text("2 hidden layers")
    page.locator('#layers .units-minus[data-index="1"]').focus()
    page.keyboard.press("Enter")
    _prepared(page)
    expect(page.locator('#layers .units-minus[data-index="1"]')).to_be_focused()
    page.keyboard.press("Enter")
    _prepared(page)
    expect(page.locator("#units-1")).to_have_value("7")
    page.click("#step")
    expect(page.locator("#status")).to_have_attribute("data-status", "paused")
    trained = _posted(requests, "/train/stream")
    assert _sizes(trained[-1]) == [9, 7, 2]
    init = {
        "sizes": [2, 9, 7, 2],
        "activation": "relu",
        "output_activation": "softmax",
        "init": "xavier_uniform",
        "seed": 0,
    }
    drawn = httpx.post(f"{visit.origin}/init", json=init).json()["network"]["layers"]
    assert [layer["weights"] for layer in trained[-1]["network"]["layers"]] == [
        layer["weights"] for layer in drawn
    ]
    assert [layer["activation"] for layer in trained[-1]["network"]["layers"]] == [
        "tanh",
        "tanh",
        "softmax",
    ]
    page.click("#remove-layer")
    _prepared(page)
    page.click("#step")
    expect(page.locator("#status")).to_have_attribute("data-status", "paused")
    assert _sizes(_posted(requests, "/train/stream")[-1]) == [9, 2]
    _assert_clean(visit)


def test_the_buttons_stop_at_the_apis_limits_with_a_title_saying_why(visit: Visit) -> None:
    """At 1 unit − is disabled, at the API's units limit +; with no hidden layer the layers' −,
    and at the API's layer limit (the output layer counted) the layers' +."""
    limits = Settings()
    page = _open(visit)
    minus, plus = (
        page.locator('#layers .units-minus[data-index="0"]'),
        page.locator('#layers .units-plus[data-index="0"]'),
    )
    _set(page, "#units-0", "1")
    _prepared(page, "notebook")
    expect(minus).to_be_disabled()
    expect(minus).to_have_attribute("title", "A layer needs at least 1 unit")
    expect(plus).to_be_enabled()
    _set(page, "#units-0", str(limits.max_units.value))
    # Its printout's tables hold 4,096 columns: more than a moment on a loaded machine.
    expect(page.locator("body")).to_have_attribute("data-prepared", "notebook", timeout=60_000)
    expect(plus).to_be_disabled()
    expect(plus).to_have_attribute(
        "title",
        f"The API takes at most {limits.max_units.value} units per layer (BACKPROP_MAX_UNITS)",
    )
    assert _sizes(_copied_body(page)) == [limits.max_units.value, 1]
    flat = visit.page.context.new_page()
    flat.goto("/")
    expect(flat.locator("body")).to_have_attribute("data-ready", "true", timeout=15_000)
    flat.click("#remove-layer")
    _prepared(flat, "notebook")
    expect(flat.locator("#remove-layer")).to_be_disabled()
    expect(flat.locator("#remove-layer")).to_have_attribute(
        "title", "No hidden layer left to remove"
    )
    expect(flat.locator("#add-layer")).to_be_focused()
    assert _sizes(_copied_body(flat)) == [1]
    state = _url_state(flat)
    hidden = limits.max_layers.value - 2
    state["net"]["hidden"] = [{"units": 2, "activation": "relu"}] * hidden
    code = base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")
    deep = visit.page.context.new_page()
    deep.goto(f"/#s={code}")
    expect(deep.locator("body")).to_have_attribute("data-ready", "true", timeout=15_000)
    add = deep.locator("#add-layer")
    expect(add).to_be_enabled()
    add.click()
    _prepared(deep, "notebook")
    expect(add).to_be_disabled()
    expect(add).to_have_attribute(
        "title",
        f"The API takes at most {limits.max_layers.value} layers, the output layer included "
        "(BACKPROP_MAX_LAYERS)",
    )
    expect(deep.locator("#remove-layer")).to_be_focused()
    assert len(_copied_body(deep)["network"]["layers"]) == limits.max_layers.value
    deep.click("#step")
    expect(deep.locator("#status")).to_have_attribute("data-status", "paused")
    _assert_clean(visit)


def test_the_controls_are_touch_targets_at_phone_width(visit: Visit) -> None:
    """At 390 px each +/− button, Regenerate and both sliders are at least 24 × 24 px."""
    page = _moons(visit, size=PHONE)
    controls = page.locator(
        "#remove-layer, #add-layer, #layers .step, #regenerate, #noise, #test-fraction"
    )
    expect(controls).to_have_count(7)
    for box in [controls.nth(k).bounding_box() for k in range(7)]:
        assert box is not None
        assert min(box["width"], box["height"]) >= 24, box
    _assert_clean(visit)


def test_each_input_node_shows_its_values_map_and_large_on_hover(visit: Visit) -> None:
    """XOR: input x1's and x2's nodes carry the map of their value over the page's grid (the
    grid's columns, coloured as a unit's a); hovering x2 shows it large with its title and scale."""
    page = _open(visit)
    page.select_option("#preset", "xor")
    _prepared(page, "xor")
    expect(page.locator("#network .node.input.mapped")).to_have_count(2)
    side = _canvas_pixels(page, '.node[data-layer="1"][data-unit="0"] .unit-map canvas')["side"]
    grid = _xor_grid(side)
    for unit in range(2):
        shown = _canvas_pixels(page, f'.node[data-layer="0"][data-unit="{unit}"] .unit-map canvas')
        assert shown["side"] == side
        expected = _unit_colours([point[unit] for point in grid])
        worst = max(
            abs(shown["data"][4 * k + c] - expected[k][c])
            for k in range(side * side)
            for c in range(3)
        )
        assert worst <= 1, (unit, worst)
    page.locator('#network .node[data-layer="0"][data-unit="1"]').hover()
    expect(page.locator("#heatmap")).to_have_attribute("data-shows", "0.1")
    expect(page.locator("#heatmap-title")).to_have_text("input x2: its value over the plane")
    largest = max(abs(point[1]) for point in grid)
    expect(page.locator("#map-scale")).to_have_text(f"value = −{largest:.8g}0+{largest:.8g}")
    page.mouse.move(0, 0)
    expect(page.locator("#heatmap")).to_have_attribute("data-shows", "output")
    _assert_clean(visit)


def test_a_features_input_node_shows_the_features_map(visit: Visit) -> None:
    """Moons with x₁² on: three input nodes, each with its map; x₁²'s is never orange (a square is
    never negative) while x₁'s is both; focusing x₁² names it over the large map and in the
    details box, with the sample's value of x₁²."""
    page = _moons(visit)
    page.check("#feature-x1_squared")
    _prepared(page)
    expect(page.locator("#network .node.input.mapped")).to_have_count(3)

    def colours(unit: int) -> set[str]:
        data = _canvas_pixels(page, f'.node[data-layer="0"][data-unit="{unit}"] .unit-map canvas')[
            "data"
        ]
        pixels = [data[k : k + 3] for k in range(0, len(data), 4)]
        return {"orange" if r > b + 10 else "blue" if b > r + 10 else "white" for r, _, b in pixels}

    assert colours(0) >= {"orange", "blue"}
    assert colours(2) & {"orange", "blue"} == {"blue"}
    page.locator('#network .node[data-layer="0"][data-unit="2"]').focus()
    expect(page.locator("#heatmap")).to_have_attribute("data-shows", "0.2")
    expect(page.locator("#heatmap-title")).to_have_text("input x₁²: its value over the plane")
    expect(page.locator("#details .details-title")).to_have_text("Input x₁² of sample 1")
    expect(page.locator("#details dt").first).to_have_text("x₁²")
    _assert_clean(visit)
