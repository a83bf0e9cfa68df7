"""The schemas' names and rules are the engine's: each list the JSON models spell out again (a
model's fields, an OpenAPI enum) matches the one it is derived from."""

from typing import Any, Literal, get_args

import pytest
from pydantic import BaseModel, ValidationError

from app.api import metrics
from app.api.convert import to_optimizer
from app.api.routes.training import ENTRY_FIELDS
from app.main import create_app
from app.nn.activations import ActivationName
from app.nn.check import order
from app.nn.datasets import DATASETS
from app.nn.explain_steps import Stage
from app.nn.optimizers import BUFFER_NAMES, OPTIMIZERS, SGD, Adam, OptimizerName
from app.nn.training import PARTS, Status
from app.schemas.datasets import REQUEST_MODELS
from app.schemas.diagnostics import CheckedValue, FirstWrong
from app.schemas.init import InitRequest
from app.schemas.network import LAST_LAYER_ONLY, Network
from app.schemas.training import (
    TRACE_FIELDS,
    TRACE_NEEDS,
    AdamOptimizer,
    AdamWOptimizer,
    EpochTrace,
    OptimizerState,
    SGDOptimizer,
    TrainSummary,
)


def _literal(model: type[BaseModel], field: str) -> tuple[Any, ...]:
    return get_args(model.model_fields[field].annotation)


def _enum(schema: str, field: str) -> list[Any]:
    return create_app().openapi()["components"]["schemas"][schema]["properties"][field]["enum"]


def test_training_statuses_are_the_engines() -> None:
    """The summary's status, its OpenAPI enum and the metrics' labels list the engine's."""
    assert _literal(TrainSummary, "status") == get_args(Status)
    assert _enum("TrainSummary", "status") == list(get_args(Status))
    assert get_args(Status) == metrics.TRAINING_STATUSES


def test_optimizer_state_has_a_field_per_engine_buffer() -> None:
    """OptimizerState holds exactly the engine's buffers, in their order, after its own fields."""
    fields = list(OptimizerState.model_fields)
    assert fields == ["type", "step", "epoch", *BUFFER_NAMES]
    models = (SGDOptimizer, AdamOptimizer, AdamWOptimizer)
    assert _literal(OptimizerState, "type") == tuple(m.model_fields["type"].default for m in models)


@pytest.mark.parametrize("model", [SGDOptimizer, AdamOptimizer, AdamWOptimizer])
def test_optimizer_models_are_the_engines_options(
    model: type[SGDOptimizer | AdamOptimizer],
) -> None:
    """Each optimizer model's type is an option of the engine's table, and a model left at its
    defaults is the engine's optimizer at the table's defaults."""
    name = model.model_fields["type"].default
    assert _literal(model, "type") == (name,)
    assert to_optimizer(model()) == OPTIMIZERS[name].defaults
    assert _literal(OptimizerState, "type") == get_args(OptimizerName)


@pytest.mark.parametrize(
    ("spec", "engine"),
    [
        (SGDOptimizer(), SGD()),
        (SGDOptimizer(momentum=0.9), SGD(momentum=0.9)),
        (AdamOptimizer(), Adam()),
        (AdamOptimizer(amsgrad=True), Adam(amsgrad=True)),
        (AdamWOptimizer(amsgrad=True), Adam(amsgrad=True, decoupled=True)),
    ],
)
def test_a_configurations_buffers_are_those_the_engine_keeps(
    spec: SGDOptimizer | AdamOptimizer, engine: SGD | Adam
) -> None:
    """The buffers the schema expects in a resumed state are those the engine's init makes."""
    assert list(spec.buffers) == list(engine.init(3).buffers)


def test_trace_fields_are_epoch_traces_fields() -> None:
    """trace.include's names are EpochTrace's fields besides epoch, in order, and the endpoint
    knows how to compute each from the engine's parts."""
    assert list(EpochTrace.model_fields) == ["epoch", *TRACE_FIELDS]
    assert list(ENTRY_FIELDS) == list(TRACE_FIELDS)
    assert list(TRACE_NEEDS) == list(TRACE_FIELDS)
    assert {part for parts in TRACE_NEEDS.values() for part in parts} == set(PARTS)


def test_check_steps_are_the_engines() -> None:
    """/check's step names are those of the engine's order of the computation."""
    assert _literal(CheckedValue, "step") == get_args(Stage)
    assert _literal(FirstWrong, "step") == get_args(Stage)
    assert {step for step, _ in order(3)} == set(get_args(Stage))


@pytest.mark.parametrize("name", sorted(LAST_LAYER_ONLY))
def test_last_layer_only_rule_holds_for_networks_and_init(name: ActivationName) -> None:
    """An activation allowed on the last layer only is refused on a hidden layer by both /init
    and every network, and allowed on the last layer by both."""
    hidden = {"weights": [[1.0]], "bias": [0.0], "activation": name}
    last = {"weights": [[1.0]], "bias": [0.0], "activation": "identity"}
    with pytest.raises(ValidationError, match="only allowed on the last layer"):
        Network.model_validate({"layers": [hidden, last]})
    with pytest.raises(ValidationError, match="only allowed on the last layer"):
        InitRequest.model_validate({"sizes": [1, 1, 1], "activation": name})
    Network.model_validate({"layers": [last, hidden]})
    InitRequest.model_validate({"sizes": [1, 1, 1], "output_activation": name})
    InitRequest.model_validate({"sizes": [1, 1], "activation": name})


@pytest.mark.parametrize("name", list(DATASETS))
def test_dataset_models_are_the_registrys(name: str) -> None:
    """Each set's request model holds the common fields and exactly the set's own parameters,
    with the registry's defaults."""
    dataset, fields = DATASETS[name], REQUEST_MODELS[name].model_fields
    common = ["name", "samples", "noise", "seed", "test_fraction", "input_features", "grid"]
    encoding = ["encoding"] if dataset.task == "classification" else []
    assert sorted(fields) == sorted([*common, *encoding, *dataset.params])
    assert fields["name"].annotation == Literal[name]
    assert (fields["samples"].default, fields["noise"].default) == (dataset.samples, dataset.noise)
    for key, param in dataset.params.items():
        assert fields[key].default == param.default
