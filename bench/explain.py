"""The explain benchmark: a worked solution of a 784-128-10 network (an MNIST model) stays brief.

By default ``/explain`` elides long runs of alike steps, so explaining a network of 100,000
weights should cost about what computing its gradients costs, not what writing 200,000 steps
would. Both are timed in this process through the app (FastAPI's TestClient, no network):
``POST /explain`` (format json, default limits) against ``POST /backward`` of the same request.
"""

from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from app.main import app
from bench.common import Result, Target, median, spread, timed

TARGET = Target(3.0)
MAX_BYTES = 100_000  # the default explanation's size, a correctness check


def mnist_like(hidden: int = 128) -> dict[str, Any]:
    """A 784-``hidden``-10 softmax network on one sample, cross-entropy; seeded weights."""
    rng = np.random.default_rng(12)
    hidden_layer = {
        "weights": (rng.normal(size=(hidden, 784)) * 0.05).tolist(),
        "bias": (rng.normal(size=hidden) * 0.1).tolist(),
        "activation": "relu",
    }
    output_layer = {
        "weights": (rng.normal(size=(10, hidden)) * 0.1).tolist(),
        "bias": [0.0] * 10,
        "activation": "softmax",
    }
    return {
        "network": {"layers": [hidden_layer, output_layer]},
        "inputs": rng.uniform(size=784).tolist(),
        "targets": [1.0] + [0.0] * 9,
        "loss": "cross_entropy",
    }


def explain_brief(repeat: int) -> Result:
    """Median seconds of /explain against /backward on the 784-128-10 request."""
    body = mnist_like()
    with TestClient(app) as client:

        def post(path: str, extra: dict[str, Any]) -> int:
            response = client.post(path, json=body | extra)
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:300]}")
            return len(response.content)

        post("/explain", {"format": "json"})  # warm up both routes
        post("/backward", {})
        explained = [timed(lambda: post("/explain", {"format": "json"})) for _ in range(repeat)]
        backward = [timed(lambda: post("/backward", {}))[0] for _ in range(repeat)]
    seconds = [time for time, _ in explained]
    size = max(length for _, length in explained)
    ratio = median(seconds) / median(backward)
    return Result(
        "explain 784-128-10",
        f"{median(seconds) * 1e3:.1f} ms ({spread(seconds, 'ms', 1e3)})",
        f"/backward {median(backward) * 1e3:.1f} ms",
        ratio,
        TARGET,
        checks_ok=size < MAX_BYTES,
        note=f"answer {size:,} bytes (check: < {MAX_BYTES:,})",
    )
