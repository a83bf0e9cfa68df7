"""app.client as an SDK: what importing it costs, short reprs, answers as NumPy arrays, and each
method's keyword fields (TypedDicts held to the request models here)."""

import inspect
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel

import app.client
from app import examples
from app.client import Client
from app.main import in_process_app
from app.schemas.datasets import DatasetRequest
from app.schemas.training import TrainResponse
from tests.servers import running_server

ROOT = Path(__file__).parents[2]
HEAVY = ("httpx", "pydantic", "numpy", "rich", "anyio", "app.schemas", "app.nn", "app.main")
"""What importing the client, or starting ``backprop --help``, does not import..."""
LIGHT = {"app.schemas", "app.schemas.export_files"}
"""... but for these: the export's names, which the command's options take."""
ENDPOINTS = {
    "forward": ("ForwardFields", ["ForwardRequest"]),
    "loss": ("LossFields", ["LossRequest"]),
    "backward": ("BackwardFields", ["BackwardRequest"]),
    "train": ("TrainFields", ["TrainRequest"]),
    "train_stream": ("TrainFields", ["TrainRequest"]),
    "init": ("InitFields", ["InitRequest"]),
    "gradcheck": ("GradcheckFields", ["GradcheckRequest"]),
    "check": ("CheckFields", ["CheckRequest"]),
    "explain": ("ExplainFields", ["ExplainRequest"]),
    "export": ("ExportFields", ["TrainExport", "NetworkExport"]),
    "datasets": ("DatasetFields", []),
    "exercises": ("ExerciseFields", ["ExerciseRequest"]),
}
"""Each method taking a body, its keyword fields' TypedDict and the request models they are."""


def imported_by(code: str) -> list[str]:
    """The modules of HEAVY that a new interpreter has imported after running ``code``."""
    probe = f"{code}\nimport sys\nprint([m for m in sys.modules if m.startswith({HEAVY!r})])"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    modules: list[str] = json.loads(done.stdout.splitlines()[-1].replace("'", '"'))
    return [module for module in modules if module not in LIGHT]


def test_importing_the_client_imports_no_model_httpx_or_numpy() -> None:
    assert imported_by("import app.client") == []
    assert imported_by("from app.client import Client, BackpropError, TrainFields") == []


def test_a_model_is_imported_when_it_is_asked_for() -> None:
    modules = imported_by("from app.client import ForwardResponse")
    assert "app.schemas.passes" in modules
    assert "app.schemas.explain" not in modules
    assert "httpx" not in modules


def test_backprop_help_imports_no_model_httpx_rich_or_numpy() -> None:
    code = (
        "import sys\nfrom app.cli.commands import cli\nsys.argv = ['backprop', '--help']\n"
        "try:\n    cli(prog_name='backprop')\nexcept SystemExit:\n    pass"
    )
    assert imported_by(code) == []


@pytest.fixture(scope="module")
def trained() -> Iterator[TrainResponse]:
    with Client(app=in_process_app()) as client:
        yield client.train(examples.TRAIN)


def test_a_ten_epoch_train_answer_has_a_short_repr(trained: TrainResponse) -> None:
    """Arrays of more than four numbers show their shape, lists of more than two models their
    count; the numbers of small ones, and the summary's, show as they are."""
    shown = repr(trained)
    assert len(shown) < 1_000, len(shown)
    assert shown.startswith("TrainResponse(status='completed', epochs_run=10, final_loss=0.4997")
    assert "trace=<10 EpochTrace>" in shown
    assert "Layer(weights=<2×3 numbers>, bias=[" in shown
    assert f"weights={trained.network.layers[1].weights!r}" in shown
    assert str(trained.trace[0]).startswith("epoch=1 loss=1.7766125")


def test_a_small_answer_shows_its_numbers() -> None:
    with Client(app=in_process_app()) as client:
        answer = client.forward(examples.FORWARD)
    assert repr(answer) == (
        f"ForwardResponse(outputs={answer.outputs!r}, layers=[LayerValues(z={answer.layers[0].z!r}"
        f", a={answer.layers[0].a!r}), LayerValues(z={answer.outputs!r}, a={answer.outputs!r})])"
    )


def test_networks_as_numpy_arrays(trained: TrainResponse) -> None:
    arrays = trained.network.to_numpy()
    assert [(w.shape, b.shape) for w, b in arrays] == [((2, 3), (2,)), ((1, 2), (1,))]
    assert all(w.dtype == np.float64 and b.dtype == np.float64 for w, b in arrays)
    assert arrays[1][0].tolist() == trained.network.layers[1].weights
    request = app.client.TrainRequest.model_validate(examples.TRAIN)
    assert request.network.to_numpy()[0][0][0, 1] == -0.2


def test_a_trace_as_numpy_arrays(trained: TrainResponse) -> None:
    """One array per field, the entries along the first axis; the last entry's network is the
    answer's network."""
    arrays = trained.trace_to_numpy()
    assert arrays["epoch"].tolist() == list(range(1, 11))
    assert arrays["loss"][0] == pytest.approx(1.7766125)
    assert arrays["loss"].tolist() == [entry.loss for entry in trained.trace]
    assert arrays["outputs"].shape == (10, 1)
    assert arrays["gradients.0.weights"].shape == (10, 2, 3)
    assert arrays["gradients.0.weights"][0].ravel()[:2] == pytest.approx([0.5655, -1.131])
    assert arrays["layers.0.a"][0] == pytest.approx([0.1, 1.45])
    for index, (weights, bias) in enumerate(trained.network.to_numpy()):
        assert np.array_equal(arrays[f"network.{index}.weights"][-1], weights)
        assert np.array_equal(arrays[f"network.{index}.bias"][-1], bias)
    assert "accuracy" not in arrays
    assert app.client.trace_arrays(trained.trace).keys() == arrays.keys()


def test_a_trace_of_losses_only_holds_no_tensors() -> None:
    with Client(app=in_process_app()) as client:
        body = examples.TRAIN | {"trace": {"include": ["loss"]}}
        entries = [e for e in client.train_stream(body) if isinstance(e, app.client.EpochTrace)]
    arrays = app.client.trace_arrays(entries)
    assert sorted(arrays) == ["epoch", "loss"]


def dataset_models() -> Iterator[type[BaseModel]]:
    """Every data set's request model."""
    pending = [DatasetRequest]
    while pending:
        model = pending.pop()
        pending += model.__subclasses__()
        yield model


@pytest.mark.parametrize("method", ENDPOINTS)
def test_each_method_names_its_fields(method: str) -> None:
    """The keyword fields of each method, in its signature, are its request models' fields, so
    that help() and an editor show them (``**fields: Unpack[ForwardFields]``) and mypy checks
    them."""
    typed_dict, models = ENDPOINTS[method]
    for client in (app.client.Client, app.client.AsyncClient):
        parameter = inspect.signature(getattr(client, method)).parameters["fields"]
        assert parameter.annotation == f"Unpack[{typed_dict}]"
    fields = getattr(app.client, typed_dict)
    keys = fields.__optional_keys__ | fields.__required_keys__
    request_models = [getattr(app.client, name) for name in models] or list(dataset_models())
    assert keys == {name for model in request_models for name in model.model_fields}
    assert fields.__required_keys__ == frozenset()  # the body may give any of them
    assert typed_dict in app.client.__all__


def test_train_lines_are_the_streams_lines_as_plain_json() -> None:
    with Client(app=in_process_app()) as client:
        lines = list(client.train_lines(examples.TRAIN))
        models = list(client.train_stream(examples.TRAIN))
    assert lines == [model.model_dump(exclude_unset=True) for model in models]
    assert lines[-1]["status"] == "completed"


def test_a_piped_train_against_a_server_imports_no_model_pydantic_or_rich() -> None:
    """``backprop --url … train`` prints from the stream's plain JSON: httpx and NumPy, no more
    (Rich only on a terminal or for --table, a model only for the bar's default length)."""
    with running_server() as (_, url):
        code = (
            "import sys\nfrom app.cli import main\n"
            f"sys.argv = ['backprop', '--url', '{url}', 'train', 'examples/notebook.json']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass"
        )
        modules = imported_by(code)
    assert not [m for m in modules if m.startswith(("pydantic", "rich", "app.schemas", "app.nn"))]
    assert {"httpx", "numpy"} <= set(modules)
