"""Issue 25's play until paused and click a weight to edit it, in a real browser against the API's
own numbers: an open-ended run goes past any fixed number of chunks, pauses, plays on from where
it paused (ending where one /train of as many epochs ends), shows the train and test loss live and
keeps its trace bounded; a weight typed in the diagram goes into the next request, or is refused
beside the input."""

import itertools
import json
import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from app.examples import TRAIN
from tests.web.conftest import Visit
from tests.web.test_page import _assert_clean, _open, _train

STREAM = "/train/stream"


def _streams(visit: Visit) -> list[str]:
    """The /train/stream requests the page sent so far."""
    return [url for url in visit.requests if url.endswith(STREAM)]


def _epoch(page: Page) -> int:
    """The epoch the counter shows."""
    match = re.match(r"epoch (\d+)", page.locator("#epoch-counter").inner_text())
    assert match
    return int(match.group(1))


def _play_past(page: Page, epoch: int) -> None:
    """Press Play, wait for the counter to pass ``epoch``, then Pause and wait for the pause."""
    page.click("#play")
    expect(page.locator("#status")).to_have_attribute("data-status", "running")
    page.wait_for_function(
        "epoch => Number((/epoch (\\d+)/.exec(document.querySelector('#epoch-counter')"
        ".textContent) || [0, 0])[1]) > epoch",
        arg=epoch,
        timeout=60_000,
    )
    page.click("#pause")
    expect(page.locator("#status")).to_have_attribute("data-status", "paused", timeout=30_000)


def _final_loss(page: Page) -> str:
    """The final loss the summary line gives."""
    match = re.search(r"final loss (\S+?)[.,]? ", page.locator("#summary").inner_text() + " ")
    assert match
    return match.group(1)


def test_play_runs_past_a_fixed_chunk_count_pauses_and_plays_on(visit: Visit) -> None:
    """Notebook, 10 epochs in the form: Play goes on, chunk after chunk, far past 10 epochs and
    past 5 requests, the counter without an end while it plays; Pause stops it at a chunk's end,
    Play again goes on from there, and the run ends at the final loss of one /train request of
    as many epochs (the optimizer state went from chunk to chunk, the epochs counted on)."""
    page = _open(visit)
    expect(page.locator("#play")).to_be_enabled()
    page.click("#play")
    expect(page.locator("#epoch-counter")).to_have_text(re.compile(r"^epoch \d+$"))
    page.click("#pause")
    expect(page.locator("#status")).to_have_attribute("data-status", "paused", timeout=30_000)
    _play_past(page, 600)
    first = _epoch(page)
    assert len(_streams(visit)) > 5
    expect(page.locator("#epoch-counter")).to_have_text(f"epoch {first} / {first}")
    expected = httpx.post(f"{visit.origin}/train", json=TRAIN | {"epochs": first}).json()
    assert _final_loss(page) == repr(expected["final_loss"])
    sent = len(_streams(visit))
    _play_past(page, first + 300)
    second = _epoch(page)
    assert second > first
    assert len(_streams(visit)) > sent
    expected = httpx.post(f"{visit.origin}/train", json=TRAIN | {"epochs": second}).json()
    assert _final_loss(page) == repr(expected["final_loss"])
    # The curve is continuous: its last point is the epoch the counter shows.
    expect(page.locator("#live-loss")).to_have_attribute("data-epoch", str(second))
    _assert_clean(visit)


def test_play_shows_the_train_and_test_loss_live(visit: Visit) -> None:
    """Two moons with a test split: while it plays, the readout gives the newest epoch's train
    and test loss; paused, they are /train's trace at that epoch, and the curve draws both."""
    page = _open(visit)
    page.select_option("#preset", "moons")
    expect(page.locator("body")).to_have_attribute("data-prepared", "moons")
    page.click("#copy-json")
    body = json.loads(page.locator("#share-output").input_value())
    page.click("#play")
    live = page.locator("#live-loss")
    expect(live).to_contain_text(re.compile(r"train loss \d.*test loss \d"))
    expect(page.locator("#status")).to_have_attribute("data-status", "running")
    page.click("#pause")
    expect(page.locator("#status")).to_have_attribute("data-status", "paused", timeout=30_000)
    epoch = int(live.get_attribute("data-epoch") or 0)
    trace = {"every": epoch, "include": ["loss", "validation_loss"]}
    answer = httpx.post(f"{visit.origin}/train", json=body | {"epochs": epoch, "trace": trace})
    last = answer.json()["trace"][-1]
    assert last["epoch"] == epoch
    assert float(live.get_attribute("data-loss") or "nan") == last["loss"]
    assert float(live.get_attribute("data-test-loss") or "nan") == last["validation_loss"]
    expect(page.locator("#curve")).to_have_attribute("data-series", re.compile("validation loss"))
    _assert_clean(visit)


def test_a_long_plays_trace_is_thinned_to_a_bound(visit: Visit) -> None:
    """The thinning a long run goes through: 1,001 recorded epochs become 501 (the first and the
    last kept), the curve keeps the same epochs, and the recording step doubles."""
    page = _open(visit)
    kept = page.evaluate(
        """async () => {
            const { thin, MAX_ENTRIES } = await import('/static/page/play.js');
            const entries = Array.from(
                { length: MAX_ENTRIES + 1 }, (_, i) => ({ epoch: 1 + 3 * i }));
            const run = { entries };
            let curveEpochs = null;
            const every = thin(run, { keep: (set) => (curveEpochs = [...set]) }, 3);
            const epochs = run.entries.map((e) => e.epoch);
            return { max: MAX_ENTRIES, every, epochs, curveEpochs };
        }"""
    )
    epochs = kept["epochs"]
    assert kept["every"] == 6
    assert len(epochs) == kept["max"] // 2 + 1
    assert epochs[0] == 1
    assert epochs[-1] == 1 + 3 * kept["max"]
    assert epochs == sorted(set(kept["curveEpochs"]))
    assert all(later - earlier == 6 for earlier, later in itertools.pairwise(epochs))


def _edge(page: Page, layer: int, unit: int, source: int) -> Any:
    """The diagram's line of a weight (0-based, as the JSON's indices)."""
    return page.locator(
        f'#network .edge[data-layer="{layer}"][data-unit="{unit}"][data-from="{source}"]'
    )


def _click(page: Page, edge: Any) -> None:
    """Click a weight's line a quarter of the way along it (at its middle, lines cross)."""
    edge.scroll_into_view_if_needed()
    x, y = edge.evaluate(
        """line => { const p = line.getPointAtLength(line.getTotalLength() / 4)
            .matrixTransform(line.getScreenCTM()); return [p.x, p.y]; }"""
    )
    page.mouse.click(x, y)


def _copied_network(page: Page) -> dict[str, Any]:
    """The network of the request Copy as JSON gives."""
    page.click("#copy-json")
    network: dict[str, Any] = json.loads(page.locator("#share-output").input_value())["network"]
    return network


def test_a_clicked_weight_is_edited_validated_and_sent(visit: Visit) -> None:
    """Click w₁₂⁽¹⁾: an input named so holds its value; text is refused beside it and changes
    nothing; 0.25 goes into the request (Copy as JSON) and the next /train/stream body; Escape
    cancels another edit, and the focus goes back to the weight."""
    page = _open(visit)
    before = _copied_network(page)
    _click(page, _edge(page, 0, 0, 1))
    editor = page.locator(".weight-editor")
    expect(editor).to_be_visible()
    expect(editor.locator("label")).to_have_text("w₁₂⁽¹⁾ =")
    field = page.locator("#weight-input")
    expect(field).to_be_focused()
    expect(field).to_have_value(repr(before["layers"][0]["weights"][0][1]))
    field.fill("abc")
    field.press("Enter")
    expect(page.locator("#weight-error")).to_contain_text("“abc” is not a number")
    expect(field).to_have_attribute("aria-invalid", "true")
    field.fill("1e400")
    field.press("Enter")
    expect(page.locator("#weight-error")).to_contain_text("beyond float64's range")
    assert _copied_network(page) == before
    field.fill("0.25")
    field.press("Enter")
    expect(editor).to_be_hidden()
    expect(_edge(page, 0, 0, 1)).to_be_focused()
    expect(_edge(page, 0, 0, 1)).to_have_attribute("aria-label", re.compile(r": 0\.25$"))
    edited = _copied_network(page)
    assert edited["layers"][0]["weights"][0][1] == 0.25
    before["layers"][0]["weights"][0][1] = 0.25
    assert edited == before
    # Keyboard: Enter on the focused weight opens it; Escape leaves it as it was.
    _edge(page, 1, 0, 0).focus()
    page.keyboard.press("Enter")
    expect(field).to_be_focused()
    field.fill("9")
    field.press("Escape")
    expect(editor).to_be_hidden()
    expect(_edge(page, 1, 0, 0)).to_be_focused()
    assert _copied_network(page) == edited
    with page.expect_request(lambda request: request.url.endswith(STREAM)) as sent:
        _train(page)
    assert sent.value.post_data_json["network"] == edited
    expected = httpx.post(f"{visit.origin}/train", json=TRAIN | {"network": edited}).json()
    assert _final_loss(page) == repr(expected["final_loss"])
    _assert_clean(visit)


def test_a_weight_edited_after_a_run_starts_the_next_chunk(visit: Visit) -> None:
    """After 10 epochs, w₁₁⁽²⁾ set to -1.5: Continue's request starts from the run's network with
    that weight alone changed, and carries the optimizer state on."""
    page = _open(visit)
    requests: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda request: (
            requests.append(request.post_data_json) if request.url.endswith(STREAM) else None
        ),
    )
    _train(page)
    trained = httpx.post(f"{visit.origin}/train", json=TRAIN).json()["network"]
    _click(page, _edge(page, 1, 0, 0))
    field = page.locator("#weight-input")
    expect(field).to_have_value(repr(trained["layers"][1]["weights"][0][0]))
    field.fill("-1.5")
    field.press("Enter")
    expect(_edge(page, 1, 0, 0)).to_have_attribute("aria-label", re.compile(r": -1\.5$"))
    _train(page)
    trained["layers"][1]["weights"][0][0] = -1.5
    assert requests[-1]["network"] == trained
    assert "optimizer_state" in requests[-1]
    _assert_clean(visit)


def test_a_weight_edited_while_playing_goes_into_the_next_chunk(visit: Visit) -> None:
    """While Play runs, w₁₁⁽¹⁾ set to 0.75 waits for the chunk in flight: the next request
    starts from that chunk's network with the weight changed."""
    page = _open(visit)
    requests: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda request: (
            requests.append(request.post_data_json) if request.url.endswith(STREAM) else None
        ),
    )
    page.click("#play")
    expect(page.locator("#epoch-counter")).to_have_text(re.compile(r"^epoch \d+$"))
    _click(page, _edge(page, 0, 0, 0))
    field = page.locator("#weight-input")
    expect(field).to_be_focused()
    field.fill("0.75")
    sent = len(requests)
    field.press("Enter")
    for _ in range(300):  # the chunk in flight ends, and the next one is sent
        if len(requests) > sent + 1:
            break
        page.wait_for_timeout(100)
    page.click("#pause")
    expect(page.locator("#status")).to_have_attribute("data-status", "paused", timeout=30_000)
    # The first request sent after Enter (or the one after it, if one left as Enter was pressed).
    first = [body["network"]["layers"][0]["weights"][0][0] for body in requests[sent : sent + 2]]
    assert 0.75 in first
    assert all("optimizer_state" in body for body in requests[sent : sent + 2])
    _assert_clean(visit)


def test_a_link_to_a_played_run_reopens_it_with_a_bounded_trace(visit: Visit) -> None:
    """Played past epoch 2,000 and paused: its link trains again to the same epoch and final
    loss, recording about 500 epochs, not each of them."""
    page = _open(visit)
    _play_past(page, 2000)
    epoch = _epoch(page)
    loss = _final_loss(page)
    expect(page.locator("body")).to_have_attribute("data-epoch", str(epoch))
    link = page.url
    page.goto("about:blank")
    page.goto(link)
    expect(page.locator("body")).to_have_attribute("data-ready", "true", timeout=60_000)
    expect(page.locator("body")).to_have_attribute("data-epoch", str(epoch))
    assert _final_loss(page) == loss
    assert int(page.get_attribute("#curve", "data-points") or 0) <= 600
    _assert_clean(visit)
