"""Gradient check: the analytic gradients against central finite differences of the loss.

Each entry ``w`` of ``params.flat`` in turn is moved to ``w + ε`` and to ``w − ε`` (on a copy) and
the loss evaluated: ``n = (L(w + ε) − L(w − ε)) / h``, where ``h = (w + ε) − (w − ε)`` is the step
float64 actually took (``2ε`` up to rounding, so rounding ``w ± ε`` biases nothing; the caller
makes sure ``h > 0``). An entry's errors against the analytic ``a`` are ``|a − n|`` (absolute) and
``|a − n| / max(|a|, |n|)`` (relative, 0 when both are 0); the entry passes when either is within
:func:`tolerance`. That costs ``2 × parameters`` forward passes; past an optional ``deadline`` (a
``time.monotonic()`` value) the check stops between two parameters with :class:`DeadlineError`.

Differences are unreliable at a kink: a relu or leaky_relu unit whose ``z`` changes side of 0 in
one of the perturbed passes (its slope differs on the two sides of ``w``) is reported as a
:class:`Kink`, one per layer, sample and unit.
"""

from dataclasses import dataclass
from time import monotonic

import numpy as np

from app.nn.activations import ACTIVATIONS, ActivationName
from app.nn.errors import DeadlineError, NonFiniteError, quiet_floating
from app.nn.losses import Loss
from app.nn.network import Parameters, check_gradients_finite, compute_gradients, evaluate
from app.nn.regularization import Regularization
from app.nn.types import Array

DEFAULT_EPSILON = 1e-6
ABSOLUTE_TOLERANCE = 1e-7
RELATIVE_TOLERANCE = 1e-5
TRUNCATION_FACTOR = 100.0
KINKED: frozenset[ActivationName] = frozenset(
    name for name, activation in ACTIVATIONS.items() if activation.kinked
)


@dataclass(frozen=True)
class Tolerance:
    """An entry passes when its absolute or its relative error is within these."""

    absolute: float
    relative: float


def tolerance(epsilon: float) -> Tolerance:
    """1e-7 absolute and 1e-5 relative at ε = 1e-6, widened where differences get less exact.

    Round-off in ``n`` grows as ``1/ε``: below 1e-6 both scale by ``1e-6/ε``. Truncation error is
    ``ε²·|f‴|/6``: both are at least ``100·ε²``, which allows ``|f‴|`` up to 600.
    """
    widen = max(1.0, DEFAULT_EPSILON / epsilon)
    truncation = TRUNCATION_FACTOR * epsilon**2
    return Tolerance(
        max(ABSOLUTE_TOLERANCE * widen, truncation), max(RELATIVE_TOLERANCE * widen, truncation)
    )


@dataclass(frozen=True)
class TensorErrors:
    """The largest errors over one tensor's entries and how many entries failed."""

    max_abs_error: float
    max_rel_error: float
    failed: int


@dataclass(frozen=True)
class Kink:
    """A relu/leaky_relu input that finite differences pushed across 0."""

    layer: int
    sample: int
    unit: int
    z: float


@dataclass(frozen=True)
class GradCheck:
    """Per layer the errors of ``(weights, bias)``, the tolerance used and the kinks met."""

    errors: list[tuple[TensorErrors, TensorErrors]]
    tolerance: Tolerance
    kinks: list[Kink]

    @property
    def passed(self) -> bool:
        """Whether every entry of every tensor is within the tolerance."""
        return all(tensor.failed == 0 for layer in self.errors for tensor in layer)


@quiet_floating
def finite_differences(
    params: Parameters,
    x: Array,
    t: Array,
    loss: Loss,
    epsilon: float,
    deadline: float | None = None,
    regularization: Regularization | None = None,
) -> tuple[Parameters, list[Array]]:
    """Central differences of the loss (plus the ``regularization`` penalty, if any) for every
    parameter, and per layer a ``(samples, units)`` mask of the kinked units whose ``z`` changed
    side of 0 in some perturbed pass; past ``deadline`` a :class:`DeadlineError` between two
    parameters."""
    base = evaluate(params, x, t, loss)[0]
    kinked = [index for index, name in enumerate(params.activations) if name in KINKED]
    positive = {index: base.z[index] > 0 for index in kinked}
    crossed = [np.zeros(z.shape, dtype=bool) for z in base.z]
    probe, numeric = params.copy(), params.empty_like()
    for i, w in enumerate(params.flat):
        if deadline is not None and monotonic() >= deadline:
            hint = "ask for less: fewer samples or a smaller network"
            raise DeadlineError("the gradient check", i, params.flat.size, "parameters", hint)
        values = []
        for moved in (w + epsilon, w - epsilon):
            probe.flat[i] = moved
            fwd, value = evaluate(probe, x, t, loss)
            if regularization is not None:
                value += regularization.penalty(probe)
            values.append(value)
            for index in kinked:
                crossed[index] |= (fwd.z[index] > 0) != positive[index]
        probe.flat[i] = w
        numeric.flat[i] = (values[0] - values[1]) / ((w + epsilon) - (w - epsilon))
    check_gradients_finite(numeric)
    return numeric, crossed


@quiet_floating
def compare(
    analytic: Parameters, numeric: Parameters, limits: Tolerance
) -> list[tuple[TensorErrors, TensorErrors]]:
    """Per layer the errors of the analytic ``(weights, bias)`` against the numeric ones."""

    def errors(a: Array, n: Array, layer: int) -> TensorErrors:
        absolute = np.abs(a - n)
        if not np.isfinite(absolute).all():
            raise NonFiniteError("gradient", layer=layer)
        scale = np.maximum(np.abs(a), np.abs(n))
        relative = np.divide(absolute, scale, out=np.zeros_like(absolute), where=scale > 0)
        failed = (absolute > limits.absolute) & (relative > limits.relative)
        return TensorErrors(float(absolute.max()), float(relative.max()), int(failed.sum()))

    return [
        (errors(aW, nW, index), errors(ab, nb, index))
        for index, ((aW, ab), (nW, nb)) in enumerate(
            zip(analytic.layers, numeric.layers, strict=True)
        )
    ]


def gradcheck(
    params: Parameters,
    x: Array,
    t: Array,
    loss: Loss,
    epsilon: float,
    deadline: float | None = None,
    regularization: Regularization | None = None,
) -> GradCheck:
    """Check :func:`compute_gradients` (with the ``regularization`` penalty's gradient added, if
    any) against :func:`finite_differences` with step ``epsilon``, within ``deadline`` if one is
    given."""
    fwd, _ = evaluate(params, x, t, loss)
    analytic = compute_gradients(params, fwd, t, loss)
    if regularization is not None:
        regularization.add_gradient(params, analytic)
    check_gradients_finite(analytic)
    numeric, crossed = finite_differences(params, x, t, loss, epsilon, deadline, regularization)
    limits = tolerance(epsilon)
    kinks = [
        Kink(layer, int(sample), int(unit), float(fwd.z[layer][sample, unit]))
        for layer, mask in enumerate(crossed)
        for sample, unit in zip(*np.nonzero(mask), strict=True)
    ]
    return GradCheck(compare(analytic, numeric, limits), limits, kinks)
