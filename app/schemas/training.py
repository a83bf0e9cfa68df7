"""Requests and responses of /train: optimizers, their state, stopping rules, the trace."""

from collections.abc import Sequence
from typing import Annotated, Any, Final, Literal, Self, get_args

import numpy as np
from numpy.typing import NDArray
from pydantic import (
    Field,
    PlainValidator,
    TypeAdapter,
    model_validator,
)
from pydantic_core import InitErrorDetails

from app.config import EPOCH_OVERHEAD_WORK, VALIDATION_OVERHEAD_WORK, Limit, get_settings
from app.nn.activations import ActivationName
from app.nn.diagnosis import DiagnosisId
from app.nn.errors import Quantity
from app.nn.init import InitName
from app.nn.optimizers import (
    ADAMW_WEIGHT_DECAY,
    BUFFER_NAMES,
    MEANS_OF_SQUARES,
    SGD,
    Adam,
    BufferName,
    OptimizerName,
)
from app.nn.training import Part, Status
from app.schemas.base import (
    Count,
    FiniteFloat,
    Loc,
    ResponseModel,
    SampleOrBatch,
    StrictModel,
    is_batch,
    issue,
    over_limit,
    plural,
    raise_if,
)
from app.schemas.network import LayerTensors, LayerValues, Network, NetworkOut, PerLayer
from app.schemas.passes import ACCURACY, LossRequest, input_issues, target_issues

Probability = Annotated[FiniteFloat, Field(ge=0, lt=1)]


class SGDOptimizer(StrictModel):
    """torch.optim.SGD: gradient descent with optional momentum, Nesterov and weight decay."""

    type: Literal["sgd"] = Field("sgd", description="sgd (the default when type is left out).")
    learning_rate: FiniteFloat = Field(SGD.learning_rate, ge=0, description="Step size, ≥ 0.")
    momentum: FiniteFloat = Field(SGD.momentum, ge=0, description="Momentum factor, ≥ 0 (0: none).")
    dampening: FiniteFloat = Field(SGD.dampening, ge=0, le=1, description="Dampening for momentum.")
    nesterov: bool = Field(SGD.nesterov, description="Nesterov momentum (needs momentum > 0).")
    weight_decay: FiniteFloat = Field(
        SGD.weight_decay, ge=0, description="L2 penalty added to the gradient."
    )

    @model_validator(mode="after")
    def _check_nesterov(self) -> Self:
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise_if(
                [
                    issue(
                        "invalid_combination",
                        ("nesterov",),
                        "Nesterov momentum needs momentum > 0 and dampening = 0 "
                        f"(got momentum {self.momentum}, dampening {self.dampening})",
                        True,
                    )
                ],
                "SGDOptimizer",
            )
        return self

    @property
    def buffers(self) -> tuple[BufferName, ...]:
        """The state buffers this configuration keeps (the engine's optimizer decides)."""
        return SGD(momentum=self.momentum).buffers


class AdamOptimizer(StrictModel):
    """torch.optim.Adam: adaptive moments, weight decay added to the gradient."""

    type: Literal["adam"] = Field("adam", description="adam.")
    learning_rate: FiniteFloat = Field(Adam.learning_rate, ge=0, description="Step size, ≥ 0.")
    betas: list[Probability] = Field(
        [Adam.beta1, Adam.beta2],
        min_length=2,
        max_length=2,
        description="Decay rates of the first and second moments, each in [0, 1).",
    )
    eps: FiniteFloat = Field(Adam.eps, gt=0, description="Added to the denominator, > 0.")
    weight_decay: FiniteFloat = Field(
        Adam.weight_decay, ge=0, description="L2 penalty added to the gradient."
    )
    amsgrad: bool = Field(Adam.amsgrad, description="Use the running maximum of the second moment.")

    @property
    def buffers(self) -> tuple[BufferName, ...]:
        """The state buffers this configuration keeps (the engine's optimizer decides)."""
        return Adam(amsgrad=self.amsgrad).buffers


class AdamWOptimizer(AdamOptimizer):
    """torch.optim.AdamW: Adam with decoupled weight decay ``w ← w·(1 − lr·weight_decay)``."""

    type: Literal["adamw"] = Field("adamw", description="adamw.")  # type: ignore[assignment]
    weight_decay: FiniteFloat = Field(
        ADAMW_WEIGHT_DECAY, ge=0, description="Decoupled weight decay."
    )


_OPTIMIZERS: dict[str, TypeAdapter[SGDOptimizer | AdamOptimizer]] = {
    model.model_fields["type"].default: TypeAdapter(model)
    for model in (SGDOptimizer, AdamOptimizer, AdamWOptimizer)
}


def _optimizer(value: Any) -> SGDOptimizer | AdamOptimizer:
    """Pick the optimizer model by ``type`` (default ``sgd``), so that ``loc`` stays a JSON path."""
    kind = value.get("type", "sgd") if isinstance(value, dict) else "sgd"
    if not isinstance(kind, str) or kind not in _OPTIMIZERS:
        names = ", ".join(repr(name) for name in _OPTIMIZERS)
        message = f"Input should be one of {names}"
        raise_if([issue("literal_error", ("type",), message, kind)], "Optimizer")
    return _OPTIMIZERS[kind].validate_python(value)


OptimizerSpec = Annotated[
    SGDOptimizer | AdamOptimizer | AdamWOptimizer,
    PlainValidator(
        _optimizer,
        json_schema_input_type=Annotated[
            SGDOptimizer | AdamOptimizer | AdamWOptimizer, Field(discriminator="type")
        ],
    ),
]


class OptimizerState(StrictModel):
    """Where an optimizer stopped: post it back with the returned network to resume exactly."""

    type: OptimizerName = Field(description="The optimizer it belongs to.")
    step: Count = Field(ge=0, description="Updates applied so far.")
    epoch: Count = Field(0, ge=0, description="Epochs trained so far (numbers shuffles).")
    # One field per name of the engine's BUFFER_NAMES, in its order (a test holds them together).
    momentum_buffer: PerLayer[LayerTensors] | None = Field(None, description="SGD with momentum.")
    exp_avg: PerLayer[LayerTensors] | None = Field(None, description="Adam's first moment.")
    exp_avg_sq: PerLayer[LayerTensors] | None = Field(None, description="Adam's second moment.")
    max_exp_avg_sq: PerLayer[LayerTensors] | None = Field(None, description="AMSGrad's maximum.")


def state_issues(
    state: OptimizerState, optimizer: SGDOptimizer | AdamOptimizer, network: Network
) -> list[InitErrorDetails]:
    """The resumed state must belong to this optimizer and have the network's shapes."""
    loc: Loc = ("optimizer_state",)
    if state.type != optimizer.type:
        message = f"this state is for {state.type} but the optimizer is {optimizer.type}"
        return [issue("invalid_combination", (*loc, "type"), message, state.type)]
    issues = []
    for name in BUFFER_NAMES:
        tensors = getattr(state, name)
        if name not in optimizer.buffers:
            if tensors is not None:
                message = f"{name} is not used by this {optimizer.type} configuration"
                issues.append(issue("invalid_combination", (*loc, name), message))
            continue
        if tensors is None:
            if state.step > 0:
                issues.append(issue("missing", (*loc, name), f"{name} is required after step 0"))
            continue
        issues += _tensor_shape_issues((*loc, name), tensors, network)
        if name in MEANS_OF_SQUARES and any(
            min(min(row) for row in t.weights) < 0 or min(t.bias, default=0) < 0 for t in tensors
        ):
            message = f"{name} is a mean of squares, so it cannot be negative"
            issues.append(issue("greater_than_equal", (*loc, name), message))
    return issues


def _tensor_shape_issues(
    loc: Loc, tensors: list[LayerTensors], network: Network
) -> list[InitErrorDetails]:
    """Per-layer arrays must have the shapes of the network's weights and biases."""
    if len(tensors) != len(network.layers):
        message = f"needs one entry per layer ({len(network.layers)}) but has {len(tensors)}"
        return [issue("shape_mismatch", loc, message, len(tensors))]
    issues = []
    for index, (tensor, layer) in enumerate(zip(tensors, network.layers, strict=True)):
        expected = (len(layer.weights), len(layer.weights[0]))
        actual = (len(tensor.weights), len(tensor.weights[0]) if tensor.weights else 0)
        if actual != expected or any(len(row) != expected[1] for row in tensor.weights):
            message = f"layer {index}: weights must have shape {expected} like the network's"
            issues.append(issue("shape_mismatch", (*loc, index, "weights"), message))
        if len(tensor.bias) != expected[0]:
            message = (
                f"layer {index}: bias needs {plural(expected[0], 'number')} like the network's"
            )
            issues.append(issue("shape_mismatch", (*loc, index, "bias"), message))
    return issues


STOP_RULES = ("loss_below", "validation_loss_below", "patience")
VALIDATION_RULES = ("validation_loss_below", "patience")
"""StopRule's rules, and those among them that read the validation loss."""


class StopRule(StrictModel):
    """When to end training before the last epoch: at least one rule; either target met ends
    the run as target_reached."""

    loss_below: FiniteFloat | None = Field(
        None, description="Stop as soon as the network's loss on all the data is at or below this."
    )
    validation_loss_below: FiniteFloat | None = Field(
        None,
        description="Stop as soon as the network's loss on the validation data is at or below "
        "this (needs validation).",
    )
    patience: Count | None = Field(
        None,
        ge=1,
        description="Early stopping (needs validation): end as early_stopped once this many "
        "epochs in a row have not improved on the lowest validation loss seen (improved: "
        "strictly lower), returning the network that had it and its optimizer state.",
    )

    @model_validator(mode="after")
    def _check_some_rule(self) -> Self:
        if all(getattr(self, name) is None for name in STOP_RULES):
            message = f"stop needs at least one of {', '.join(STOP_RULES)}"
            raise_if([issue("missing", (), message)], "StopRule")
        return self

    def validated(self) -> list[str]:
        """The rules given that read the validation loss."""
        return [name for name in VALIDATION_RULES if getattr(self, name) is not None]


class ValidationData(StrictModel):
    """Data the network is measured on but not trained on: the same rules as inputs and targets."""

    inputs: SampleOrBatch = Field(description="One sample or a batch, like inputs.")
    targets: SampleOrBatch = Field(description="Their targets, in the same form.")

    @property
    def samples(self) -> int:
        """How many samples ``inputs`` holds."""
        return len(self.inputs) if is_batch(self.inputs) else 1


TraceField = Literal[
    "loss",
    "penalty",
    "accuracy",
    "validation_loss",
    "validation_accuracy",
    "outputs",
    "layers",
    "gradients",
    "network",
    "health",
]
TRACE_FIELDS: tuple[TraceField, ...] = get_args(TraceField)
"""EpochTrace's fields besides epoch, in its order."""
ASKED_FOR_FIELDS: tuple[TraceField, ...] = ("health",)
"""The trace fields an entry holds only when trace.include names them."""
VALIDATION_FIELDS: tuple[TraceField, ...] = ("validation_loss", "validation_accuracy")
"""The trace fields measured on the validation data."""
REGULARIZATION_FIELDS: tuple[TraceField, ...] = ("penalty",)
"""The trace fields of the regularization penalty."""
TRACE_NEEDS: dict[TraceField, tuple[Part, ...]] = {
    "loss": (),
    "penalty": (),
    "accuracy": ("outputs",),
    "validation_loss": ("validation",),
    "validation_accuracy": ("validation",),
    "outputs": ("outputs",),
    "layers": ("layers",),
    "gradients": ("gradients",),
    "network": ("network",),
    "health": ("layers", "gradients", "health"),
}
"""The parts of the engine's records (:data:`app.nn.training.PARTS`) that each trace field is
computed from: a run keeps only those of the included fields."""


class TraceSpec(StrictModel):
    """Which epochs the trace records, and which of their fields."""

    every: Count = Field(
        1,
        ge=1,
        description="Record epochs 1, 1+every, 1+2·every, … and the last one (unless a "
        "run in mini-batches ends at BACKPROP_DEADLINE_SECONDS: recording it would repeat "
        "that epoch).",
    )
    include: list[TraceField] = Field(
        max_length=len(TRACE_FIELDS),
        default_factory=lambda: [name for name in TRACE_FIELDS if name not in ASKED_FOR_FIELDS],
        description="The fields each entry holds besides epoch (default: all of them but "
        "health, validation_loss and validation_accuracy only with validation, penalty only "
        "with regularization).",
    )

    def recorded(self, epochs: int) -> int:
        """How many entries a run of ``epochs`` epochs records, at most."""
        return (epochs - 1) // self.every + 1 + int((epochs - 1) % self.every != 0)


class TrainRequest(LossRequest):
    """A network, data, loss, optimizer, and how many epochs to train in batches of what size."""

    optimizer: OptimizerSpec = Field(
        default_factory=SGDOptimizer,
        description=f"sgd (default, learning_rate {SGD.learning_rate}), adam or adamw, with "
        "PyTorch's rules.",
    )
    optimizer_state: OptimizerState | None = Field(
        None, description="The optimizer_state of an earlier /train response, to resume it."
    )
    epochs: Count = Field(10, ge=1, description="Passes over the data.")
    batch_size: Count | None = Field(
        None,
        ge=1,
        description="Samples per update (default: all, one update per epoch). The last batch "
        "of an epoch may be smaller.",
    )
    shuffle: bool = Field(False, description="Shuffle the samples before each epoch's batches.")
    seed: Count = Field(0, ge=0, description="Seed of the shuffles: same seed, same run.")
    validation: ValidationData | None = Field(
        None,
        description="Held-out inputs and targets: each trace entry then carries validation_loss "
        "(and validation_accuracy) of the parameters at the start of its epoch, the summary "
        "final_validation_loss, and stop may use them.",
    )
    stop: StopRule | None = Field(None, description="End training early when a target is met.")
    trace: TraceSpec = Field(
        default_factory=TraceSpec, description="Which epochs and fields the trace records."
    )

    @property
    def included(self) -> tuple[TraceField, ...]:
        """The fields each entry holds, in EpochTrace's order: those of trace.include, without
        the validation fields when there is no validation data and include is the default (nor
        the penalty without regularization)."""
        include = set(self.trace.include)
        if self.validation is None:
            include -= set(VALIDATION_FIELDS)
        if self.regularization is None:
            include -= set(REGULARIZATION_FIELDS)
        return tuple(name for name in TRACE_FIELDS if name in include)

    @property
    def kept_parts(self) -> frozenset[Part]:
        """The parts of the engine's records that the included fields are computed from."""
        return frozenset(part for name in self.included for part in TRACE_NEEDS[name])

    @property
    def validations(self) -> int:
        """How many times a run measures the validation data at most: after every epoch when
        stop reads it, else for each record; once more for the summary."""
        if self.validation is None:
            return 0
        if self.stop is not None and self.stop.validated():
            return self.epochs + 1
        return self.trace.recorded(self.epochs) + 1

    def response_values(self) -> int:
        """The numbers of the recorded trace entries plus the summary."""
        return self.trace.recorded(self.epochs) * self.entry_values() + self.summary_values()

    def entry_values(self) -> int:
        """The numbers in one trace entry with the included fields."""
        net = self.network
        sizes = {
            "loss": 1,
            "penalty": 1,
            "accuracy": self.metrics,
            "validation_loss": 1,
            "validation_accuracy": self.metrics,
            "outputs": self.samples * net.output_size,
            "layers": 2 * self.samples * net.units,
            "gradients": net.parameters,
            "network": net.parameters,
            "health": 4 * len(net.layers),
        }
        return 1 + sum(sizes[name] for name in self.included)

    def summary_values(self) -> int:
        """Epochs run, final loss and accuracy (and validation), the network and the optimizer
        state."""
        net = self.network
        state = 2 + len(self.optimizer.buffers) * net.parameters
        validation = 0 if self.validation is None else 2 + self.metrics
        penalty = int(self.regularization is not None)
        return 2 + penalty + self.metrics + validation + net.parameters + state

    def work_limit(self) -> Limit:
        """The work budget of this kind of request (a stream has its own)."""
        return get_settings().max_work

    def work(self) -> int:
        """Epochs × (samples × parameters + a fixed cost per layer and epoch), see config, plus
        validations × (validation samples × parameters + a fixed cost per layer)."""
        net = self.network
        per_epoch = self.samples * net.parameters + EPOCH_OVERHEAD_WORK * len(net.layers)
        work = self.epochs * per_epoch
        if self.validation is not None:
            per_check = self.validation.samples * net.parameters
            work += self.validations * (per_check + VALIDATION_OVERHEAD_WORK * len(net.layers))
        return work

    def _issues(self) -> list[InitErrorDetails]:
        settings = get_settings()
        issues = super()._issues()
        if self.epochs > settings.max_epochs.value:
            issues.append(over_limit(("epochs",), "epochs", self.epochs, settings.max_epochs))
        if self.optimizer_state is not None:
            issues += state_issues(self.optimizer_state, self.optimizer, self.network)
        issues += self._validation_issues()
        if self.regularization is None:
            issues += _needing_regularization(self.trace)
        work, limit = self.work(), self.work_limit()
        if work > limit.value:
            terms = f"epochs × (samples × parameters + {EPOCH_OVERHEAD_WORK:,} × layers)"
            if self.validation is not None:
                terms += (
                    " + validations × (validation samples × parameters + "
                    f"{VALIDATION_OVERHEAD_WORK:,} × layers)"
                )
            what = f"the work ({terms})"
            hint = "train for fewer epochs or on fewer samples"
            issues.append(over_limit((), what, work, limit, hint))
        return issues

    def _validation_issues(self) -> list[InitErrorDetails]:
        """Validation data follows the training data's rules; what reads it needs it."""
        data = self.validation
        if data is None:
            return _needing_validation(self.stop, self.trace)
        at: Loc = ("validation",)
        issues = input_issues(self.network, data.inputs, at)
        issues += target_issues(self.network, self.loss, data.inputs, data.targets, at)
        limit = get_settings().max_samples
        if data.samples > limit.value:
            what = "the number of validation samples"
            issues.append(over_limit((*at, "inputs"), what, data.samples, limit))
        return issues


def _needing_regularization(trace: TraceSpec) -> list[InitErrorDetails]:
    """Without regularization, the penalty asked for in trace.include is a 422."""
    if "include" not in trace.model_fields_set:
        return []
    return [
        issue(
            "invalid_combination",
            ("trace", "include", index),
            f"{name} is the regularization penalty: send regularization (type and rate)",
            name,
        )
        for index, name in enumerate(trace.include)
        if name in REGULARIZATION_FIELDS
    ]


def _needing_validation(stop: StopRule | None, trace: TraceSpec) -> list[InitErrorDetails]:
    """Without validation data, stop rules and trace fields that read it are 422s."""
    issues = []
    for name in stop.validated() if stop is not None else []:
        message = f"stop.{name} reads the validation loss: send validation (inputs and targets)"
        issues.append(issue("invalid_combination", ("stop", name), message, getattr(stop, name)))
    if "include" in trace.model_fields_set:
        for index, name in enumerate(trace.include):
            if name in VALIDATION_FIELDS:
                message = f"{name} is measured on the validation data: send validation"
                issues.append(
                    issue("invalid_combination", ("trace", "include", index), message, name)
                )
    return issues


class LayerHealth(ResponseModel):
    """One layer's health in one epoch: why a network is not learning, in numbers."""

    gradient_norm: float = Field(
        description="‖∂L/∂θ‖ of the layer's weights and bias together, at the epoch's start."
    )
    update_ratio: float | None = Field(
        description="‖θ after − θ before‖ / ‖θ before‖ of the epoch's update (null when the "
        "layer's parameters were all 0); about 1e-3 is healthy, far above it too high a "
        "learning rate, far below it too low."
    )
    dead_share: float | None = Field(
        description="ReLU layers: the share of units with z ≤ 0 on every sample, through which "
        "no gradient flows (null for other activations)."
    )
    saturated_share: float | None = Field(
        description="Sigmoid and tanh layers: the share of activations (samples × units) where "
        "the derivative is under 2% of its largest, σ outside [0.01, 0.99] or |tanh| over 0.99 "
        "(null for other activations)."
    )


class NonFinite(ResponseModel):
    """Where a diverged run first met a value that is not finite."""

    stage: Quantity = Field(
        description="forward (a z), loss, penalty (of regularization), gradient, update (an "
        "updated parameter) or state (Adam's second moment)."
    )
    layer: int | None = Field(description="The layer (from 0), null when not a layer's.")


class SuggestedChange(ResponseModel):
    """One change to try, as data a form applies in one click; null fields stay as they are."""

    learning_rate: float | None = Field(description="The learning rate to train with.")
    activation: ActivationName | None = Field(
        description="The activation for the layers listed in layers."
    )
    layers: list[int] | None = Field(
        description="The layers (from 1) whose activation changes, null when none does."
    )
    init: InitName | None = Field(
        description="The init scheme to draw the weights again with (POST /init)."
    )


class Diagnosis(ResponseModel):
    """Why the network is not learning, in plain words, with the change to try."""

    id: DiagnosisId = Field(
        description="Stable: diverged, exploding_gradients, vanishing_gradients, dead_relus, "
        "saturated_units, learning_rate_too_high or learning_rate_too_low."
    )
    layer: int | None = Field(
        description="The layer it is about, numbered from 1 (null: the whole network)."
    )
    text: str = Field(description="What is wrong, with its numbers, and what to try.")
    change: SuggestedChange


class EpochTrace(ResponseModel):
    """One epoch: loss, outputs, layers and gradients before its update; network after it.

    Only ``epoch`` and the fields listed in ``trace.include`` are present.
    """

    epoch: int
    loss: float | None = None
    penalty: float | None = Field(
        None,
        description="With regularization: the penalty of the parameters at the start of the "
        "epoch, beside loss, the data loss (in mini-batches, the mean of the batch losses).",
    )
    accuracy: float | None = ACCURACY
    validation_loss: float | None = Field(
        None,
        description="The loss on the validation data with the parameters at the start of the "
        "epoch, like loss (null if it is not finite).",
    )
    validation_accuracy: float | None = Field(
        None, description="The accuracy on the validation data, like accuracy."
    )
    outputs: list[float] | list[list[float]] | None = None
    layers: list[LayerValues] | None = None
    gradients: list[LayerTensors] | None = None
    network: NetworkOut | None = None
    health: list[LayerHealth] | None = Field(
        None,
        description="Only when trace.include names it: each layer's health over the epoch "
        "(z, a and gradients at its start, the update it made).",
    )


class TrainSummary(ResponseModel):
    """How training ended and the trained network (the last line of /train/stream)."""

    status: Status = Field(
        description="completed; diverged when an update made the network non-finite; "
        "target_reached when stop.loss_below or stop.validation_loss_below was met; "
        "early_stopped when stop.patience epochs passed without a lower validation loss (the "
        "best network is returned); deadline_exceeded when the run took longer than "
        "BACKPROP_DEADLINE_SECONDS (everything computed up to the last whole epoch is returned)."
    )
    epochs_run: int = Field(description="Epochs whose update was applied and recorded.")
    final_loss: float = Field(description="The loss of the returned network on the data.")
    final_penalty: float | None = Field(
        None,
        description="With regularization only: the penalty of the returned network (absent "
        "without it); final_loss stays the data loss.",
    )
    final_accuracy: float | None = ACCURACY
    final_validation_loss: float | None = Field(
        None,
        description="The loss of the returned network on the validation data (null without "
        "validation, or if it is not finite).",
    )
    final_validation_accuracy: float | None = Field(
        None, description="The accuracy of the returned network on the validation data."
    )
    best_epoch: int | None = Field(
        None,
        description="With stop.patience: the epochs trained by the network with the lowest "
        "validation loss seen (0: the network sent); early_stopped returns that network.",
    )
    diverged_at_epoch: int | None = Field(
        None, description="The epoch whose update diverged (its result is discarded)."
    )
    divergence: str | None = Field(None, description="What became non-finite, in words.")
    non_finite: NonFinite | None = Field(
        None,
        description="With health in trace.include and status diverged only: the first value "
        "that was not finite, its stage and layer.",
    )
    diagnoses: list[Diagnosis] | None = Field(
        None,
        description="With health in trace.include only: why the network is not learning, read "
        "from the first and the latest recorded epochs' health (and, diverged, from non_finite); "
        "empty when no pattern is clear. Layers are numbered from 1 here.",
    )
    network: NetworkOut
    optimizer_state: OptimizerState = Field(description="Post it back to resume training.")


class TrainResponse(TrainSummary):
    """How training ended, the trained network and the recorded trace."""

    trace: list[EpochTrace] = Field(description="The recorded epochs, see the trace field.")

    def trace_to_numpy(self) -> dict[str, NDArray[Any]]:
        """The recorded trace as arrays, one per field: see :func:`trace_arrays`."""
        return trace_arrays(self.trace)


TRACE_NUMBERS: Final = ("loss", "accuracy", "validation_loss", "validation_accuracy")
"""The trace's fields that hold one number per epoch (null where not finite)."""


def trace_arrays(entries: Sequence[EpochTrace]) -> dict[str, NDArray[Any]]:
    """Recorded epochs (a /train answer's ``trace``, or the entries of a stream) as arrays
    whose first axis is the entry: ``epoch`` (integers); float64 ``loss``, ``accuracy``,
    ``validation_loss`` and ``validation_accuracy`` (NaN where null); ``outputs``; and per
    layer ``layers.{i}.z``, ``layers.{i}.a``, ``gradients.{i}.weights``,
    ``gradients.{i}.bias``, ``network.{i}.weights`` and ``network.{i}.bias``. A field is there
    when every entry records it (a number field, when any does), so the dict goes straight to
    ``np.savez`` or a DataFrame's columns."""
    arrays: dict[str, NDArray[Any]] = {"epoch": np.array([e.epoch for e in entries], dtype=int)}
    for name in TRACE_NUMBERS:
        values = [getattr(entry, name) for entry in entries]
        if any(value is not None for value in values):
            arrays[name] = np.array([np.nan if v is None else v for v in values])
    if entries and all(entry.outputs is not None for entry in entries):
        arrays["outputs"] = np.array([entry.outputs for entry in entries])
    per_layer = {
        "layers": ("z", "a"),
        "gradients": ("weights", "bias"),
        "network": ("weights", "bias"),
    }
    for field, parts in per_layer.items():
        tensors = [getattr(entry, field) for entry in entries]
        if not entries or any(t is None for t in tensors):
            continue
        layers = [t.layers if field == "network" else t for t in tensors]
        for index in range(len(layers[0])):
            for part in parts:
                stacked = [getattr(layer[index], part) for layer in layers]
                arrays[f"{field}.{index}.{part}"] = np.array(stacked)
    return arrays


class StreamTrainRequest(TrainRequest):
    """A /train request whose trace is streamed as it is computed."""

    def response_values(self) -> int:
        """The largest line, a trace entry or the summary: the server holds only the lines of a
        few milliseconds of training at a time."""
        return max(self.entry_values(), self.summary_values())

    def work_limit(self) -> Limit:
        """Streams may run longer: their memory stays flat and the client sees progress."""
        return get_settings().max_stream_work
