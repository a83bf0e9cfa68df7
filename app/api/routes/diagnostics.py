"""Diagnostics: a gradient check by finite differences, and a hand derivation checked."""

import json
import re
from time import monotonic
from typing import Annotated, Any, Final

import numpy as np
from fastapi import APIRouter, Body, Depends, Request

from app import examples
from app.api.convert import (
    rows,
    to_batch,
    to_optimizer,
    to_parameters,
    to_regularization,
    to_state,
)
from app.api.route_classes import OrjsonRoute
from app.config import get_settings
from app.nn import gradcheck
from app.nn.check import Check, Key, check, decimals
from app.nn.explain import step_of
from app.nn.losses import LOSSES
from app.nn.optimizers import SGD
from app.nn.types import Array
from app.schemas.base import Loc
from app.schemas.diagnostics import (
    CheckedValue,
    CheckRequest,
    CheckResponse,
    ExplainPointer,
    FirstWrong,
    GradcheckRequest,
    GradcheckResponse,
    KinkWarning,
    LayerErrors,
    Mistake,
    TensorErrors,
    Tolerance,
)

router = APIRouter(tags=["diagnostics"], route_class=OrjsonRoute)


def _tensor(errors: gradcheck.TensorErrors) -> TensorErrors:
    return TensorErrors.model_construct(
        max_abs_error=errors.max_abs_error, max_rel_error=errors.max_rel_error, failed=errors.failed
    )


def _warning(kink: gradcheck.Kink, activation: str) -> KinkWarning:
    message = (
        f"layer {kink.layer}, sample {kink.sample}, unit {kink.unit}: z = {kink.z:.3g} crosses "
        f"the {activation} kink at 0 within ±epsilon, so finite differences of the parameters "
        "that feed it are unreliable there"
    )
    return KinkWarning.model_construct(
        layer=kink.layer, sample=kink.sample, unit=kink.unit, z=kink.z, message=message
    )


@router.post("/gradcheck")
def gradient_check(
    request: Annotated[
        GradcheckRequest,
        Body(
            openapi_examples={
                "notebook": {"summary": "The notebook's network", "value": examples.GRADCHECK}
            }
        ),
    ],
) -> GradcheckResponse:
    """Compare the analytic gradients with central finite differences, per layer and tensor."""
    params = to_parameters(request.network)
    targets, loss = to_batch(request.targets), LOSSES[request.loss]
    deadline = monotonic() + get_settings().deadline_seconds.value
    inputs = to_batch(request.inputs)
    regularization = to_regularization(request.regularization)
    result = gradcheck.gradcheck(
        params, inputs, targets, loss, request.epsilon, deadline, regularization
    )
    limits = result.tolerance
    return GradcheckResponse.model_construct(
        passed=result.passed,
        tolerance=Tolerance.model_construct(absolute=limits.absolute, relative=limits.relative),
        errors=[
            LayerErrors.model_construct(weights=_tensor(w), bias=_tensor(b))
            for w, b in result.errors
        ],
        warnings=[_warning(kink, params.activations[kink.layer]) for kink in result.kinks],
    )


def _path(key: tuple[str | int, ...]) -> str:
    """``("gradients", 0, "weights")`` as ``gradients[0].weights``."""
    text = ""
    for part in key:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _claim(loc: Loc, value: Any) -> Array:
    """A claimed value as the engine compares it: per-sample values as ``(samples, units)``."""
    return to_batch(value) if loc[0] in ("layers", "outputs") else np.asarray(value, np.float64)


async def _body(request: Request) -> bytes:
    """The request's body as sent (already read, so this waits for nothing)."""
    return await request.body()


WRITTEN_NUMBERS: Final = 100_000
"""The most claimed numbers whose text is read again for its decimals: the standard library's
parser calls back into Python for each number with the GIL held (about 1 s per 7 MB), so more
would hold up every other request of the process; beyond it each float's shortest repr stands
for its text (the same apart from trailing zeros)."""
CLAIMED_KEY: Final = re.compile(rb'"claimed"\s*:\s*')


def _written(body: bytes, numbers: int) -> Any:
    """The body's ``claimed`` with each number replaced by its decimal places as written, or
    None when there are more than :data:`WRITTEN_NUMBERS` or its text cannot be found or read
    again (then the engine reads each float's shortest repr).

    orjson gives floats only; the standard library's parser hands over each number's text. Only
    the text of ``claimed`` is parsed (its last key, as orjson keeps the last of duplicates),
    not the network or the data around it.
    """
    at = body.rfind(b'"claimed"')
    key = CLAIMED_KEY.match(body, at) if numbers <= WRITTEN_NUMBERS and at >= 0 else None
    if key is None:
        return None
    decoder = json.JSONDecoder(parse_float=decimals, parse_int=decimals)
    try:
        return decoder.raw_decode(body[key.end() :].decode())[0]
    except (ValueError, RecursionError):
        return None


def _units(written: Any, loc: Loc, claimed: Array) -> Array | None:
    """One unit of each claimed number's last written decimal place at ``loc``, or None."""
    try:
        for part in loc:
            written = written[part]
        places = _claim(loc, written)
    except (TypeError, KeyError, IndexError, ValueError):
        return None
    return 10.0**-places if places.shape == claimed.shape else None


def _pointer(item: Check, layers: int) -> ExplainPointer | None:
    """The /explain step of the claim's first wrong number (its first number if its shape is
    not the value's)."""
    if item.wrong_entry is None:
        return None
    step, sample = step_of(item.key, item.wrong_entry, layers)
    return ExplainPointer.model_construct(step=step, sample=sample)


def _checked(
    item: Check, batch: bool, pointer: ExplainPointer | None, malformed: dict[Key, tuple[Any, str]]
) -> CheckedValue:
    def form(values: Array) -> Any:
        return rows(values, batch) if item.per_sample else values.tolist()

    hint = item.hint
    if item.carried_from is not None:
        hint = (
            f"computed correctly from your {_path(item.carried_from)}, which is wrong: the "
            "mistake is there"
        )
    mistakes = [Mistake.model_construct(id=found.id, text=found.text) for found in item.mistakes]
    if item.claimed is None:
        claimed, text = malformed[item.key]
        mistakes, hint = [Mistake.model_construct(id="shape", text=text)], text
    else:
        claimed = form(item.claimed)
    return CheckedValue.model_construct(
        step=item.stage,
        path=_path(item.key),
        verdict=item.verdict,
        claimed=claimed,
        correct=form(item.correct),
        tolerance=None if item.allowed is None else form(item.allowed),
        error=item.error,
        carried_from=None if item.carried_from is None else _path(item.carried_from),
        hint=hint,
        mistake=mistakes[0] if mistakes else None,
        mistakes=mistakes,
        explain=pointer,
    )


def _first_wrong(checks: list[CheckedValue]) -> FirstWrong | None:
    for item in checks:
        if item.verdict == "wrong" and item.hint is not None:
            return FirstWrong.model_construct(
                step=item.step,
                path=item.path,
                hint=item.hint,
                mistake=item.mistake,
                mistakes=item.mistakes,
                explain=item.explain,
            )
    return None


@router.post("/check")
def check_derivation(
    request: Annotated[
        CheckRequest,
        Body(
            openapi_examples={
                "notebook": {
                    "summary": "The notebook's printed numbers: all correct",
                    "value": examples.CHECK,
                },
                "mistakes": {
                    "summary": "A missing ½ and a sign error in the update",
                    "value": examples.CHECK_MISTAKES,
                },
                "momentum": {
                    "summary": "SGD with momentum: the velocity right, a bias stepped without it",
                    "value": examples.CHECK_MOMENTUM,
                },
            }
        ),
    ],
    body: Annotated[bytes, Depends(_body)],
) -> CheckResponse:
    """Check values computed by hand for one SGD step (with momentum too) as a teacher marks
    them: at the precision they are written with, errors carried forward, a wrong shape marked;
    name the first wrong step with a hint."""
    claims: dict[Key, Array] = {}
    malformed: dict[Key, tuple[Any, str]] = {}
    for loc, value in request.claimed.claims():
        problem = request.shape_problem(loc, value)
        if problem is None:
            claims[loc] = _claim(loc, value)
        else:
            malformed[loc] = (value, problem)
    written = _written(body, sum(claim.size for claim in claims.values()))
    units = {}
    if written is not None:
        for loc, claimed in claims.items():
            unit = _units(written, loc, claimed)
            if unit is not None:
                units[loc] = unit
    params = to_parameters(request.network)
    if request.optimizer is None:
        optimizer = SGD(request.learning_rate)
    else:
        optimizer = to_optimizer(request.optimizer)
    checks = check(
        params,
        to_batch(request.inputs),
        to_batch(request.targets),
        request.loss,
        optimizer,
        claims,
        request.tolerance,
        min_significant=request.min_significant,
        units=units,
        malformed=malformed.keys(),
        regularization=to_regularization(request.regularization),
        state=to_state(request.optimizer_state, optimizer, params),
        deadline=monotonic() + get_settings().deadline_seconds.value,
    )
    layers = len(request.network.layers)
    pointers = {item.key: _pointer(item, layers) for item in checks}
    answers = [
        _checked(item, request.is_batch, pointers[item.carried_from or item.key], malformed)
        for item in checks
    ]
    passed = sum(item.verdict != "wrong" for item in answers)
    return CheckResponse.model_construct(
        all_correct=all(item.verdict == "correct" for item in answers),
        score=passed / len(answers),
        first_wrong=_first_wrong(answers),
        checks=answers,
    )
