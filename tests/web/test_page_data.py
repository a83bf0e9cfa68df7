"""Issue 25's own data on the page, in a real browser: a CSV uploaded (its columns chosen, its
numbers checked by the API's own 422s) or points clicked onto the map, trained on as they are,
carried in the link when small and always in Copy as JSON."""

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Request, expect

from tests.servers import running_server
from tests.web.conftest import Visit
from tests.web.test_page import _assert_clean, _open, _train

#: The API's row limit for this module's server: small, so that a CSV passes it cheaply, and
#: above the 64 × 64 grid of the map's one /forward.
MAX_SAMPLES = 5_000


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    """A one-worker server whose BACKPROP_MAX_SAMPLES is MAX_SAMPLES."""
    with running_server(BACKPROP_MAX_SAMPLES=str(MAX_SAMPLES)) as (_, url):
        yield url


def _trained(requests: list[Request]) -> list[dict[str, Any]]:
    """The bodies of the /train and /train/stream requests among ``requests``."""
    return [
        json.loads(request.post_data or "{}")
        for request in requests
        if request.url.endswith(("/train", "/train/stream"))
    ]


def _upload(page: Page, text: str, name: str = "data.csv") -> None:
    """Choose ``text`` as a CSV file in the own-data panel."""
    page.evaluate("document.getElementById('own-box').open = true")
    page.set_input_files(
        "#own-file", files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}]
    )


def _hash_state(page: Page) -> dict[str, Any]:
    """The state the page's URL holds (base64url JSON after ``#s=``)."""
    code = page.url.split("#s=", 1)[1]
    state: dict[str, Any] = json.loads(base64.urlsafe_b64decode(code + "=" * (-len(code) % 4)))
    return state


CSV = """x1;x2;colour
0.5;-1.25;red
-2;3;blue
1e-1;0;red
"4";-0.5;green
"""


def test_a_csv_upload_trains_on_its_rows(visit: Visit) -> None:
    """A semicolon CSV with a header and text labels: the header is found, the columns chosen,
    and /train gets its rows as inputs and its labels one-hot (sorted: blue, green, red) for the
    softmax the page switches to from the notebook's regression; the map shows them."""
    page = _open(visit)
    _upload(page, CSV)
    expect(page.locator("#own-columns")).to_be_visible()
    expect(page.locator("#own-header")).to_be_checked()
    expect(page.locator("#own-note")).to_have_text(
        "data.csv: 4 rows, 3 columns, a header row. Choose the columns, then Use these rows."
    )
    page.click("#own-use")
    expect(page.locator("body")).to_have_attribute("data-own-points", "4")
    expect(page.locator("#own-note")).to_have_text(
        "Training on your 4 points from data.csv, 3 classes"
        " (blue → blue, green → orange, red → green)."
    )
    expect(page.locator("#heatmap-box")).to_be_visible()
    expect(page.locator("#dataset")).to_have_value("own")
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    _train(page)
    (body,) = _trained(requests)[:1]
    assert body["inputs"] == [[0.5, -1.25], [-2, 3], [0.1, 0], [4, -0.5]]
    assert body["targets"] == [[0, 0, 1], [1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert body["loss"] == "cross_entropy"
    assert body["network"]["layers"][-1]["activation"] == "softmax"
    assert len(body["network"]["layers"][0]["weights"][0]) == 2
    assert "validation" not in body
    page.check("#own-draw")
    expect(page.locator("#own-class option")).to_have_text(
        ["class 1 blue (blue)", "class 2 green (orange)", "class 3 red (green)"]
    )
    page.select_option("#own-class", "2")
    page.locator("#heatmap").click()
    expect(page.locator("body")).to_have_attribute("data-own-points", "5")
    expect(page.locator("#own-note")).to_contain_text(
        "Training on your 5 points from data.csv and clicks on the map, 3 classes"
    )
    assert _hash_state(page)["data"]["own"]["points"].endswith(",2")
    _assert_clean(visit)


def test_a_csv_dropped_on_the_map_is_read_as_one_chosen(visit: Visit) -> None:
    """Two moons' map visible: a CSV dropped on it opens the own-data panel with its columns."""
    page = _open(visit)
    page.select_option("#preset", "moons")
    expect(page.locator("body")).to_have_attribute("data-prepared", "moons")
    expect(page.locator("#heatmap-box")).to_be_visible()
    page.evaluate(
        """text => {
            const files = new DataTransfer();
            files.items.add(new File([text], "drop.csv", {type: "text/csv"}));
            const init = {dataTransfer: files, bubbles: true, cancelable: true};
            const drop = new DragEvent("drop", init);
            document.getElementById("heatmap").dispatchEvent(drop);
        }""",
        CSV,
    )
    expect(page.locator("#own-box")).to_have_attribute("open", "")
    expect(page.locator("#own-columns")).to_be_visible()
    expect(page.locator("#own-note")).to_have_text(
        "drop.csv: 4 rows, 3 columns, a header row. Choose the columns, then Use these rows."
    )
    _assert_clean(visit)


def test_a_numeric_target_is_regression_and_two_classes_fit_a_sigmoid(visit: Visit) -> None:
    """A header-less CSV whose third column holds many numbers: a regression target ([y] rows,
    the notebook's loss kept); then with a sigmoid output and binary cross-entropy, a 0/1 label
    column is sent as one 0/1 column."""
    rows = [(i / 10, -i / 5, i * i / 7) for i in range(12)]
    page = _open(visit)
    _upload(page, "\n".join(f"{a},{b},{c}" for a, b, c in rows))
    expect(page.locator("#own-header")).not_to_be_checked()
    expect(page.locator("#own-task")).to_have_value("regression")
    page.click("#own-use")
    expect(page.locator("body")).to_have_attribute("data-own-points", "12")
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    _train(page)
    body = _trained(requests)[0]
    assert body["targets"] == [[c] for _, _, c in rows]
    assert (body["loss"], body["network"]["layers"][-1]["activation"]) == (
        "half_squared_error",
        "identity",
    )
    page.select_option("#output", "sigmoid")
    page.select_option("#loss", "binary_cross_entropy")
    _upload(page, "a,b,y\n1,2,0\n3,4,1\n5,6,1\n")
    expect(page.locator("#own-task")).to_have_value("classification")
    page.click("#own-use")
    expect(page.locator("body")).to_have_attribute("data-own-points", "3")
    requests.clear()
    _train(page)
    body = _trained(requests)[0]
    assert body["targets"] == [[0], [1], [1]]
    assert body["loss"] == "binary_cross_entropy"
    # Between the two menus the output is a sigmoid under the cross-entropy: /backward's 422.
    _assert_clean(visit, expected_422=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "x1,x2,y\n1,2,0\n3,4\n",
            "bad.csv: line 3 has 2 cells, line 1 has 3: every row needs the same columns.",
        ),
        ('x1,x2,y\n1,2,0\n"3,4,1\n', "bad.csv: line 3: a quoted cell is not closed."),
        ("\n\n", "bad.csv: the file holds no rows."),
        ("1\n2\n", "bad.csv: line 1 has one column: x₁, x₂ and a target need three."),
        ("x,y\n1,2\n", "bad.csv: line 1 has two columns: x₁, x₂ and a target need three."),
    ],
)
def test_a_csv_the_page_cannot_read_says_where_beside_the_upload(
    visit: Visit, text: str, message: str
) -> None:
    """A CSV that does not parse: the page's own message names the line, beside the upload; no
    data changes and nothing is sent."""
    page = _open(visit)
    _upload(page, text, "bad.csv")
    expect(page.locator("#own-error")).to_have_text(message)
    expect(page.locator("#own-columns")).to_be_hidden()
    expect(page.locator("#dataset")).to_have_value("fixed")
    _assert_clean(visit)


def test_more_classes_than_colours_or_a_target_among_the_inputs_is_refused(visit: Visit) -> None:
    """Eleven labels as a class target: refused with the limit said;
    the target chosen as an input column: refused. Nothing changes the data."""
    page = _open(visit)
    _upload(page, "\n".join(f"{i},{-i},label{i}" for i in range(11)))
    page.click("#own-use")
    expect(page.locator("#own-error")).to_have_text(
        "The target column holds 11 different labels: a class target takes at most 10"
        ' (choose "a number" for a numeric target).'
    )
    page.select_option("#own-target", "1")
    page.click("#own-use")
    expect(page.locator("#own-error")).to_have_text(
        "The target column is one of the inputs: choose another."
    )
    expect(page.locator("#dataset")).to_have_value("fixed")
    _assert_clean(visit)


def test_a_file_beyond_the_limit_is_refused(visit: Visit) -> None:
    """A file over 2 MB is refused before it is read, with the limit said."""
    page = _open(visit)
    _upload(page, "1,2,3\n" * 400_000, "big.csv")
    expect(page.locator("#own-error")).to_have_text(
        "big.csv is 2.3 MB: the page reads files of at most 2 MB."
    )
    expect(page.locator("#own-limits")).to_contain_text("a file of at most 2 MB")
    _assert_clean(visit)


def _refusal(origin: str, inputs: list[list[Any]]) -> list[dict[str, Any]]:
    """The API's own 422 problems for these inputs, from /forward."""
    network = {
        "layers": [{"weights": [[0] * len(inputs[0])], "bias": [0], "activation": "identity"}]
    }
    answer = httpx.post(f"{origin}/forward", json={"network": network, "inputs": inputs})
    assert answer.status_code == 422
    problems: list[dict[str, Any]] = answer.json()["detail"]
    return problems


def test_the_apis_422_for_a_cell_shows_beside_the_upload_with_its_line(visit: Visit) -> None:
    """A cell that is no number (a regression target, and an input): the API's own 422 messages,
    each with its loc and the CSV's line and column, beside the upload; the data is not taken."""
    page = _open(visit)
    rows = ["x1,x2,y", *(f"{i},{i},{i * 1.5}" for i in range(20)), "3,abc,1", "4,5,n/a"]
    _upload(page, "\n".join(rows))
    page.select_option("#own-task", "regression")
    page.click("#own-use")
    problems = _refusal(visit.origin, [[3, "abc", 1], [4, 5, "n/a"]])
    assert [problem["loc"] for problem in problems] == [
        ["body", "inputs", 0, 1],
        ["body", "inputs", 1, 2],
    ]
    expect(page.locator("#own-error")).to_have_text(
        "The API refused the rows (422):\n"
        f"inputs.20.1: {problems[0]['msg']} [line 22, column 2 (x2)]\n"
        f"inputs.21.2: {problems[1]['msg']} [line 23, column 3 (y)]"
    )
    expect(page.locator("#dataset")).to_have_value("fixed")
    _assert_clean(visit, expected_422=True)


def test_the_apis_422_for_too_many_rows_shows_beside_the_upload(visit: Visit) -> None:
    """One row more than the server's BACKPROP_MAX_SAMPLES: its 422, worded by the API."""
    inputs = [[i, -i] for i in range(MAX_SAMPLES + 1)]
    (problem,) = _refusal(visit.origin, inputs)
    page = _open(visit)
    _upload(page, "\n".join(f"{a},{b},{a % 2}" for a, b in inputs))
    page.click("#own-use")
    expect(page.locator("#own-error")).to_have_text(
        f"The API refused the rows (422):\ninputs: {problem['msg']}"
    )
    assert f"{MAX_SAMPLES:,}" in problem["msg"]
    _assert_clean(visit, expected_422=True)


def _click_at(page: Page, x1: float, x2: float, shift: bool = False) -> None:
    """Click the map at (x1, x2) of the drawing plane [-1.25, 1.25]² (Playwright's position is
    within the padding box, as the event's offsetX and offsetY)."""
    side = page.evaluate("document.getElementById('heatmap').clientWidth")
    position = {"x": (x1 + 1.25) / 2.5 * side, "y": (1.25 - x2) / 2.5 * side}
    page.locator("#heatmap").click(position=position, modifiers=["Shift"] if shift else [])


def test_clicked_points_train_travel_in_the_link_and_come_back(visit: Visit) -> None:
    """Own data chosen from the notebook: an empty plane; three clicks of two classes, one
    shift-click removing a point and an Undo: /train gets the points left, the link holds them,
    and opening that link trains on the same body."""
    page = _open(visit)
    page.select_option("#dataset", "own")
    expect(page.locator("#own-draw")).to_be_checked()
    expect(page.locator("#own-note")).to_have_text("No points yet: click the map to add some.")
    expect(page.locator("#heatmap-box")).to_be_visible()
    expect(page.locator("#network *")).to_have_count(0)
    expect(page.locator("#sample option")).to_have_count(0)
    _click_at(page, -0.5, 0.5)
    expect(page.locator("body")).to_have_attribute("data-own-points", "1")
    expect(page.locator("#sample option")).to_have_text(["1: [-0.5, 0.5]"])
    page.select_option("#own-class", "1")
    _click_at(page, 0.5, -0.5)
    expect(page.locator("body")).to_have_attribute("data-own-points", "2")
    _click_at(page, 0.25, 0.75)
    expect(page.locator("body")).to_have_attribute("data-own-points", "3")
    _click_at(page, 0.75, 0.75)
    expect(page.locator("body")).to_have_attribute("data-own-points", "4")
    page.click("#own-undo")
    expect(page.locator("body")).to_have_attribute("data-own-points", "3")
    _click_at(page, 0.252, 0.748, shift=True)
    expect(page.locator("body")).to_have_attribute("data-own-points", "2")
    expect(page.locator("#own-note")).to_have_text(
        "Training on your 2 points clicked onto the map, 2 classes."
    )
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    _train(page)
    body = _trained(requests)[0]
    assert body["inputs"] == [[-0.5, 0.5], [0.5, -0.5]]
    assert body["targets"] == [[1, 0], [0, 1]]
    own = _hash_state(page)["data"]["own"]
    assert own["points"] == "-0.5,0.5,0;0.5,-0.5,1"
    link = page.url
    page.goto("about:blank")
    requests.clear()
    # The link selects the run's last epoch, so opening it trains the run again up to there.
    page = _open(visit, link.removeprefix(visit.origin))
    expect(page.locator("body")).to_have_attribute("data-own-points", "2")
    assert _trained(requests)[0] == body
    expect(page.locator("#status")).to_have_attribute("data-status", "completed")
    _assert_clean(visit)


def test_data_beyond_the_link_limit_is_left_out_of_it_and_kept_in_copy_as_json(
    visit: Visit,
) -> None:
    """250 rows: the link says how many it left out (and opening it says so), Copy as JSON holds
    all of them."""
    page = _open(visit)
    _upload(page, "\n".join(f"{i},{-i},{i % 2}" for i in range(250)))
    page.click("#own-use")
    expect(page.locator("body")).to_have_attribute("data-own-points", "250")
    own = _hash_state(page)["data"]["own"]
    assert (own["points"], own["missing"]) == ("", 250)
    page.click("#copy-json")
    copied = json.loads(page.locator("#share-output").input_value())
    assert copied["inputs"] == [[i, -i] for i in range(250)]
    link = page.url
    visit.page.goto("about:blank")
    page = _open(visit, link.removeprefix(visit.origin))
    expect(page.locator("#run-error")).to_have_text(
        "This link's 250 points were too many to travel in it (at most 200): upload the CSV "
        "again, or load the request that Copy as JSON gave."
    )
    _assert_clean(visit)
