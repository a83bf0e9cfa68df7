"""The allocator setting: memory freed by one large run is reused by the next, not faulted in
afresh (measured in fresh processes, since the setting is process-wide)."""

import json
import subprocess
import sys

from app.server.tuning import GIL_SWITCH_INTERVAL

CHURN = """
import json, resource, sys
import numpy as np
from app.server.allocator import keep_freed_memory

if sys.argv[1] == "app":
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app()):  # starts the app as a server does
        pass
applied = keep_freed_memory() if sys.argv[1] == "keep" else None
faults = []
for _ in range(4):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    arrays = [np.ones(270_000) for _ in range(10)]  # a large run's buffers: 10 x 2.1 MB
    del arrays
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"applied": applied, "faults": faults}))
"""

PAGES_OF_ONE_RUN = 10 * 270_000 * 8 // 4096


def churn(mode: str) -> tuple[bool | None, list[int]]:
    """Whether the setting applied, and the page faults of four allocate-and-free rounds, in a
    fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", CHURN, mode], capture_output=True, text=True, check=True, timeout=60
    )
    result = json.loads(done.stdout)
    return result["applied"], [int(count) for count in result["faults"]]


def test_freed_memory_is_reused_by_the_next_run() -> None:
    """By default every round faults its 21 MB in again; with the setting only the first does."""
    (_, default_faults), (applied, kept_faults) = churn("default"), churn("keep")
    assert applied is True
    assert all(count > PAGES_OF_ONE_RUN // 2 for count in default_faults)
    assert kept_faults[0] > PAGES_OF_ONE_RUN // 2
    assert all(count < PAGES_OF_ONE_RUN // 20 for count in kept_faults[1:])


def test_the_app_applies_it() -> None:
    """Starting the app sets the thresholds (the runs in its worker threads share them)."""
    _, faults = churn("app")
    assert all(count < PAGES_OF_ONE_RUN // 20 for count in faults[1:])


IMPORT_ONLY = """
import json, sys
from fastapi.testclient import TestClient
from app.main import app

imported = sys.getswitchinterval()
with TestClient(app):
    started = sys.getswitchinterval()
print(json.dumps({"imported": imported, "started": started}))
"""


def test_importing_the_app_leaves_the_process_alone() -> None:
    """`import app.main` keeps CPython's switch interval; the app's startup shortens it."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ONLY], capture_output=True, text=True, check=True, timeout=60
    )
    intervals = json.loads(done.stdout)
    assert intervals == {"imported": 0.005, "started": GIL_SWITCH_INTERVAL}
