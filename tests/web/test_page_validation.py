"""The playground's validation: the test split as validation data, its curve, the stops that read
it (early stopping in one request), and the run exported as scripts, in a real browser against
the API's own numbers."""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.api.routes.docs import WEB_DIR
from app.examples import TRAIN
from tests.web.conftest import Visit
from tests.web.test_page import _assert_clean, _open, _screenshot, _set, _train

LOSS_TIMING = re.findall(
    r'export const LOSS_TIMING = "(.*)";', (WEB_DIR / "page" / "status.js").read_text()
)[0]
"""The sentence a summary ends with: when its final loss is taken, and an epoch's."""
MOONS_DATA = {"name": "moons", "samples": 200, "noise": 0.1, "seed": 0, "test_fraction": 0.25}
OVERFIT = {"#samples": "30", "#noise": "0.3", "#test-fraction": "0.5", "#lr": "0.02"}
"""The sine preset made to overfit: 15 noisy training samples, 15 held out, a faster Adam."""


def _preset(page: Page, preset: str, fields: dict[str, str] | None = None) -> None:
    """Choose a preset, then set fields one by one, each change drawing the run anew."""
    page.select_option("#preset", preset)
    expect(page.locator("body")).to_have_attribute("data-prepared", preset)
    for field, value in (fields or {}).items():
        _set(page, field, value)
        expect(page.locator("body")).to_have_attribute("data-prepared", preset)


def _copied_body(page: Page) -> dict[str, Any]:
    """The /train body the page's Copy as JSON gives."""
    page.click("#copy-json")
    body: dict[str, Any] = json.loads(page.locator("#share-output").input_value())
    return body


def _final_loss(page: Page) -> float:
    """The final loss the summary line shows."""
    match = re.search(r"final loss ([^,\s]+)", page.locator("#summary").inner_text())
    assert match is not None
    return float(match[1])


def test_a_test_split_draws_a_validation_curve_with_the_apis_numbers(visit: Visit) -> None:
    """Two moons with a 25 % test split: the request validates on it, the curve has a validation
    series with a point per recorded epoch, and epoch e's validation loss is /loss on the test
    data with the network at the start of epoch e (epochs either side of the page's chunks)."""
    data = httpx.post(f"{visit.origin}/datasets", json=MOONS_DATA | {"encoding": "one_hot"}).json()
    page = _open(visit)
    _preset(page, "moons")
    expect(page.locator("#patience")).to_be_enabled()
    _train(page)
    body = _copied_body(page)
    assert body["validation"] == {"inputs": data["test_inputs"], "targets": data["test_targets"]}
    curve = page.locator("#curve")
    expect(curve).to_have_attribute("data-points", "300")
    expect(curve).to_have_attribute("data-validation-points", "300")
    expect(curve).to_have_attribute(
        "data-series", "loss,validation loss,accuracy,validation accuracy"
    )
    include = ["validation_loss", "validation_accuracy", "network"]
    one = httpx.post(
        f"{visit.origin}/train", json=body | {"trace": {"every": 1, "include": include}}
    ).json()
    assert _final_loss(page) == one["final_loss"]
    test = {"inputs": data["test_inputs"], "targets": data["test_targets"], "loss": body["loss"]}
    for epoch in (1, 2, 100, 101, 201, 300):
        page.locator("#scrubber").fill(str(epoch - 1))
        expect(page.locator("body")).to_have_attribute("data-epoch", str(epoch))
        shown = page.locator("#printout .validation-loss-value")
        value = float(shown.get_attribute("title") or "nan")
        start = body["network"] if epoch == 1 else one["trace"][epoch - 2]["network"]
        loss = httpx.post(f"{visit.origin}/loss", json={"network": start, **test}).json()["loss"]
        assert abs(value - loss) <= 1e-12, (epoch, value, loss)
        assert value == one["trace"][epoch - 1]["validation_loss"]
        accuracy = page.locator("#printout .validation-accuracy-value").get_attribute("title")
        assert float(accuracy or "nan") == one["trace"][epoch - 1]["validation_accuracy"]
    _assert_clean(visit)


@pytest.mark.screenshot
def test_patience_stops_early_in_one_request_and_keeps_the_best_network(visit: Visit) -> None:
    """A sine that overfits, patience 100 over 2,000 epochs (which the page would otherwise send
    in 100-epoch chunks): one /train/stream request, the status says early stop and the best
    epoch, the curve marks it and selects it, and the downloaded network is /train's."""
    page = _open(visit)
    _preset(page, "sine", OVERFIT | {"#epochs": "2000", "#patience": "100"})
    expect(page.locator("#step")).to_be_disabled()
    page.click("#train")
    expect(page.locator("#pause")).to_be_disabled()
    status = page.locator("#status")
    expect(status).to_have_attribute("data-status", "early_stopped", timeout=30_000)
    body = _copied_body(page)
    assert body["stop"] == {"patience": 100}
    expected = httpx.post(f"{visit.origin}/train", json=body).json()
    assert expected["status"] == "early_stopped"
    assert expected["best_epoch"] > 100  # past the end of the first chunk
    expect(status).to_have_text("early stop")
    expect(page.locator("#summary")).to_have_text(
        f"Early stop at epoch {expected['epochs_run']}: the validation loss had not improved for"
        f" 100 epochs; best epoch {expected['best_epoch']} kept: final loss"
        f" {expected['final_loss']!r}, final validation loss {expected['final_validation_loss']!r}"
        f". {LOSS_TIMING}"
    )
    expect(page.locator("#curve")).to_have_attribute("data-best", str(expected["best_epoch"]))
    expect(page.locator("body")).to_have_attribute("data-epoch", str(expected["best_epoch"]))
    expect(page.locator("#epoch-counter")).to_have_text(f"epoch {expected['epochs_run']} / 2000")
    assert [url for url in visit.requests if url.endswith("/train/stream")] == [
        f"{visit.origin}/train/stream"
    ]
    with page.expect_download() as download:
        page.click("#download-network")
    saved = json.loads(Path(download.value.path()).read_text())
    assert saved == {"network": expected["network"]}
    assert saved["network"] != expected["trace"][-1]["network"]  # the best, not the last
    page.locator("#validation-note").scroll_into_view_if_needed()  # the stops in the Build panel
    _screenshot(page, "playground-trained", top=".top")
    _assert_clean(visit)


HOLD_BACKWARD = """(() => { const fetched = window.fetch;
    window.fetch = async (url, options) => {
        if (window.holdBackward && String(url).endsWith("/backward")) {
            window.holdBackward = false;
            await new Promise((resolve) => setTimeout(resolve, 1500));
        }
        return fetched(url, options);
    }; })()"""
"""Holds back the page's next /backward by 1.5 s once ``window.holdBackward`` is set."""


def test_a_slow_first_view_does_not_overwrite_the_epoch_a_run_selects(visit: Visit) -> None:
    """Train pressed while the view before training is still drawing (a field committed on the
    way to the button): the view's late answer must not replace the early-stopped run's
    selection of its best epoch."""
    visit.page.add_init_script(HOLD_BACKWARD)
    page = _open(visit)
    _preset(page, "sine", OVERFIT | {"#epochs": "2000", "#patience": "100"})
    page.evaluate("window.holdBackward = true")
    page.locator("#patience").dispatch_event("change")  # the run is drawn anew, its view held
    _train(page, "early_stopped")
    best = page.get_attribute("#curve", "data-best")
    assert best is not None
    assert int(best) > 100
    page.wait_for_timeout(2000)  # past the held answer
    expect(page.locator("body")).to_have_attribute("data-epoch", best)
    expect(page.locator("#scrub-label")).to_contain_text(f"epoch {best},")
    _assert_clean(visit)


def test_the_stop_fields_need_validation_show_the_apis_422_and_round_trip(visit: Visit) -> None:
    page = _open(visit)
    expect(page.locator("#patience")).to_be_disabled()
    expect(page.locator("#stop-validation")).to_be_disabled()
    expect(page.locator("#validation-note")).to_contain_text("set a test split")
    _preset(page, "moons", {"#patience": "0"})
    expect(page.locator("#patience")).to_be_enabled()
    problem = httpx.post(f"{visit.origin}/train", json=_copied_body(page)).json()["detail"][0]
    assert problem["loc"] == ["body", "stop", "patience"]
    _train(page, "failed")
    expect(page.locator(".field:has(#patience) .problem")).to_have_text(
        f"stop.patience: {problem['msg']}"
    )
    expect(page.locator("#patience")).to_have_attribute("aria-invalid", "true")
    stops = {"#patience": "7", "#stop-validation": "0.05", "#stop-below": "0.01"}
    for field, value in stops.items():
        _set(page, field, value)
    expect(page.locator("#train")).to_be_enabled()
    assert _copied_body(page)["stop"] == {
        "loss_below": 0.01,
        "validation_loss_below": 0.05,
        "patience": 7,
    }
    page.click("#copy-url")
    fresh = page.context.new_page()
    fresh.goto(page.locator("#share-output").input_value())
    expect(fresh.locator("body")).to_have_attribute("data-ready", "true", timeout=15_000)
    expect(fresh.locator("#patience")).to_have_value("7")
    expect(fresh.locator("#stop-validation")).to_have_value("0.05")
    expect(fresh.locator("#stop-below")).to_have_value("0.01")
    assert _copied_body(fresh)["stop"] == _copied_body(page)["stop"]
    _set(fresh, "#test-fraction", "0")
    expect(fresh.locator("#patience")).to_be_disabled()
    assert _copied_body(fresh)["stop"] == {"loss_below": 0.01}
    assert "validation" not in _copied_body(fresh)
    _assert_clean(visit, expected_422=True)


def _run_script(path: Path) -> list[dict[str, Any]]:
    """An exported script's output lines (the epochs, the end line, the network), run by the
    test's interpreter."""
    ran = subprocess.run(
        [sys.executable, path.name], cwd=path.parent, capture_output=True, check=True, text=True
    )
    return [json.loads(line) for line in ran.stdout.splitlines()]


def test_the_export_buttons_download_the_scripts_that_reproduce_the_run(
    visit: Visit, tmp_path: Path
) -> None:
    """Each button's file is /export's content for the page's body; the NumPy and PyTorch scripts,
    run, end where the page's early-stopped run ended."""
    page = _open(visit)
    _preset(page, "sine", OVERFIT | {"#epochs": "2000", "#patience": "100"})
    _train(page, "early_stopped")
    body = _copied_body(page)
    expected = httpx.post(f"{visit.origin}/train", json=body).json()
    final = _final_loss(page)
    for export_format in ("pytorch", "numpy", "json"):
        with page.expect_download() as download:
            page.click(f"#export-{export_format}")
        export = httpx.post(
            f"{visit.origin}/export", json=body | {"format": export_format, "include_data": True}
        ).json()
        assert download.value.suggested_filename == export["filename"]
        saved = tmp_path / export["filename"]
        download.value.save_as(saved)
        assert saved.read_text() == export["content"]
        if export_format == "json":
            first = body["network"]["layers"][0]
            assert json.loads(saved.read_text())["0.weight"] == first["weights"]
            continue
        end = next(line for line in _run_script(saved) if "status" in line)
        assert end["status"] == "early_stopped"
        assert end["best_epoch"] == expected["best_epoch"]
        assert abs(end["final_loss"] - final) <= 1e-9
    expect(page.locator("#export-error")).to_have_text("")
    _assert_clean(visit)


def test_an_export_the_api_refuses_shows_its_message(visit: Visit) -> None:
    """20,000 epochs of shuffled mini-batches: the PyTorch script would hold every epoch's order,
    over the size limit; the page shows /export's message and downloads nothing."""
    page = _open(visit)
    _preset(page, "moons", {"#epochs": "20000", "#batch-size": "10"})
    page.check("#shuffle")
    expect(page.locator("body")).to_have_attribute("data-prepared", "moons")
    body = _copied_body(page)
    assert body["shuffle"] is True
    answer = httpx.post(f"{visit.origin}/export", json=body | {"format": "pytorch"})
    assert answer.status_code == 422
    downloads: list[object] = []
    page.on("download", lambda download: downloads.append(download))
    page.click("#export-pytorch")
    expect(page.locator("#export-error")).to_have_text(answer.json()["detail"][0]["msg"])
    assert downloads == []
    _assert_clean(visit, expected_422=True)


def test_a_validation_loss_that_overflows_leaves_the_curve_whole(visit: Visit) -> None:
    """The notebook pasted with a validation sample of 1e200s: every validation loss is null; the
    run completes, the curve draws the loss alone, the printout shows the null as a dash."""
    body = TRAIN | {"validation": {"inputs": [1e200, 1e200, 1e200], "targets": [1.0]}}
    expected = httpx.post(f"{visit.origin}/train", json=body).json()
    assert [entry["validation_loss"] for entry in expected["trace"]] == [None] * 10
    page = _open(visit)
    page.click("#paste-box summary")
    page.fill("#paste", json.dumps(body))
    page.click("#load-paste")
    expect(page.locator("#patience")).to_be_enabled()
    _train(page)
    summary = f"10 epochs: final loss {expected['final_loss']!r}. {LOSS_TIMING}"  # no validation
    expect(page.locator("#summary")).to_have_text(summary)
    curve = page.locator("#curve")
    expect(curve).to_have_attribute("data-points", "10")
    expect(curve).to_have_attribute("data-validation-points", "0")
    expect(curve).to_have_attribute("data-series", "loss")
    expect(page.locator("#printout .validation-loss-value")).to_have_text("\N{EN DASH}")
    _assert_clean(visit)
