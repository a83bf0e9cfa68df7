"""Every formula of the Markdown worked solution renders with KaTeX (the vendored
app/web/vendor/katex@0.19.1, run by Node) without error, for every activation, loss and
optimizer, batches, elided sums, elided runs of steps, numbers written with powers of ten and
both regularizations."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

from app.api.routes import docs
from app.nn.activations import ActivationName
from app.nn.explain import explain
from app.nn.losses import LossName
from app.nn.network import Parameters
from app.nn.optimizers import SGD, Adam, Optimizer
from app.nn.regularization import Regularization
from app.render.explain import markdown

KATEX = docs.WEB_DIR / "vendor" / "katex@0.19.1" / "dist" / "katex.min.js"
SCRIPT = Path(__file__).with_name("katex_check.js")
MATH = re.compile(r"^- \$(.+)\$(?: — .+)?$")
ELIDED = re.compile(r"^- … [\d,]+ more [^($]+\(\$(.+)\$ to \$(.+)\$\), .+ not written out")
CASES: list[tuple[ActivationName, ActivationName, LossName, Optimizer]] = [
    ("relu", "identity", "half_squared_error", SGD(0.01)),
    ("leaky_relu", "sigmoid", "mean_squared_error", SGD(0.1, 0.9, 0.2, weight_decay=0.01)),
    ("tanh", "softmax", "half_squared_error", SGD(0.1, 0.9, nesterov=True)),
    ("sigmoid", "sigmoid", "binary_cross_entropy", Adam(0.01, amsgrad=True, weight_decay=0.1)),
    ("softmax", "softmax", "cross_entropy", Adam(0.01, weight_decay=0.1, decoupled=True)),
]
RULES = [
    None,
    Regularization("l1", 0.01),
    Regularization("l2", 0.01),
    None,
    Regularization("l1", 1),
]
"""The regularization of each case."""


def _document(
    hidden: ActivationName,
    last: ActivationName,
    loss: LossName,
    opt: Optimizer,
    rule: Regularization | None = None,
) -> str:
    """The Markdown solution of a 12-3-2 network on two samples, tiny and huge numbers included."""
    rng = np.random.default_rng(7)
    params = Parameters.from_layers(
        [rng.normal(size=(3, 12)), rng.normal(size=(2, 3)) * 1e-6],
        [rng.normal(size=3), [0.0, 2e7]],
        [hidden, last],
    )
    x = rng.normal(size=(2, 12))
    steps = list(explain(params, x, np.eye(2), loss, opt, None, 1, 4, regularization=rule))
    return markdown.render(steps, 6)


def test_every_markdown_formula_renders_with_katex() -> None:
    node = shutil.which("node")
    assert node is not None, "the KaTeX test needs Node.js (Debian: apt-get install nodejs)"
    formulas = []
    for case, rule in zip(CASES, RULES, strict=True):
        for line in _document(*case, rule).splitlines():
            if line.startswith("- … "):
                elided = ELIDED.match(line)
                assert elided is not None, line
                formulas += [elided[1], elided[2]]
            elif line.startswith("- "):
                match = MATH.match(line)
                assert match is not None, line
                formulas.append(match[1])
    assert any(r"\dots" in formula for formula in formulas)
    assert any(line.startswith("- … ") for line in _document(*CASES[0]).splitlines())
    assert any(r"\times 10^{" in formula for formula in formulas)
    assert sum(formula.startswith(r"\Omega = \mathrm{rate}") for formula in formulas) == 3
    result = subprocess.run(
        [node, str(SCRIPT), str(KATEX)],
        input=json.dumps(formulas),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(result.stdout) == {"rendered": len(formulas), "failures": []}
