"""The page's vocabulary and fixed presets are written once elsewhere: vocab.js is the engine's
activation, loss, init and optimizer tables (app/nn) written out for the page, and each fixed preset
is what pasting its example request (app/examples.py, examples/*.json) gives. Node.js evaluates the
page's own modules, so the test reads them as the browser does."""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, get_args

import pytest

from app import examples
from app.api.routes.docs import WEB_DIR
from app.config import Settings
from app.nn.activations import ACTIVATIONS
from app.nn.init import InitName
from app.nn.losses import LOSSES
from app.nn.optimizers import OPTIMIZERS, Adam
from app.nn.regularization import REGULARIZATION_NAMES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MODULES = ("vocab.js", "presets.js")
PASTED: dict[str, dict[str, Any]] = {
    "notebook": examples.TRAIN,
    "xor": examples.CLASSIFY,
    "mazur": json.loads((EXAMPLES / "mazur.json").read_text()),
}
"""Each fixed preset and the example request it is made from."""
READ = """
const [vocab, presets] = await Promise.all([import("./vocab.js"), import("./presets.js")]);
const bodies = JSON.parse(process.argv[2]);
const pasted = Object.fromEntries(
  Object.entries(bodies).map(([key, body]) => [key, presets.fromRequest(body)]),
);
console.log(JSON.stringify({ vocab, presets: presets.PRESETS, pasted }));
"""


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """vocab.js's exports, the presets, and the presets made from the example requests."""
    node = shutil.which("node")
    assert node is not None, "Node.js reads the page's modules (Debian: apt-get install nodejs)"
    root = tmp_path_factory.mktemp("page")
    for name in MODULES:
        shutil.copy(WEB_DIR / "page" / name, root / name)
    (root / "package.json").write_text('{"type": "module"}')
    script = root / "read.js"
    script.write_text(READ)
    done = subprocess.run(
        [node, str(script), json.dumps(PASTED)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    values: dict[str, Any] = json.loads(done.stdout)
    return values


def test_vocab_is_the_engines_tables(page: dict[str, Any]) -> None:
    """Every name in its table's order, the last-layer-only rule and the optimizers' defaults."""
    vocab = page["vocab"]
    assert vocab["ACTIVATIONS"] == list(ACTIVATIONS)
    only = [name for name, activation in ACTIVATIONS.items() if activation.last_layer_only]
    assert vocab["LAST_LAYER_ONLY"] == only
    assert vocab["LOSSES"] == list(LOSSES)
    needs = {name: loss.output_activation for name, loss in LOSSES.items()}
    assert vocab["OUTPUT_ACTIVATIONS"] == {name: need for name, need in needs.items() if need}
    assert vocab["INITS"] == list(get_args(InitName))
    assert vocab["OPTIMIZERS"] == list(OPTIMIZERS)
    rates = {name: option.defaults.learning_rate for name, option in OPTIMIZERS.items()}
    assert vocab["LEARNING_RATES"] == rates
    assert vocab["BETAS"] == [Adam.beta1, Adam.beta2]
    assert vocab["REGULARIZATIONS"] == list(REGULARIZATION_NAMES)
    defaults = Settings()
    assert vocab["LIMITS"] == {
        "layers": defaults.max_layers.value,
        "units": defaults.max_units.value,
    }


@pytest.mark.parametrize("key", list(PASTED))
def test_fixed_presets_are_the_example_requests(page: dict[str, Any], key: str) -> None:
    """A fixed preset's network and data are its example's; its training too, but for the
    epochs of mazur.json, which trains for one epoch to print the published numbers."""
    preset, pasted = page["presets"][key], page["pasted"][key]
    assert preset["net"] == pasted["net"]
    assert preset["data"] == pasted["data"]
    train = dict(pasted["train"])
    del train["optimizer_extra"]
    if key == "mazur":
        train["epochs"] = preset["train"]["epochs"]
    assert preset["train"] == train
    assert pasted["extra"] == {}


def test_the_notebooks_network_is_the_one_in_app_examples() -> None:
    """examples/notebook.json and the tests' engine arrays hold app/examples.py's network."""
    body = json.loads((EXAMPLES / "notebook.json").read_text())
    assert body["network"] == examples.NOTEBOOK_NETWORK
