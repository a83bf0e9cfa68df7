"""Diagnoses: why a network is not learning, in plain words, from its training health.

From a run's first and latest recorded epochs (their loss and each layer's
:class:`~app.nn.health.LayerHealth`), its activations and learning rate, and where it diverged,
:func:`diagnose` names each pattern that is clear: vanishing or exploding gradients (the first
layer's gradient norm orders of magnitude below or above the last's), dead ReLUs, saturated
sigmoid or tanh units, a learning rate far too high or too low (update ratios far from the usual
1e-3), divergence. Each diagnosis has a stable ``id``, a text that gives its numbers, and one
:class:`Change` to try, as data that a form applies in one click. Layers are numbered from 1 in
the texts and in :class:`Change` (as the page and worked solutions number them); the health
list and :class:`Divergence` count from 0, as the engine does.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from app.nn.activations import ActivationName
from app.nn.errors import QUANTITY_WORDS, Quantity
from app.nn.health import LayerHealth
from app.nn.init import InitName

DiagnosisId = Literal[
    "diverged",
    "exploding_gradients",
    "vanishing_gradients",
    "dead_relus",
    "saturated_units",
    "learning_rate_too_high",
    "learning_rate_too_low",
]

VANISHING = 1e-2
"""A first layer's gradient norm under this share of the last layer's is vanishing gradients."""
EXPLODING = 1e2
"""A first layer's gradient norm over this multiple of the last layer's is exploding gradients."""
DEAD = 0.5
"""A ReLU layer with at least this share of dead units is diagnosed."""
SATURATED = 0.5
"""A hidden sigmoid or tanh layer with at least this share of saturated activations is diagnosed."""
RATE_TOO_HIGH = 1e-1
"""An update ratio over this (100 times the usual 1e-3) is a learning rate far too high."""
RATE_TOO_LOW = 1e-5
"""Update ratios all under this (1/100 of the usual 1e-3) are a learning rate far too low..."""
STALLED = 0.5
"""...when the loss has not fallen below this share of the first recorded epoch's."""
RATE_STEP = 10.0
"""The factor by which a suggested learning rate differs from the run's."""

_DERIVATIVES: dict[ActivationName, str] = {
    "sigmoid": "sigmoid derivatives are at most 0.25",
    "tanh": "tanh derivatives are at most 1 and far less away from 0",
}
_TAILS: dict[ActivationName, str] = {
    "sigmoid": "σ outside [0.01, 0.99]",
    "tanh": "|tanh| over 0.99",
}


@dataclass(frozen=True)
class Checkup:
    """A recorded epoch as the diagnoses read it: its number, its loss and each layer's health."""

    epoch: int
    loss: float
    layers: Sequence[LayerHealth]


@dataclass(frozen=True)
class Divergence:
    """Where a diverged run first met a value that is not finite: the epoch whose update
    diverged, the stage, and the layer (from 0; None when not a layer's)."""

    epoch: int
    stage: Quantity
    layer: int | None


@dataclass(frozen=True)
class Change:
    """One change to try: a learning rate; an activation for some layers (from 1); an init
    scheme to draw the weights again with. Fields left None stay as they are."""

    learning_rate: float | None = None
    activation: ActivationName | None = None
    layers: tuple[int, ...] | None = None
    init: InitName | None = None


@dataclass(frozen=True)
class Diagnosis:
    """A pattern found: its stable id, the layer it is about (from 1; None for the whole
    network), what it is in words with its numbers, and the change to try."""

    id: DiagnosisId
    layer: int | None
    text: str
    change: Change


def _rate(value: float) -> float:
    """A suggested learning rate, to three significant digits."""
    return float(f"{value:.3g}")


def _times(ratio: float) -> str:
    """A ratio of two norms in words: "1e-06 of" or "243 times"."""
    return f"{ratio:.2g} of" if ratio < 1 else f"{ratio:.3g} times"


def _ratio(checkup: Checkup) -> float | None:
    """The first layer's gradient norm over the last layer's (None when either is 0)."""
    first, last = checkup.layers[0].gradient_norm, checkup.layers[-1].gradient_norm
    return first / last if first > 0.0 and last > 0.0 else None


def _gradients(
    first: Checkup, latest: Checkup, activations: Sequence[ActivationName]
) -> list[Diagnosis]:
    """Vanishing or exploding gradients: the first layer's norm against the last's, in the
    latest recorded epoch or else the first (a network stuck on a plateau since has every
    gradient near 0, and their ratio says no more)."""
    depth = len(latest.layers)
    if depth < 2:
        return []
    for checkup in (latest, first):
        ratio = _ratio(checkup)
        if ratio is not None and not VANISHING <= ratio <= EXPLODING:
            break
    else:
        return []
    hidden = activations[:-1]
    said = f"in epoch {checkup.epoch} the gradient of layer 1 is {_times(ratio)} layer {depth}'s"
    if ratio < VANISHING:
        squashing = [n for n, name in enumerate(hidden, 1) if name in _DERIVATIVES]
        names = sorted({hidden[n - 1] for n in squashing})
        why = (
            f"{' and '.join(_DERIVATIVES[name] for name in names)}, and they multiply over "
            f"{depth} layers; try ReLU with He init"
            if squashing
            else f"it shrinks layer by layer back over {depth} layers; try He init"
        )
        change = (
            Change(activation="relu", layers=tuple(squashing), init="he_normal")
            if squashing
            else Change(init="he_normal")
        )
        return [Diagnosis("vanishing_gradients", 1, f"{said}: {why}", change)]
    init: InitName = "he_normal" if "relu" in hidden else "xavier_normal"
    text = (
        f"{said}: it grows layer by layer back over {depth} layers, the initial weights are "
        f"too large; try {'He' if init == 'he_normal' else 'Xavier'} init"
    )
    return [Diagnosis("exploding_gradients", 1, text, Change(init=init))]


def _dead(
    first: Checkup, latest: Checkup, activations: Sequence[ActivationName], learning_rate: float
) -> list[Diagnosis]:
    """ReLU layers with most of their units dead: from the start (leaky ReLU passes a gradient
    where z < 0) or since (a learning rate too high knocked them out)."""
    found = []
    for index, name in enumerate(activations):
        share = latest.layers[index].dead
        if name != "relu" or share is None or share < DEAD:
            continue
        number = index + 1
        said = f"{share:.0%} of layer {number}'s ReLUs are dead (z ≤ 0 on every sample): no "
        since = first.layers[index].dead
        if since is not None and since < share:
            lower = _rate(learning_rate / RATE_STEP)
            text = (
                f"{said}gradient flows through them, and they died during training (epoch "
                f"{first.epoch}: {since:.0%}); lower the learning rate to {lower:g}"
            )
            found.append(Diagnosis("dead_relus", number, text, Change(learning_rate=lower)))
        else:
            text = (
                f"{said}gradient flows through them since epoch {first.epoch}; try leaky ReLU, "
                "which passes a gradient where z < 0"
            )
            change = Change(activation="leaky_relu", layers=(number,))
            found.append(Diagnosis("dead_relus", number, text, change))
    return found


def _saturated(
    first: Checkup, latest: Checkup, activations: Sequence[ActivationName], learning_rate: float
) -> list[Diagnosis]:
    """Hidden sigmoid or tanh layers with most activations in the flat tails (an output layer
    is left alone: a confident classifier's outputs are saturated)."""
    found = []
    for index, name in enumerate(activations[:-1]):
        share = latest.layers[index].saturated
        if share is None or share < SATURATED:
            continue
        number = index + 1
        said = (
            f"{share:.0%} of layer {number}'s {name} activations are saturated "
            f"({_TAILS[name]}), where the derivative is under 2% of its largest and learning "
            "nearly stops"
        )
        since = first.layers[index].saturated
        if since is not None and since < share:
            lower = _rate(learning_rate / RATE_STEP)
            text = (
                f"{said}; they saturated during training (epoch {first.epoch}: {since:.0%}): "
                f"lower the learning rate to {lower:g}"
            )
            found.append(Diagnosis("saturated_units", number, text, Change(learning_rate=lower)))
        else:
            text = f"{said}; the initial weights are too large: try Xavier init"
            change = Change(init="xavier_normal")
            found.append(Diagnosis("saturated_units", number, text, change))
    return found


def _rate_diagnoses(first: Checkup, latest: Checkup, learning_rate: float) -> list[Diagnosis]:
    """Update ratios far above or far below the usual 1e-3."""
    ratios = [layer.update_ratio for layer in latest.layers]
    known = [(r, n) for n, r in enumerate(ratios, 1) if r is not None]
    if not known or learning_rate == 0.0:
        return []
    largest, number = max(known)
    if largest > RATE_TOO_HIGH:
        lower = _rate(learning_rate / RATE_STEP)
        text = (
            f"layer {number}'s update moved its parameters by {largest:.2g} of their size in "
            f"epoch {latest.epoch}, far above the usual 1e-3: lower the learning rate to {lower:g}"
        )
        return [Diagnosis("learning_rate_too_high", number, text, Change(learning_rate=lower))]
    stalled = latest.loss >= STALLED * first.loss
    if largest < RATE_TOO_LOW and stalled:
        higher = _rate(learning_rate * RATE_STEP)
        text = (
            f"the largest update ratio (layer {number}'s) is {largest:.2g} in epoch "
            f"{latest.epoch}, far below the usual 1e-3, and the loss is {latest.loss:.3g} "
            f"(epoch {first.epoch}: {first.loss:.3g}): raise the learning rate to {higher:g}"
        )
        return [Diagnosis("learning_rate_too_low", number, text, Change(learning_rate=higher))]
    return []


def diagnose(
    recorded: Sequence[Checkup],
    activations: Sequence[ActivationName],
    learning_rate: float,
    divergence: Divergence | None = None,
) -> list[Diagnosis]:
    """The diagnoses of a run whose first and latest recorded epochs are ``recorded`` (one when
    it recorded one; none when it diverged before it recorded any), of a network with
    ``activations`` trained at ``learning_rate``, diverged at ``divergence`` (None: it did not);
    none when no pattern is clear. A diverged run is diagnosed as that alone: its numbers before
    the overflow say no more. Vanishing gradients, dead or saturated units explain low update
    ratios, so a learning rate too low is said only when no other diagnosis is; saturated units
    make the gradient vanish where they are, so vanishing gradients are said only without them
    (their cure is the saturation's); a change is offered once."""
    if divergence is not None:
        where = "" if divergence.layer is None else f" of layer {divergence.layer + 1}"
        lower = _rate(learning_rate / RATE_STEP)
        text = (
            f"the run diverged in epoch {divergence.epoch}: "
            f"{QUANTITY_WORDS[divergence.stage]}{where} "
            f"was the first value not finite (float64 overflow or NaN); lower the learning rate "
            f"to {lower:g}"
        )
        layer = None if divergence.layer is None else divergence.layer + 1
        return [Diagnosis("diverged", layer, text, Change(learning_rate=lower))]
    if not recorded:
        return []
    first, latest = recorded[0], recorded[-1]
    saturated = _saturated(first, latest, activations, learning_rate)
    found = [
        *([] if saturated else _gradients(first, latest, activations)),
        *_dead(first, latest, activations, learning_rate),
        *saturated,
    ]
    changes = [diagnosis.change for diagnosis in found]
    for rate in _rate_diagnoses(first, latest, learning_rate):
        # Said once: dead or saturated units already asking for the same lower rate.
        if rate.change in changes or (rate.id == "learning_rate_too_low" and found):
            continue
        found.append(rate)
    return found
