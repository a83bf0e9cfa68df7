"""The page's exercises to hand out: New exercise draws a variant from POST /exercises whose
template and seed the URL keeps, the run and the exercise download as notebooks (/export), and
the exercise sheet prints alone. Screenshots go to I24P_SHOTS when it is set."""

import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
import nbformat
from playwright.sync_api import Page, expect

from tests.web.conftest import Visit
from tests.web.test_page import _assert_clean, _open
from tests.web.test_page_defects import SELECT_FITS
from tests.web.test_page_validation import _copied_body


def _shot(page: Page, name: str) -> None:
    if folder := os.environ.get("I24P_SHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png", full_page=False)


def _draw(page: Page, template: str) -> tuple[str, int]:
    """Open Check yourself, choose ``template``: the variant drawn, as (template, seed)."""
    page.click("#exercise-box summary")
    page.select_option("#exercise-template", template)
    expect(page.locator("body")).to_have_attribute(
        "data-exercise", re.compile(rf"^{template}:\d+$"), timeout=15_000
    )
    key = page.locator("body").get_attribute("data-exercise") or ""
    name, seed = key.split(":")
    return name, int(seed)


def _exercise(origin: str, template: str, seed: int) -> dict[str, Any]:
    body = {"template": template, "seed": seed, "include_answer": True}
    answer = httpx.post(f"{origin}/exercises", json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _cells(page: Page, table: str) -> list[str]:
    return page.locator(
        f"#exercise-sheet .sheet-tables .tensor:has(caption:text-is('{table}')) td"
    ).all_inner_texts()


def _field_text(value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[0], list):
        return "; ".join(", ".join(map(str, row)) for row in value)
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _answer_at(answer: dict[str, Any], path: str) -> Any:
    value: Any = answer
    for part in path.replace("]", "").replace("[", ".").split("."):
        value = value[int(part)] if part.isdigit() else value[part]
    return value


def test_a_new_exercise_shows_its_numbers_and_its_link_reopens_it(visit: Visit) -> None:
    """The sheet shows /exercises' numbers for the seed in the URL; the link opens the same
    exercise in a fresh tab, whose right answers /check marks right."""
    page = _open(visit)
    template, seed = _draw(page, "mazur")
    exercise = _exercise(visit.origin, template, seed)
    weights = [str(w) for row in exercise["network"]["layers"][0]["weights"] for w in row]
    assert _cells(page, "W⁽¹⁾, sigmoid") == weights
    fields = page.locator("#exercise-fields .exercise-field")
    expect(fields).to_have_count(len(exercise["compute"]))
    assert page.evaluate(SELECT_FITS) == []
    _shot(page, "exercise-1280")
    link = page.url
    fresh = page.context.new_page()
    fresh.goto(link)
    expect(fresh.locator("body")).to_have_attribute(
        "data-exercise", f"{template}:{seed}", timeout=15_000
    )
    expect(fresh.locator("#exercise-box")).to_have_attribute("open", "")
    assert _cells(fresh, "W⁽¹⁾, sigmoid") == weights
    for item in exercise["compute"]:
        value = _answer_at(exercise["answer"], item["path"])
        fresh.locator(f"[data-path='{item['path']}']").fill(_field_text(value))
    fresh.click("#exercise button[type=submit]")
    right = fresh.locator("#exercise-fields .exercise-field.right")
    expect(right).to_have_count(len(exercise["compute"]))
    fresh.close()
    _assert_clean(visit)


def test_new_exercise_draws_another_seed_and_offers_its_notebook(visit: Visit) -> None:
    """New exercise draws another variant; Download as notebook saves /export's notebook of
    that very exercise."""
    page = _open(visit)
    expect(page.locator("#exercise-notebook")).to_be_disabled()
    template, seed = _draw(page, "notebook")
    page.click("#new-exercise")
    expect(page.locator("body")).not_to_have_attribute("data-exercise", f"{template}:{seed}")
    expect(page.locator("body")).to_have_attribute("data-exercise", re.compile(r"^notebook:\d+$"))
    seed = int((page.locator("body").get_attribute("data-exercise") or "").split(":")[1])
    with page.expect_download() as download:
        page.click("#exercise-notebook")
    assert download.value.suggested_filename == "exercise.ipynb"
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    body = {"format": "notebook", "exercise": {"template": "notebook", "seed": seed}}
    assert saved == httpx.post(f"{visit.origin}/export", json=body).json()["content"]
    nbformat.validate(nbformat.reads(saved, as_version=4))
    page.select_option("#exercise-template", "")
    expect(page.locator("body")).to_have_attribute("data-exercise", "")
    expect(page.locator("#exercise-notebook")).to_be_disabled()
    assert "exercise" not in json.dumps(page.evaluate("location.hash"))
    _assert_clean(visit)


def test_the_run_downloads_as_a_notebook(visit: Visit) -> None:
    """The file is /export's notebook of the page's /train body, its data embedded."""
    page = _open(visit)
    with page.expect_download() as download:
        page.click("#export-notebook")
    assert download.value.suggested_filename == "train.ipynb"
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    body = _copied_body(page) | {"format": "notebook", "include_data": True}
    assert saved == httpx.post(f"{visit.origin}/export", json=body).json()["content"]
    notebook = nbformat.reads(saved, as_version=4)
    nbformat.validate(notebook)
    assert any(cell.source == "main()" for cell in notebook.cells)
    _assert_clean(visit)


def test_the_sheet_prints_alone_with_a_blank_box_per_value(visit: Visit) -> None:
    """Printed: the task, the network's numbers and blank boxes; no run, no form, no buttons.
    The run's own step prints its sheet too."""
    page = _open(visit, size=(390, 844))
    _draw(page, "batch")
    assert page.evaluate(SELECT_FITS) == []
    _shot(page, "exercise-390")
    page.emulate_media(media="print")
    for hidden in [
        "#run",
        "#build",
        ".see",
        ".share",
        "#exercise",
        "#new-exercise",
        "#printout-box",
    ]:
        expect(page.locator(hidden).first).to_be_hidden()
    expect(page.locator("#exercise-sheet .sheet-task")).to_be_visible()
    expect(page.locator("#exercise-sheet .sheet-tables .tensor").first).to_be_visible()
    fields = page.locator("#exercise-fields .exercise-field").count()
    blanks = page.locator("#exercise-sheet .sheet-boxes .tensor.blank")
    expect(blanks).to_have_count(fields)
    expect(blanks.first).to_be_visible()
    assert all(text == "" for text in blanks.locator("td").all_inner_texts())
    if folder := os.environ.get("I24P_SHOTS"):
        page.screenshot(path=f"{folder}/print-390.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.screenshot(path=f"{folder}/print-1280.png", full_page=True)
    page.emulate_media(media="screen")
    expect(page.locator("#exercise-sheet .sheet-boxes")).to_be_hidden()
    page.select_option("#exercise-template", "")
    expect(page.locator("body")).to_have_attribute("data-exercise", "")
    expect(page.locator("#exercise-sheet")).to_be_hidden()
    page.emulate_media(media="print")
    expect(page.locator("#exercise-sheet .sheet-boxes .tensor.blank").first).to_be_visible()
    _assert_clean(visit)


def test_a_momentum_exercise_marks_a_slip_and_links_its_worked_step(visit: Visit) -> None:
    """A momentum variant asks every value, the update with momentum too (/check grades the step
    with the exercise's optimizer and velocity); its right values are right, a loss with the ½
    dropped is wrong, and the link opens the drawn step's worked solution."""
    page = _open(visit)
    template, seed = _draw(page, "momentum")
    exercise = _exercise(visit.origin, template, seed)
    asked = [item["path"] for item in exercise["compute"]]
    assert any(path.startswith("network.") for path in asked)
    paths = page.locator("#exercise-fields [data-path]").evaluate_all(
        "nodes => nodes.map((node) => node.dataset.path)"
    )
    assert paths == asked
    for path in asked:
        value = _answer_at(exercise["answer"], path)
        if path == "loss":
            value = 2 * value
        page.locator(f"[data-path='{path}']").fill(_field_text(value))
    page.click("#exercise button[type=submit]")
    wrong = page.locator(".exercise-field:has(#claim-loss)")
    expect(wrong).to_have_class(re.compile(r"\bwrong\b"))
    expect(page.locator(".exercise-field:has([data-path='layers[0].z'])")).to_have_class(
        re.compile(r"\bright\b")
    )
    update = page.locator(".exercise-field:has([data-path='network.layers[1].bias'])")
    expect(update).to_have_class(re.compile(r"\b(right|carried)\b"))
    wrong.locator(".step-link").click()
    expect(page.locator("#step-loss")).to_be_focused()
    expect(page.locator("#explain-note")).to_contain_text(f"{template}, seed {seed}")
    _assert_clean(visit)


def test_a_number_is_checked_at_the_decimals_typed(visit: Visit) -> None:
    """ "1.770" claims three decimals, as on paper: /check gets the text as typed and the loss
    1.77661 is wrong within 0.001, while "1.77" (two decimals) is right; ".5e0" and "+1.45" are
    read as the numbers they are."""
    page = _open(visit)
    bodies: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda request: (
            bodies.append(json.loads(request.post_data or "{}"))
            if request.url.endswith("/check")
            else None
        ),
    )
    sent: list[str] = []
    page.on(
        "request",
        lambda request: (
            sent.append(request.post_data or "") if request.url.endswith("/check") else None
        ),
    )
    page.click("#exercise-box summary")
    page.locator("#claim-loss").fill("1.770")
    page.click("#exercise button[type=submit]")
    loss = page.locator(".exercise-field:has(#claim-loss)")
    expect(loss).to_have_class(re.compile(r"\bwrong\b"))
    assert '"loss":1.770' in sent[-1]
    page.locator("#claim-loss").fill("1.77")
    page.click("#exercise button[type=submit]")
    expect(loss).to_have_class(re.compile(r"\bright\b"))
    page.locator("#claim-loss").fill("")
    page.locator("#claim-layers-0-a").fill(".1e0, +1.45")
    page.click("#exercise button[type=submit]")
    expect(page.locator(".exercise-field:has(#claim-layers-0-a)")).to_have_class(
        re.compile(r"\bright\b")
    )
    assert bodies[-1]["claimed"]["layers"][0]["a"] == [0.1, 1.45]
    assert '"a":[0.1e0,1.45]' in sent[-1]
    _assert_clean(visit)
