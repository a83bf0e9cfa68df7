"""Settings from the environment: the request limits that keep every request bounded.

Each limit is read from its ``BACKPROP_*`` variable once per process (``get_settings`` is cached);
error messages name the variable so that an operator knows which knob to turn.
"""

import os
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

# The work of a request is counted in units of one multiply-add of a sample through a parameter
# (``samples × parameters`` per pass), plus a fixed charge per layer for NumPy's per-call costs,
# which dominate tiny networks: so many epochs of a tiny network, or a gradient check of a deep
# narrow one, count too. BACKPROP_MAX_WORK bounds the total.
EPOCH_OVERHEAD_WORK = 160_000
"""The fixed charge per layer and training epoch (forward pass, backward pass and update)."""
EVALUATION_OVERHEAD_WORK = 150_000
"""The fixed charge per layer and one-shot forward pass with its loss (a /gradcheck probe)."""
VALIDATION_OVERHEAD_WORK = 80_000
"""The fixed charge per layer and forward pass with its loss on a run's validation data, replayed
like an epoch's (measured: about half an epoch of the notebook's network)."""


@dataclass(frozen=True)
class Limit:
    """A named upper bound and the environment variable that sets it."""

    value: int
    env: str


@dataclass(frozen=True)
class Settings:
    """Every configurable limit, with defaults that keep a request under ~30 s and ~1 GiB.

    ``max_concurrent`` caps the compute requests the server runs at once (more get a 503);
    ``python -m app.server`` makes its default 4 per worker, shared by all workers;
    ``deadline_seconds`` ends a training run that takes longer (status ``deadline_exceeded``).
    The body must arrive with no pause over ``body_timeout_seconds`` and, past that, at
    ``body_min_rate`` bytes per second or faster (else a ``408``). ``python -m app.server`` also
    closes a connection whose request head is not complete after ``header_timeout_seconds`` or
    over ``max_header_bytes``, each worker keeps at most ``max_connections`` open, and a
    connection whose answer has waited ``send_timeout_seconds`` on a client that reads none of it
    is aborted (its compute slot and the answer's memory are freed).
    """

    max_body_bytes: Limit = Limit(16 * 1024 * 1024, "BACKPROP_MAX_BODY_BYTES")
    max_layers: Limit = Limit(32, "BACKPROP_MAX_LAYERS")
    max_units: Limit = Limit(4096, "BACKPROP_MAX_UNITS")
    max_samples: Limit = Limit(10_000, "BACKPROP_MAX_SAMPLES")
    max_epochs: Limit = Limit(1_000_000, "BACKPROP_MAX_EPOCHS")
    max_work: Limit = Limit(80_000_000_000, "BACKPROP_MAX_WORK")
    max_stream_work: Limit = Limit(1_000_000_000_000, "BACKPROP_MAX_STREAM_WORK")
    max_trace_values: Limit = Limit(2_000_000, "BACKPROP_MAX_TRACE_VALUES")
    max_concurrent: Limit = Limit(4, "BACKPROP_MAX_CONCURRENT")
    deadline_seconds: Limit = Limit(30, "BACKPROP_DEADLINE_SECONDS")
    body_timeout_seconds: Limit = Limit(10, "BACKPROP_BODY_TIMEOUT_SECONDS")
    body_min_rate: Limit = Limit(16 * 1024, "BACKPROP_BODY_MIN_RATE")
    header_timeout_seconds: Limit = Limit(10, "BACKPROP_HEADER_TIMEOUT_SECONDS")
    max_header_bytes: Limit = Limit(64 * 1024, "BACKPROP_MAX_HEADER_BYTES")
    max_connections: Limit = Limit(2048, "BACKPROP_MAX_CONNECTIONS")
    send_timeout_seconds: Limit = Limit(30, "BACKPROP_SEND_TIMEOUT_SECONDS")


def _read_limit(default: Limit) -> Limit:
    raw = os.environ.get(default.env)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise ValueError(f"{default.env} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{default.env} must be at least 1, got {value}")
    return Limit(value, default.env)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    defaults = Settings()
    return Settings(**{f.name: _read_limit(getattr(defaults, f.name)) for f in fields(Settings)})


def shared_slots_dir() -> Path | None:
    """Where worker processes share their compute slots (``BACKPROP_SLOTS_DIR``), if they do.

    ``python -m app.server`` sets it when it starts several workers, so that the concurrency cap
    counts every worker's requests; a single process counts its own.
    """
    raw = os.environ.get("BACKPROP_SLOTS_DIR", "").strip()
    return Path(raw) if raw else None


def worker_count() -> int:
    """How many worker processes serve together (``WORKERS``, set by ``python -m app.server``)."""
    raw = os.environ.get("WORKERS", "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1
