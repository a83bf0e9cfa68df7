"""Exercises for a class: the ready templates, and one variant of a template per seed or student."""

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from app import examples
from app.api.convert import network_json, rows, state_json, tensors_json
from app.api.route_classes import OrjsonRoute, json_response
from app.nn.check import Key, order
from app.nn.exercises import (
    MAX_DECIMALS,
    MAX_LAYERS,
    MAX_SAMPLES,
    MAX_UNITS,
    TEMPLATES,
    Exercise,
    NoVariantError,
    draw,
)
from app.nn.optimizers import OptimizerState
from app.schemas.exercises import (
    ExerciseList,
    ExerciseRequest,
    ExerciseResponse,
    template_json,
)
from app.schemas.training import SGDOptimizer

router = APIRouter(tags=["exercises"], route_class=OrjsonRoute)


def _path(key: Key) -> str:
    """``("gradients", 0, "weights")`` as ``gradients[0].weights``, as /check writes it."""
    text = ""
    for part in key:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _answer(exercise: Exercise, batch: bool) -> dict[str, Any]:
    """The values to compute as /check's ``claimed``, in its field order."""
    keys = set(exercise.to_compute())
    step = exercise.step

    def chosen(kind: Key, layers: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        picked = [
            {name: value for name, value in layer.items() if (*kind, i, name) in keys}
            for i, layer in enumerate(layers)
        ]
        return picked if any(picked) else None

    forward = [
        {"z": rows(z, batch), "a": rows(a, batch)}
        for z, a in zip(step.fwd.z, step.fwd.a, strict=True)
    ]
    updated = chosen(("network", "layers"), tensors_json(step.updated))
    return {
        "layers": chosen(("layers",), forward),
        "outputs": rows(step.fwd.outputs, batch) if ("outputs",) in keys else None,
        "loss": step.loss if ("loss",) in keys else None,
        "gradients": chosen(("gradients",), tensors_json(step.gradients)),
        "network": None if updated is None else {"layers": updated},
    }


def _shape(exercise: Exercise, key: Key, batch: bool) -> list[int]:
    value = exercise.value(key)
    return list(value.shape if batch or key[0] not in ("layers", "outputs") else value.shape[1:])


def _state(exercise: Exercise, optimizer: dict[str, Any]) -> dict[str, Any] | None:
    if exercise.momentum_buffer is None:
        return None
    state = OptimizerState(1, {"momentum_buffer": exercise.momentum_buffer.flat}, 1)
    return state_json(state, SGDOptimizer.model_construct(**optimizer), exercise.params)


@router.get("/exercises", response_model=ExerciseList)
def list_templates() -> Response:
    """The ready templates, with what each practises, and the limits of a hand exercise."""
    # Hand-ordered: ExerciseList's fields in order (a test holds them together).
    return json_response(
        {
            "templates": [
                {"name": name, "title": ready.title, "template": template_json(ready.template)}
                for name, ready in TEMPLATES.items()
            ],
            "limits": {
                "max_layers": MAX_LAYERS,
                "max_units": MAX_UNITS,
                "max_samples": MAX_SAMPLES,
                "max_decimals": MAX_DECIMALS,
            },
        }
    )


def exercise_json(request: ExerciseRequest, loc: tuple[str, ...] = ("body",)) -> dict[str, Any]:
    """/exercises' answer as JSON, its fields in ExerciseResponse's order; a template with no
    variant worth doing is a 422 at ``loc`` + ``template`` (/export's exercise sits deeper)."""
    template = request.template.to_engine()
    seed = request.variant_seed
    try:
        exercise = draw(template, seed)
    except NoVariantError as error:
        problem = {"type": "no_variant", "loc": (*loc, "template"), "msg": str(error)}
        raise RequestValidationError([problem]) from None
    batch = template.samples > 1
    layers = len(template.sizes) - 1
    optimizer = {
        "type": "sgd",
        "learning_rate": template.learning_rate,
        "momentum": template.momentum,
        "dampening": 0.0,
        "nesterov": False,
        "weight_decay": 0.0,
    }
    given: dict[str, Any] = {
        "network": network_json(exercise.params),
        "inputs": rows(exercise.x, batch),
        "targets": rows(exercise.t, batch),
        "loss": template.loss,
        "optimizer": optimizer,
        "optimizer_state": _state(exercise, optimizer),
    }
    to_compute = set(exercise.to_compute())
    compute = [
        {"path": _path(key), "step": stage, "shape": _shape(exercise, key, batch)}
        for stage, key in order(layers)
        if key in to_compute
    ]
    answer = explain = None
    if request.include_answer:
        answer = _answer(exercise, batch)
        explain = {**given, "format": "markdown"}
    # Hand-ordered: ExerciseResponse's fields in order (a test holds them together).
    return {
        "template": template_json(template),
        "seed": seed,
        **given,
        "compute": compute,
        "answer": answer,
        "explain": explain,
    }


@router.post("/exercises", response_model=ExerciseResponse)
def make_exercise(
    request: Annotated[ExerciseRequest, Body(openapi_examples=examples.EXERCISE_EXAMPLES)],
) -> Response:
    """One variant of a template, worth doing by hand: same template and seed, the same bytes."""
    return json_response(exercise_json(request))
