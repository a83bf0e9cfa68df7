"""Engine exceptions: plain Python errors that know nothing of HTTP (the API maps them)."""

import functools
from collections.abc import Callable
from typing import Literal, ParamSpec, TypeVar

import numpy as np

P = ParamSpec("P")
R = TypeVar("R")

Quantity = Literal["forward", "loss", "penalty", "gradient", "update", "state"]
"""What the engine found not finite: a layer's z, the loss, the regularization penalty, a
gradient, an updated parameter or the optimizer's state."""

QUANTITY_WORDS: dict[Quantity, str] = {
    "forward": "z",
    "loss": "the loss",
    "penalty": "the regularization penalty",
    "gradient": "the gradient",
    "update": "an updated parameter",
    "state": "the optimizer state",
}
"""Each quantity in words, as an error or a diagnosis names what was not finite."""
_NOUN = {
    "forward": "z",
    "loss": "loss",
    "penalty": "penalty",
    "gradient": "gradient",
    "update": "parameters",
    "state": "optimizer state",
}


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class DeadlineError(EngineError):
    """Work passed its deadline before it was done: ``done`` of at most ``total`` ``parts``;
    ``hint`` says how to ask for less."""

    def __init__(self, what: str, done: int, total: int, parts: str, hint: str) -> None:
        self.what, self.done, self.total, self.parts, self.hint = what, done, total, parts, hint
        super().__init__(f"{what} passed its deadline after {done:,} of at most {total:,} {parts}")


class RunCancelledError(EngineError):
    """The caller's ``cancelled`` check said to stop: nobody wants the result any more."""


class NonFiniteError(EngineError):
    """A computed value overflowed to ±inf or became NaN although every input was finite."""

    def __init__(self, quantity: Quantity, layer: int | None = None) -> None:
        self.quantity = quantity
        self.layer = layer
        noun = QUANTITY_WORDS[quantity]
        self.what = f"layer {layer}'s {_NOUN[quantity]}" if layer is not None else noun
        where = f"layer {layer}: " if layer is not None else ""
        super().__init__(
            f"{where}{QUANTITY_WORDS[quantity]} is not finite (float64 overflow or NaN); "
            "the weights, inputs or targets are too large for this network"
        )


def quiet_floating(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` with NumPy's overflow/invalid warnings off: the engine checks finiteness itself.

    A fresh ``np.errstate`` per call keeps this safe across threads and generators.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with np.errstate(over="ignore", invalid="ignore"):
            return fn(*args, **kwargs)

    return wrapper
