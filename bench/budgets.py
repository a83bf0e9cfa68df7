"""Budgets (issue 21): what each endpoint's limits let one request cost, measured.

    python -m bench.budgets                  # every endpoint, a fresh server for each
    python -m bench.budgets explain train    # the endpoints whose name holds one of these

For each endpoint a request at the edge of the default limits is built: the largest answer they
accept, found by bisecting one size of the request (samples, epochs, units, max_terms, ...)
against the request's own validation, in this process, before anything is sent. A fresh server
(``python -m app.server``, one worker) first answers a small request of the same kind, so that
its code paths are in place; then VmRSS is read, the edge request is sent and its whole answer
read, and VmHWM (the process's peak resident set) is read. Printed per endpoint: the request,
the values it is charged against BACKPROP_MAX_TRACE_VALUES (or what else bounds it), the answer's
bytes (for /train/stream its largest line), bytes per value, seconds (and the server's CPU
seconds, which a busy shared machine does not stretch), and the peak's growth over the idle
process. At the end, the Markdown table of docs/operating.md's Limits section. For /explain
also the answer size modelled before the work (``ExplainRequest.answer_bytes``), which must not
be below the answer's: the exit status is 1 if it is, or if an endpoint refuses its edge request.
"""

import itertools
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app import examples
from app.config import get_settings
from app.schemas.datasets import AnyDatasetRequest
from app.schemas.diagnostics import CheckRequest, GradcheckRequest
from app.schemas.explain import VALUE_BYTES, ExplainRequest
from app.schemas.export import TrainExport
from app.schemas.init import InitRequest
from app.schemas.passes import BackwardRequest, ForwardRequest, LossRequest
from app.schemas.training import StreamTrainRequest, TrainRequest
from bench.common import MB, Server, machine, proc_status_kb

JSON = {"content-type": "application/json"}
Body = dict[str, Any]


def dense(sizes: list[int], hidden: str, output: str, seed: int = 0) -> Body:
    """A network of ``sizes`` with seeded weights, ``hidden`` then ``output`` activations."""
    rng = np.random.default_rng(seed)
    layers = [
        {
            "weights": (rng.normal(size=(units, inputs)) / np.sqrt(inputs)).tolist(),
            "bias": (rng.normal(size=units) * 0.1).tolist(),
            "activation": output if index == len(sizes) - 2 else hidden,
        }
        for index, (inputs, units) in enumerate(itertools.pairwise(sizes))
    ]
    return {"layers": layers}


def data(samples: int, inputs: int, outputs: int, seed: int = 1) -> Body:
    """``samples`` random rows of ``inputs`` numbers and their ``outputs`` targets."""
    rng = np.random.default_rng(seed)
    return {
        "inputs": rng.normal(size=(samples, inputs)).tolist(),
        "targets": rng.normal(size=(samples, outputs)).tolist(),
    }


WIDE = dense([16, 512, 512, 10], "relu", "identity")
"""A network with many units per input: the pass endpoints' answers grow fastest with it."""


@dataclass(frozen=True)
class Case:
    """One endpoint's edge request: ``build(n)`` grows with ``n``; the largest ``n`` in
    ``[low, high]`` that ``model`` accepts (and whose body fits BACKPROP_MAX_BODY_BYTES) is
    sent, ``build(low)`` warms the server up."""

    endpoint: str
    path: str
    model: Any
    build: Callable[[int], Body]
    knob: str
    low: int
    high: int
    stream: bool = False
    bound: str = "values"
    """What stops ``n`` from growing: ``values`` (BACKPROP_MAX_TRACE_VALUES), or else in words."""

    def accepts(self, n: int) -> bool:
        """Whether the request of size ``n`` passes validation and the body limit."""
        body = self.build(n)
        if len(orjson.dumps(body)) > get_settings().max_body_bytes.value:
            return False
        try:
            validate(self.model, body)
        except ValidationError:
            return False
        return True

    def edge(self) -> int:
        """The largest accepted ``n`` (``high`` itself when everything up to it is accepted)."""
        if self.accepts(self.high):
            return self.high
        low, high = self.low, self.high
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if self.accepts(middle) else (low, middle)
        return low


def validate(model: Any, body: Body) -> Any:
    """``body`` validated as ``model`` (a model class or a TypeAdapter's type)."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model.model_validate(body)
    return TypeAdapter(model).validate_python(body)


def explain_case(fmt: str) -> Case:
    """The issue's /explain at the limit: a tanh network's sums over 1,000 samples, every step
    written, 17 digits, max_terms as large as the limit allows."""
    base = {"network": dense([1, 40, 40, 1], "tanh", "identity"), **data(1_000, 1, 1)}
    base |= {"max_steps": 1_000_000, "digits": 17, "format": fmt}
    return Case(
        f"/explain ({fmt})",
        "/explain",
        ExplainRequest,
        lambda n: base | {"max_terms": n},
        "max_terms",
        2,
        1_000,
    )


def claimed_gradients(hidden: int) -> Body:
    """A /check of a 192-hidden-10 network's every gradient, claimed as zeros."""
    network = dense([192, hidden, 10], "relu", "identity")
    gradients = [
        {
            "weights": [[0.0] * len(row) for row in layer["weights"]],
            "bias": [0.0] * len(layer["bias"]),
        }
        for layer in network["layers"]
    ]
    return {"network": network, **data(1, 192, 10), "claimed": {"gradients": gradients}}


def export_body(hidden: int) -> Body:
    """A PyTorch script of a 256-hidden-10 network, a sparse trace (the file holds more)."""
    return {
        "network": dense([256, hidden, 10], "relu", "identity"),
        **data(4, 256, 10),
        "epochs": 1,
        "trace": {"include": ["loss"]},
        "format": "pytorch",
    }


CASES = [
    Case(
        "/forward",
        "/forward",
        ForwardRequest,
        lambda n: {"network": WIDE, "inputs": data(n, 16, 10)["inputs"]},
        "samples",
        1,
        10_000,
    ),
    Case(
        "/loss",
        "/loss",
        LossRequest,
        lambda n: {"network": WIDE, **data(n, 16, 10)},
        "samples",
        1,
        10_000,
    ),
    Case(
        "/backward",
        "/backward",
        BackwardRequest,
        lambda n: {"network": WIDE, **data(n, 16, 10)},
        "samples",
        1,
        10_000,
    ),
    Case(
        "/train",
        "/train",
        TrainRequest,
        lambda n: examples.TRAIN | {"epochs": n},
        "epochs",
        10,
        1_000_000,
    ),
    Case(
        "/train/stream",
        "/train/stream",
        StreamTrainRequest,
        lambda n: {"network": WIDE, **data(n, 16, 10), "epochs": 2},
        "samples",
        1,
        10_000,
        stream=True,
    ),
    Case(
        "/check",
        "/check",
        CheckRequest,
        claimed_gradients,
        "hidden units",
        1,
        4_096,
        bound="values, BACKPROP_MAX_BODY_BYTES",
    ),
    Case(
        "/gradcheck",
        "/gradcheck",
        GradcheckRequest,
        lambda n: {"network": dense([1, 500, 1], "relu", "identity"), **data(n, 1, 1)},
        "samples",
        1,
        10_000,
    ),
    Case(
        "/init",
        "/init",
        InitRequest,
        lambda n: {"sizes": [1024, n, 10]},
        "hidden units",
        1,
        4_096,
    ),
    Case(
        "/datasets",
        "/datasets",
        AnyDatasetRequest,
        lambda n: {"name": "blobs", "samples": n, "features": 64, "classes": 10},
        "samples",
        10,
        10_000,
        bound="BACKPROP_MAX_SAMPLES, 64 features",
    ),
    Case(
        "/export",
        "/export",
        TrainExport,
        export_body,
        "hidden units",
        1,
        4_096,
        bound="values, BACKPROP_MAX_BODY_BYTES",
    ),
    *(explain_case(fmt) for fmt in ("json", "markdown", "text")),
]


@dataclass(frozen=True)
class Measured:
    """One endpoint's edge request and what it cost."""

    case: Case
    n: int
    values: int | None
    answer: int
    seconds: float
    cpu: float
    growth: int
    peak: int
    modelled: int | None

    def line(self) -> str:
        """A line printed as soon as the endpoint is measured."""
        values = "-" if self.values is None else f"{self.values:,}"
        per = "" if not self.values else f" ({self.answer / self.values:.1f} bytes per value)"
        modelled = "" if self.modelled is None else f"; modelled {self.modelled:,} bytes"
        return (
            f"==> {self.case.endpoint}: {self.case.knob} {self.n:,}; values {values}; answer "
            f"{self.answer:,} bytes{per}{modelled}; {self.seconds:.1f} s ({self.cpu:.1f} s of "
            f"CPU); peak RSS "
            f"+{self.growth / MB:.0f} MB over idle ({self.peak / MB:.0f} MB)"
        )

    def row(self) -> str:
        """The endpoint's row of the table in docs/operating.md."""
        values = "-" if self.values is None else f"{self.values:,}"
        return (
            f"| `{self.case.endpoint}` | {self.case.knob} {self.n:,} | {self.case.bound} | "
            f"{values} | "
            f"{self.answer / MB:.1f} MB | {self.seconds:.1f} s ({self.cpu:.1f} s) | "
            f"+{self.growth / MB:.0f} MB ({self.peak / MB:.0f} MB) |"
        )


def post(http: httpx.Client, case: Case, body: Body) -> bytes:
    """Send ``body`` and read the whole answer; for a stream, its largest line."""
    content = orjson.dumps(body)
    if case.stream:
        with http.stream("POST", case.path, content=content, headers=JSON) as response:
            if response.status_code != 200:
                raise RuntimeError(f"{case.path} answered {response.status_code}")
            return max(response.iter_lines(), key=len).encode()
    response = http.post(case.path, content=content, headers=JSON)
    if response.status_code != 200:
        raise RuntimeError(f"{case.path} answered {response.status_code}: {response.text[:400]}")
    return response.content


def cpu_seconds(pid: int) -> float:
    """The user and system CPU time process ``pid`` has used (a busy shared machine stretches
    the wall-clock time, not this)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(case: Case) -> Measured:
    """The edge request of ``case`` on a fresh server."""
    n = case.edge()
    body = case.build(n)
    request = validate(case.model, body)
    values = request.parameters if isinstance(request, InitRequest) else None
    if hasattr(request, "response_values"):
        values = request.response_values()
    modelled = request.answer_bytes() if isinstance(request, ExplainRequest) else None
    with Server() as server, httpx.Client(base_url=server.url, timeout=None) as http:
        post(http, case, case.build(case.low))
        before = proc_status_kb(server.pid, "VmRSS") * 1024
        started, cpu = time.perf_counter(), cpu_seconds(server.pid)
        answer = post(http, case, body)
        seconds, cpu = time.perf_counter() - started, cpu_seconds(server.pid) - cpu
        peak = proc_status_kb(server.pid, "VmHWM") * 1024
    return Measured(case, n, values, len(answer), seconds, cpu, peak - before, peak, modelled)


def main() -> int:
    """Measure the chosen endpoints, print the table; 1 if a check failed."""
    chosen = sys.argv[1:]
    cases = [c for c in CASES if not chosen or any(word in c.endpoint for word in chosen)]
    results, failed = [], False
    for case in cases:
        try:
            result = measure(case)
        except Exception as error:  # one endpoint's failure is reported, the others still run
            print(f"==> {case.endpoint}: FAILED: {error}", flush=True)
            failed = True
            continue
        print(result.line(), flush=True)
        results.append(result)
        if result.modelled is not None and result.modelled < result.answer:
            print("    FAILED: the modelled size is below the answer's", flush=True)
            failed = True
    limit = get_settings().max_trace_values.value
    print(
        f"\nBACKPROP_MAX_TRACE_VALUES {limit:,}: {limit * VALUE_BYTES / MB:.0f} MB at "
        f"{VALUE_BYTES} bytes per value\n"
    )
    print(
        "| endpoint | request at the edge | bounded by | values charged | answer | time (CPU) | "
        "peak RSS growth (peak) |"
    )
    print("|---|---|---|---|---|---|---|")
    for result in results:
        print(result.row())
    print(f"\n{machine()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
