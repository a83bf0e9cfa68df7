"""Issue 25's ten page defects, each met as a teacher meets it, in a real browser against the
API's own numbers: a refused epoch count, a stale details box, the loss axis of a long run, one
naming and its precisions, the final loss beside an epoch's, wide tables and cut menus, a 422
shown twice, the keyboard, a finished run trained on, and touch targets at phone width."""

import json
import re
from typing import Any

import httpx
from playwright.sync_api import expect

from app.examples import NOTEBOOK_NETWORK, TRAIN
from tests.web.conftest import Visit
from tests.web.test_page import NOTEBOOK_SAMPLE, XOR, _assert_clean, _open, _set, _train

PHONE = (390, 844)


def test_a_refused_epoch_count_shows_the_422_beside_the_field(visit: Visit) -> None:
    """Epochs 0: the run fails with /train's own message under Epochs, and its badge names the
    field; it never reads 'completed'."""
    message = httpx.post(f"{visit.origin}/train", json=TRAIN | {"epochs": 0}).json()["detail"][0]
    page = _open(visit)
    _set(page, "#epochs", "0")
    _train(page, "failed")
    expect(page.locator(".field:has(#epochs) .problem")).to_have_text(f"epochs: {message['msg']}")
    expect(page.locator("#epochs")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#status")).to_have_text("failed: epochs")
    _assert_clean(visit, expected_422=True)


def _backward(origin: str, network: dict[str, Any], sample: dict[str, Any]) -> dict[str, Any]:
    """/backward's answer for one sample."""
    answer: dict[str, Any] = httpx.post(
        f"{origin}/backward", json={"network": network, **sample}
    ).json()
    return answer


def test_the_details_box_follows_the_network_and_the_slider(visit: Visit) -> None:
    """Notebook, trained, hidden unit 2 hovered: the slider at epoch 1 shows that epoch's z; the
    XOR preset forgets the notebook's unit; after training XOR, its own numbers."""
    page = _open(visit)
    _train(page)
    page.locator('.node[data-layer="1"][data-unit="1"]').hover()
    z = page.locator('#details dd[data-key="z"]')
    expect(z).not_to_have_text(re.compile(r"^1\.45"))
    page.locator("#scrubber").fill("0")
    expect(page.locator("body")).to_have_attribute("data-epoch", "1")
    expect(z).to_have_text(re.compile(r"^1\.45(00000000000002)?$"))
    page.mouse.move(0, 0)
    page.select_option("#preset", "xor")
    expect(page.locator("body")).to_have_attribute("data-prepared", "xor")
    expect(page.locator("#details")).not_to_contain_text("relu")
    expect(page.locator("#details")).to_contain_text("Hover or focus a unit or a weight.")
    page.locator('.node[data-layer="1"][data-unit="1"]').hover()
    xor = json.loads(XOR.read_text())
    one = {"inputs": [0.0, 0.0], "targets": [1.0, 0.0], "loss": "cross_entropy"}
    expected = _backward(visit.origin, xor["network"], one)["layers"][0]["z"][1]
    expect(z.locator(".number")).to_have_attribute("data-full", repr(expected))
    expect(page.locator("#details .details-title")).to_contain_text("(tanh)")
    _assert_clean(visit)


def test_a_long_runs_loss_axis_has_a_label_per_few_decades_and_no_zero_readout(
    visit: Visit,
) -> None:
    """10,000 notebook epochs: the loss falls through some 30 decades; the log axis labels
    several of them, and the legend and the slider never read a positive loss as 0."""
    page = _open(visit)
    _set(page, "#epochs", "10000")
    _train(page)
    curve = page.locator("#curve")
    labels = (curve.get_attribute("data-loss-labels") or "").split(",")
    decades = [int(label.split("e")[1]) for label in labels if "e" in label]
    assert len(labels) >= 5, labels
    assert min(decades) <= -25, labels
    assert max(decades) - min(decades) >= 20, labels
    page.locator("#curve .u-over").hover(position={"x": 400, "y": 100})
    legend = page.locator("#curve .u-legend .u-series").nth(1).locator(".u-value")
    expect(legend).not_to_have_text("0")
    assert float(legend.inner_text()) > 0
    expect(page.locator("#scrub-label")).not_to_have_text("epoch 10000, loss 0")
    _assert_clean(visit)


def test_one_naming_and_each_views_precision(visit: Visit) -> None:
    """The details box names W2[0,1] as the worked solution does (w₁₂⁽²⁾), shows 8 significant
    digits with the full value on focus, and each view says its precision."""
    body = {"network": NOTEBOOK_NETWORK, **NOTEBOOK_SAMPLE}
    gradient = _backward(visit.origin, body["network"], NOTEBOOK_SAMPLE)["gradients"][1]
    page = _open(visit)
    page.locator('line.edge[data-layer="1"][data-unit="0"][data-from="1"]').focus()
    expect(page.locator("#details .details-title")).to_contain_text("Weight w₁₂⁽²⁾")
    number = page.locator('#details dd[data-key="gradient"] .number')
    full = gradient["weights"][0][1]
    expect(number).to_have_text(f"{full:.8g}")
    expect(number).to_have_attribute("data-full", repr(full))
    number.focus()
    shown = number.evaluate("node => getComputedStyle(node, '::after').content")
    assert shown == json.dumps(repr(full)), shown
    expect(page.locator("#details")).to_contain_text("8 significant digits")
    expect(page.locator("#printout")).to_contain_text("8 significant digits")
    expect(page.locator("#printout caption").filter(has_text="∂L/∂W⁽²⁾")).to_have_count(1)
    page.click("#explain-box summary")
    expect(page.locator("#explain-note")).to_contain_text("6 significant digits")
    expect(page.locator("#explain")).to_contain_text("w")
    _assert_clean(visit)


def test_the_final_loss_says_why_it_differs_from_the_last_epochs(visit: Visit) -> None:
    """Two moons, 4 epochs recorded every 2nd: the summary says when its final loss is taken, and
    epoch 3 (whose start is not recorded) says which of its numbers are after its update."""
    page = _open(visit)
    page.select_option("#preset", "moons")
    expect(page.locator("body")).to_have_attribute("data-prepared", "moons")
    for field, value in {"#epochs": "4", "#every": "2"}.items():
        _set(page, field, value)
        expect(page.locator("body")).to_have_attribute("data-prepared", "moons")
    _train(page)
    expect(page.locator("#summary")).to_contain_text("after the last update")
    expect(page.locator("#summary")).to_contain_text("at the epoch's start")
    page.locator("#scrubber").fill("1")
    expect(page.locator("body")).to_have_attribute("data-epoch", "3")
    note = page.locator("#printout > .note").first
    expect(note).to_contain_text("did not record this epoch's starting parameters")
    _assert_clean(visit)


def test_wide_tables_scroll_and_never_wrap_a_number(visit: Visit) -> None:
    """The spiral's 16 × 16 layer, trained 1,000 epochs (its gradients down to 1e-7): every cell
    on one line, its table scrolled within its column."""
    page = _open(visit, size=PHONE)
    page.select_option("#preset", "spiral")
    expect(page.locator("body")).to_have_attribute("data-prepared", "spiral")
    _train(page)
    expect(page.locator("body")).to_have_attribute("data-epoch", "1000")
    wrapped = page.evaluate("""() => [...document.querySelectorAll('#printout td')].filter(td => {
        const range = document.createRange(); range.selectNodeContents(td);
        return range.getClientRects().length > 1; }).map(td => td.textContent)""")
    assert wrapped == []
    inside = page.evaluate("""() => { const panel = document.querySelector('.numbers')
        .getBoundingClientRect(); return [...document.querySelectorAll('#printout .group')]
        .every(g => g.getBoundingClientRect().right <= panel.right + 0.5); }""")
    assert inside
    page.locator("#printout-box").scroll_into_view_if_needed()
    _assert_clean(visit)


SELECT_FITS = """() => [...document.querySelectorAll('select:not(#sample)')]
    .filter(s => s.offsetParent).map(s => { const style = getComputedStyle(s);
        const g = document.createElement('canvas').getContext('2d');
        g.font = `${style.fontSize} ${style.fontFamily}`;
        const room = s.clientWidth - parseFloat(style.paddingLeft)
            - parseFloat(style.paddingRight) - 18;
        const widest = Math.max(...[...s.options].map(o => g.measureText(o.text).width));
        return [s.id, widest <= room, Math.round(widest), Math.round(room)]; })
    .filter(([, fits]) => !fits)"""
"""The menus shown whose widest option is wider than the room their padding and arrow (18 px)
leave, each as [id, false, widest, room]."""


def test_no_menu_cuts_its_options_text(visit: Visit) -> None:
    """Every option of every menu shown fits its box, on a desktop and on a phone (the sample
    menu lists inputs, as long as the data set's)."""
    for size in [(1280, 800), PHONE]:
        page = _open(visit, size=size)
        for preset in ["notebook", "mazur", "spiral", "sine"]:
            page.select_option("#preset", preset)
            expect(page.locator("body")).to_have_attribute("data-prepared", preset)
            assert page.evaluate(SELECT_FITS) == [], (size, preset)
    _assert_clean(visit)


def test_an_invalid_pasted_request_shows_its_422_once_after_train(visit: Visit) -> None:
    body: dict[str, Any] = json.loads(json.dumps(TRAIN))
    body["network"]["layers"][1]["weights"] = [[0.3, -0.7, 0.2]]
    page = _open(visit)
    page.click("#paste-box summary")
    page.fill("#paste", json.dumps(body))
    page.click("#load-paste")
    expect(page.locator("#paste-box .problem")).to_have_count(1)
    if page.locator("#train").is_enabled():
        _train(page, "failed")
    expect(page.locator("#paste-box .problem")).to_have_count(1)
    _assert_clean(visit, expected_422=True)


def test_the_keyboard_keeps_focus_skips_to_run_and_hears_the_epoch(visit: Visit) -> None:
    page = _open(visit)
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator("#train")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_attribute("data-status", "completed", timeout=30_000)
    assert page.evaluate("document.activeElement.id") in {"pause", "train", "status"}
    assert page.evaluate("document.activeElement !== document.body")
    expect(page.locator("#scrubber")).to_have_attribute("aria-valuetext", "epoch 10")
    page.locator("#scrubber").focus()
    page.keyboard.press("Home")
    expect(page.locator("#scrubber")).to_have_attribute("aria-valuetext", "epoch 1")
    _assert_clean(visit)


def test_a_finished_run_trains_on_with_its_optimizer_state(visit: Visit) -> None:
    """Momentum 0.9: 10 epochs, Train again, then One epoch end at /train's 21-epoch loss (a
    fresh momentum buffer at epoch 11 would end elsewhere); its link reopens at epoch 21."""
    momentum = {"type": "sgd", "learning_rate": 0.01, "momentum": 0.9}
    expected = httpx.post(
        f"{visit.origin}/train", json=TRAIN | {"optimizer": momentum, "epochs": 21}
    ).json()
    page = _open(visit)
    _set(page, "#momentum", "0.9")
    _train(page)
    expect(page.locator("#train")).to_be_enabled()
    expect(page.locator("#step")).to_be_enabled()
    _train(page)
    expect(page.locator("#epoch-counter")).to_have_text("epoch 20 / 20")
    page.click("#step")
    expect(page.locator("#epoch-counter")).to_have_text("epoch 21 / 21")
    expect(page.locator("#status")).to_have_attribute("data-status", "completed")
    expect(page.locator("#summary")).to_contain_text(
        f"21 epochs: final loss {expected['final_loss']!r}"
    )
    expect(page.locator("#curve")).to_have_attribute("data-points", "21")
    page.click("#copy-url")
    fresh = page.context.new_page()
    fresh.goto(page.locator("#share-output").input_value())
    expect(fresh.locator("#epoch-counter")).to_have_text("epoch 21 / 21", timeout=30_000)
    expect(fresh.locator("#status")).to_have_attribute("data-status", "completed")
    expect(fresh.locator("#scrub-label")).to_have_text(page.locator("#scrub-label").inner_text())
    expect(fresh.locator("#summary")).to_contain_text(f"final loss {expected['final_loss']!r}")
    _assert_clean(visit)


TOO_SMALL = """() => [...document.querySelectorAll(
        'button, input, select, summary, a[href], [tabindex="0"], #network .node')]
    .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
    .map(e => [e.id || e.className.baseVal || e.className || e.tagName, e.getBoundingClientRect()])
    .filter(([, r]) => r.width < 24 || r.height < 24)
    .map(([name, r]) => `${name} ${r.width.toFixed(0)}×${r.height.toFixed(0)}`)"""


BESIDE = """line => { const m = line.getScreenCTM(); const at = (x, y) => new DOMPoint(x, y)
        .matrixTransform(m); const a = at(line.x1.baseVal.value, line.y1.baseVal.value);
    const b = at(line.x2.baseVal.value, line.y2.baseVal.value); const length = Math.hypot(b.x - a.x,
        b.y - a.y); const [nx, ny] = [(a.y - b.y) / length, (b.x - a.x) / length];
    return [a.x + (b.x - a.x) / 4 + 6 * nx, a.y + (b.y - a.y) / 4 + 6 * ny]; }"""
"""The point 6 px beside a line, across it, a quarter of the way along (the middle is where
crossing lines meet), in the page's coordinates."""


def test_touch_targets_at_phone_width(visit: Visit) -> None:
    """At 390 px every control is at least 24 × 24 px, and a tap 6 px beside a weight's line
    still picks that weight."""
    page = _open(visit, size=PHONE)
    line = page.locator('line.edge[data-layer="1"][data-unit="0"][data-from="1"]')
    line.scroll_into_view_if_needed()
    x, y = line.evaluate(BESIDE)
    page.mouse.click(x, y)
    expect(page.locator('#details dd[data-key="weight"]')).to_have_text("-0.7")
    page.click("#add-layer")  # four columns of units: the diagram drawn smaller
    expect(page.locator("body")).to_have_attribute("data-prepared", "notebook")
    small = [item for item in page.evaluate(TOO_SMALL) if not item.startswith("skip-link")]
    assert small == [], small
    _assert_clean(visit)
