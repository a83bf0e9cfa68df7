"""Process-wide tuning that a server applies when it starts, never on import.

Both settings belong to the process, not to an app: importing :mod:`app.main` (a test, a script,
the in-process client) leaves the interpreter and the C allocator as they were, and the app's
startup (``uvicorn app.main:app`` or ``python -m app.server``) applies them.
"""

import sys

from app.server.allocator import keep_freed_memory

GIL_SWITCH_INTERVAL = 0.0005
"""Seconds a thread holds the GIL before it offers it (CPython's default is 0.005): compute runs
in threads that hold the GIL between NumPy calls, and a short interval lets the event loop
answer /livez in milliseconds meanwhile."""


def tune_process() -> None:
    """Shorten the GIL switch interval and keep freed memory for the next large training run."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    keep_freed_memory()
