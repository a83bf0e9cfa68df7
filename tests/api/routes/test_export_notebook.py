"""/export's notebook: valid nbformat 4, run by nbclient, printing the notebook's first step line
for line and, from its training loop, /train's numbers (as the NumPy script, to 1e-9)."""

import copy
from pathlib import Path
from typing import Any

import nbformat
import pytest
from fastapi.testclient import TestClient
from nbclient import NotebookClient

from app import examples
from tests.api.routes.test_export import CASES, TOLERANCE, VALIDATED, _difference, _expected

ROOT = Path(__file__).parents[3]
PRINTOUT = (ROOT / "tests" / "notebook_printout.txt").read_text().splitlines()
BODIES = {
    "notebook": examples.TRAIN,
    "adam_shuffled_batches": examples.CLASSIFY,
    "early_stopping": examples.EARLY_STOPPING,
    "sgd_momentum_dampening_mse_batches": CASES["sgd_momentum_dampening_mse_batches"],
    "validated": VALIDATED["cross_entropy_accuracy_shuffled_batches_patience"],
}


def _notebook(client: TestClient, body: dict[str, Any]) -> Any:
    response = client.post("/export", json={**body, "format": "notebook"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["filename"] == "train.ipynb"
    notebook = nbformat.reads(answer["content"], as_version=4)
    nbformat.validate(notebook)
    return notebook


def _text(cell: Any) -> str:
    return "".join(output.get("text", "") for output in cell.outputs)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, Any], Any]]:
    """Each body's notebook, run by nbclient in a Python 3 kernel."""
    from app.main import create_app

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PLATFORM_DIRS", "1")
        client = TestClient(create_app())
        where = tmp_path_factory.mktemp("notebooks")
        runs = {}
        for name, body in BODIES.items():
            notebook = _notebook(client, copy.deepcopy(body))
            resources = {"metadata": {"path": str(where)}}
            NotebookClient(
                notebook, timeout=300, kernel_name="python3", resources=resources
            ).execute()
            runs[name] = (_expected(client, copy.deepcopy(body)), notebook)
    return runs


@pytest.mark.parametrize("name", list(BODIES))
def test_the_notebook_trains_as_train_does(
    executed: dict[str, tuple[dict[str, Any], Any]], name: str
) -> None:
    """The last cell prints /train's recorded losses, how the run ended and its network."""
    expected, notebook = executed[name]
    (run,) = [cell for cell in notebook.cells if cell.source == "main()"]
    printed = _text(run)
    assert _difference(printed, expected) <= TOLERANCE


def test_the_first_step_prints_as_the_notebook_does(
    executed: dict[str, tuple[dict[str, Any], Any]],
) -> None:
    """The forward pass, loss and backward pass cells print the notebook's first three lines;
    the notebook's loop after the run prints its ten epochs line for line."""
    _, notebook = executed["notebook"]
    cells = {cell.source: cell for cell in notebook.cells}
    titles = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    printed = []
    for title in ("## The forward pass", "## The loss", "## The backward pass"):
        index = notebook.cells.index(cells[title])
        printed += _text(notebook.cells[index + 1]).splitlines()
    assert printed == PRINTOUT[:3]
    assert notebook.cells[-2].source.startswith("## The notebook's loop")
    loop = _text(notebook.cells[-1]).splitlines()
    assert loop[: len(PRINTOUT) - 1] == PRINTOUT[:-1]
    assert loop[len(PRINTOUT) - 1].startswith(PRINTOUT[-1])
    assert len(loop) == 10 * 5  # four lines an epoch, the update's W1 on two
    assert titles[1:9] == [
        "## Imports",
        "## The network",
        "## The data",
        "## The forward pass",
        "## The loss",
        "## The backward pass",
        titles[7],
        "## The update",
    ]
    assert titles[7].startswith("# The first step, worked out")
    assert r"\frac{\partial L}" in titles[7] or r"\partial L" in titles[7]


def test_mini_batches_have_no_worked_first_step(
    executed: dict[str, tuple[dict[str, Any], Any]],
) -> None:
    """With mini-batches the first step is the first batch's, not the data's: no worked
    solution of the data's step is shown."""
    _, notebook = executed["adam_shuffled_batches"]
    assert not any("worked out" in cell.source for cell in notebook.cells)
    assert not any("notebook's loop" in cell.source for cell in notebook.cells)
    assert notebook.cells[-1].source == "main()"


def test_a_notebook_holds_its_data(client: TestClient) -> None:
    body = {**examples.TRAIN, "format": "notebook", "include_data": False}
    response = client.post("/export", json=body)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "include_data"]
    assert "a notebook holds its data" in problem["msg"]


def test_a_network_alone_as_a_notebook(client: TestClient) -> None:
    """A network without data: its cells define it and the last one prints it; no data, no
    first step, no training loop."""
    notebook = _notebook(client, {"network": examples.NOTEBOOK_NETWORK})
    titles = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    assert titles[1:] == ["## Imports", "## The network", "## The forward pass", "## The printout"]
    assert notebook.cells[-1].source == "main()"
    assert "[0.1, -0.2, 0.4]" in notebook.cells[4].source
