"""Diagnostics: a gradient check by finite differences, and a hand derivation checked."""

from time import monotonic
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Body

from app import examples
from app.api.convert import rows, to_batch, to_parameters
from app.api.route_classes import OrjsonRoute
from app.config import get_settings
from app.nn import gradcheck
from app.nn.check import Check, check
from app.nn.explain import step_of
from app.nn.losses import LOSSES
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
    result = gradcheck.gradcheck(params, inputs, targets, loss, request.epsilon, deadline)
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


def _pointer(item: Check, layers: int) -> ExplainPointer | None:
    """The /explain step of the claim's first wrong number (its first number if transposed)."""
    if item.wrong_entry is None:
        return None
    step, sample = step_of(item.key, item.wrong_entry, layers)
    return ExplainPointer.model_construct(step=step, sample=sample)


def _checked(item: Check, batch: bool, pointer: ExplainPointer | None) -> CheckedValue:
    def form(values: Array) -> Any:
        return rows(values, batch) if item.per_sample else values.tolist()

    return CheckedValue.model_construct(
        step=item.stage,
        path=_path(item.key),
        verdict="correct" if item.right else "wrong",
        claimed=form(item.claimed),
        correct=form(item.correct),
        error=item.error,
        hint=item.hint,
        explain=pointer,
    )


def _first_wrong(checks: list[Check], pointers: list[ExplainPointer | None]) -> FirstWrong | None:
    for item, pointer in zip(checks, pointers, strict=True):
        if item.hint is not None:
            return FirstWrong.model_construct(
                step=item.stage, path=_path(item.key), hint=item.hint, explain=pointer
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
            }
        ),
    ],
) -> CheckResponse:
    """Check values computed by hand for one SGD step; name the first wrong step with a hint."""
    checks = check(
        to_parameters(request.network),
        to_batch(request.inputs),
        to_batch(request.targets),
        request.loss,
        request.learning_rate,
        {loc: _claim(loc, value) for loc, value in request.claimed.claims()},
        request.tolerance,
    )
    layers = len(request.network.layers)
    pointers = [_pointer(item, layers) for item in checks]
    first = _first_wrong(checks, pointers)
    return CheckResponse.model_construct(
        all_correct=first is None,
        first_wrong=first,
        checks=[
            _checked(item, request.is_batch, pointer)
            for item, pointer in zip(checks, pointers, strict=True)
        ],
    )
