"""Request and response models: the API contract, validated once at the boundary.

Numbers are strict finite float64 (a JSON ``true`` or ``"1.5"`` is not a number); unknown fields are
rejected. Shapes and the configured limits are checked here, once, with errors whose ``loc`` is the
JSON path of the offending value and whose message names the layer and the expected and actual
shapes (or the limit and its environment variable). The engine then trusts what it is given.
"""

from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.config import Limit, get_settings
from app.nn.activations import ActivationName
from app.nn.losses import LossName

FiniteFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Vector = list[FiniteFloat]
Matrix = list[list[FiniteFloat]]
Loc = tuple[str | int, ...]

_VECTOR: TypeAdapter[list[float]] = TypeAdapter(Vector)
_MATRIX: TypeAdapter[list[list[float]]] = TypeAdapter(Matrix)


def _sample_or_batch(value: Any) -> list[float] | list[list[float]]:
    """One sample (a list of numbers) or a batch (a list of rows), told apart by the first item.

    Choosing the branch first gives one precise error per bad value instead of a union's noise.
    """
    if isinstance(value, list) and value and isinstance(value[0], list):
        return _MATRIX.validate_python(value)
    return _VECTOR.validate_python(value)


SampleOrBatch = Annotated[
    Vector | Matrix,
    PlainValidator(_sample_or_batch, json_schema_input_type=Vector | Matrix),
]


class StrictModel(BaseModel):
    """Base of every request model: strict types, no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ResponseModel(BaseModel):
    """Base of every response model (built by the server, so never re-validated)."""

    model_config = ConfigDict(extra="forbid")


def _issue(kind: str, loc: Loc, message: str, value: Any = None) -> InitErrorDetails:
    return {"type": PydanticCustomError(kind, message), "loc": loc, "input": value}


def _raise_if(issues: list[InitErrorDetails], title: str) -> None:
    if issues:
        raise ValidationError.from_exception_data(title, issues)


def _over_limit(loc: Loc, what: str, actual: int, limit: Limit, hint: str = "") -> InitErrorDetails:
    message = f"{what} is {actual:,}, over the limit of {limit.value:,} (set by {limit.env})"
    return _issue("limit_exceeded", loc, message + (f"; {hint}" if hint else ""), actual)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class Layer(StrictModel):
    """A dense layer: ``z = W·x + b``, ``a = activation(z)``."""

    weights: list[list[FiniteFloat]] = Field(
        min_length=1,
        description="W, shape (units, inputs): one row per unit, one column per input.",
    )
    bias: Vector = Field(description="b, one number per unit.")
    activation: ActivationName = Field(
        description="identity, relu, leaky_relu (slope 0.01), sigmoid or tanh."
    )


class Network(StrictModel):
    """A dense network: its layers in order from input to output."""

    layers: list[Layer] = Field(min_length=1, description="Layers from input to output.")

    @model_validator(mode="after")
    def _check_shapes(self) -> Self:
        settings = get_settings()
        issues: list[InitErrorDetails] = []
        if len(self.layers) > settings.max_layers.value:
            issues.append(
                _over_limit(
                    ("layers",), "the number of layers", len(self.layers), settings.max_layers
                )
            )
        for index, layer in enumerate(self.layers):
            issues += _layer_issues(index, layer, self.layers[index - 1] if index else None)
        _raise_if(issues, "Network")
        return self

    @property
    def input_size(self) -> int:
        """How many numbers one sample holds."""
        return len(self.layers[0].weights[0])

    @property
    def output_size(self) -> int:
        """How many numbers the last layer outputs per sample."""
        return len(self.layers[-1].weights)

    @property
    def units(self) -> int:
        """Units over all layers (each has one ``z`` and one ``a`` per sample)."""
        return sum(len(layer.weights) for layer in self.layers)

    @property
    def parameters(self) -> int:
        """Weights and biases over all layers."""
        return sum(len(layer.weights) * (len(layer.weights[0]) + 1) for layer in self.layers)


def _layer_issues(index: int, layer: Layer, previous: Layer | None) -> list[InitErrorDetails]:
    """Shape and width problems of one layer, given the layer before it."""
    max_units = get_settings().max_units
    loc: Loc = ("layers", index)
    units, inputs = len(layer.weights), len(layer.weights[0])
    issues = [
        _issue(
            "shape_mismatch",
            (*loc, "weights", row),
            f"layer {index}: every row of weights must have the same length: row {row} has "
            f"{_plural(len(values), 'number')} but row 0 has {inputs}",
            len(values),
        )
        for row, values in enumerate(layer.weights)
        if len(values) != inputs
    ]
    if inputs == 0:
        issues.append(
            _issue("shape_mismatch", (*loc, "weights", 0), f"layer {index}: weights rows are empty")
        )
    if len(layer.bias) != units:
        issues.append(
            _issue(
                "shape_mismatch",
                (*loc, "bias"),
                f"layer {index} has {_plural(units, 'unit')} (one per row of weights), so bias "
                f"needs {_plural(units, 'number')} but it has {len(layer.bias)}",
                len(layer.bias),
            )
        )
    if previous is not None and inputs != len(previous.weights):
        expected = len(previous.weights)
        issues.append(
            _issue(
                "shape_mismatch",
                (*loc, "weights"),
                f"layer {index} expects {_plural(expected, 'input')} (layer {index - 1} has "
                f"{_plural(expected, 'unit')}) but its weights have {_plural(inputs, 'column')}",
                inputs,
            )
        )
    for what, size in (("units", units), ("inputs", inputs)):
        if size > max_units.value:
            issues.append(
                _over_limit((*loc, "weights"), f"layer {index}'s number of {what}", size, max_units)
            )
    return issues


def _sample_issues(
    field: str, values: list[float] | list[list[float]], width: int, expected: str
) -> list[InitErrorDetails]:
    """Check that every sample of ``values`` has ``width`` numbers (``expected`` says why)."""
    lengths = [len(row) for row in values] if _is_batch(values) else None  # type: ignore[arg-type]
    if lengths is not None:
        return [
            _issue(
                "shape_mismatch",
                (field, i),
                f"{field} row {i} has {_plural(n, 'number')} but {expected}",
                n,
            )
            for i, n in enumerate(lengths)
            if n != width
        ]
    if len(values) == width:
        return []
    hint = ""
    if field == "inputs" and width == 1 and len(values) > 1:
        hint = f"; to send {len(values)} samples, send a list of rows such as [[1.0], [2.0]]"
    return [
        _issue(
            "shape_mismatch",
            (field,),
            f"{field} has {_plural(len(values), 'number')} but {expected}{hint}",
            len(values),
        )
    ]


def _is_batch(values: list[float] | list[list[float]]) -> bool:
    return bool(values) and isinstance(values[0], list)


class ForwardRequest(StrictModel):
    """A network and the inputs to run through it."""

    network: Network
    inputs: SampleOrBatch = Field(
        description="One sample (a list of numbers) or a batch (a list of rows, one per sample)."
    )

    @property
    def is_batch(self) -> bool:
        """Whether ``inputs`` is a batch of rows (else one sample); outputs mirror the form."""
        return _is_batch(self.inputs)

    @property
    def samples(self) -> int:
        """How many samples ``inputs`` holds."""
        return len(self.inputs) if self.is_batch else 1

    def response_values(self) -> int:
        """How many numbers the response carries: outputs plus every layer's z and a."""
        return self.samples * (self.network.output_size + 2 * self.network.units)

    def _issues(self) -> list[InitErrorDetails]:
        settings = get_settings()
        net = self.network
        expected = f"layer 0 expects {_plural(net.input_size, 'input')}"
        issues = _sample_issues("inputs", self.inputs, net.input_size, expected)
        if self.samples > settings.max_samples.value:
            issues.append(
                _over_limit(
                    ("inputs",), "the number of samples", self.samples, settings.max_samples
                )
            )
        values = self.response_values()
        if values > settings.max_trace_values.value:
            issues.append(
                _over_limit(
                    (),
                    "the number of values in the response",
                    values,
                    settings.max_trace_values,
                    "send fewer samples or epochs",
                )
            )
        return issues

    @model_validator(mode="after")
    def _check(self) -> Self:
        _raise_if(self._issues(), type(self).__name__)
        return self


class LossRequest(ForwardRequest):
    """A network, inputs, the targets they should map to, and the loss to measure."""

    targets: SampleOrBatch = Field(
        description="The wanted outputs, in the same form as inputs (one sample or a batch)."
    )
    loss: LossName = Field(
        "half_squared_error",
        description="half_squared_error: per sample ½·Σ(y−t)² (the notebook's); "
        "mean_squared_error: mean over every output of every sample (PyTorch's MSELoss). "
        "Over a batch the loss is the mean over samples.",
    )

    def _issues(self) -> list[InitErrorDetails]:
        issues = super()._issues()
        outputs = self.network.output_size
        if _is_batch(self.inputs) != _is_batch(self.targets):
            form = "a batch (a list of rows)" if _is_batch(self.inputs) else "one sample"
            issues.append(
                _issue(
                    "shape_mismatch",
                    ("targets",),
                    f"inputs is {form}, so targets must be {form} too",
                )
            )
            return issues
        if _is_batch(self.targets) and len(self.targets) != len(self.inputs):
            issues.append(
                _issue(
                    "shape_mismatch",
                    ("targets",),
                    f"targets has {_plural(len(self.targets), 'row')} but inputs has "
                    f"{len(self.inputs)}: one target row per sample",
                    len(self.targets),
                )
            )
        last = len(self.network.layers) - 1
        expected = f"the last layer (layer {last}) has {_plural(outputs, 'output')}"
        return issues + _sample_issues("targets", self.targets, outputs, expected)


class BackwardRequest(LossRequest):
    """Everything needed for one forward and backward pass."""

    def response_values(self) -> int:
        """Loss, outputs, every z and a, and every gradient."""
        return super().response_values() + 1 + self.network.parameters


Probability = Annotated[FiniteFloat, Field(ge=0, lt=1)]


class SGDOptimizer(StrictModel):
    """torch.optim.SGD: gradient descent with optional momentum, Nesterov and weight decay."""

    type: Literal["sgd"] = "sgd"
    learning_rate: FiniteFloat = Field(0.01, ge=0, description="Step size, ≥ 0.")
    momentum: FiniteFloat = Field(0.0, ge=0, description="Momentum factor, ≥ 0 (0: none).")
    dampening: FiniteFloat = Field(0.0, ge=0, le=1, description="Dampening for momentum.")
    nesterov: bool = Field(False, description="Nesterov momentum (needs momentum > 0).")
    weight_decay: FiniteFloat = Field(0.0, ge=0, description="L2 penalty added to the gradient.")

    @model_validator(mode="after")
    def _check_nesterov(self) -> Self:
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            _raise_if(
                [
                    _issue(
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
    def buffers(self) -> list[str]:
        """The state buffers this configuration keeps."""
        return ["momentum_buffer"] if self.momentum else []


class AdamOptimizer(StrictModel):
    """torch.optim.Adam: adaptive moments, weight decay added to the gradient."""

    type: Literal["adam"] = "adam"
    learning_rate: FiniteFloat = Field(0.001, ge=0, description="Step size, ≥ 0.")
    betas: list[Probability] = Field(
        [0.9, 0.999],
        min_length=2,
        max_length=2,
        description="Decay rates of the first and second moments, each in [0, 1).",
    )
    eps: FiniteFloat = Field(1e-8, gt=0, description="Added to the denominator, > 0.")
    weight_decay: FiniteFloat = Field(0.0, ge=0, description="L2 penalty added to the gradient.")
    amsgrad: bool = Field(False, description="Use the running maximum of the second moment.")

    @property
    def buffers(self) -> list[str]:
        """The state buffers this configuration keeps."""
        return ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if self.amsgrad else [])


class AdamWOptimizer(AdamOptimizer):
    """torch.optim.AdamW: Adam with decoupled weight decay ``w ← w·(1 − lr·weight_decay)``."""

    type: Literal["adamw"] = "adamw"  # type: ignore[assignment]
    weight_decay: FiniteFloat = Field(0.01, ge=0, description="Decoupled weight decay.")


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
        _raise_if([_issue("literal_error", ("type",), message, kind)], "Optimizer")
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


class LayerTensors(StrictModel):
    """Arrays shaped like one layer's weights and bias (a gradient, an optimizer buffer)."""

    weights: Matrix
    bias: Vector


class OptimizerState(StrictModel):
    """Where an optimizer stopped: post it back with the returned network to resume exactly."""

    type: Literal["sgd", "adam", "adamw"] = Field(description="The optimizer it belongs to.")
    step: int = Field(ge=0, description="Updates applied so far.")
    momentum_buffer: list[LayerTensors] | None = Field(None, description="SGD with momentum.")
    exp_avg: list[LayerTensors] | None = Field(None, description="Adam's first moment.")
    exp_avg_sq: list[LayerTensors] | None = Field(None, description="Adam's second moment.")
    max_exp_avg_sq: list[LayerTensors] | None = Field(None, description="AMSGrad's maximum.")


def _state_issues(
    state: OptimizerState, optimizer: SGDOptimizer | AdamOptimizer, network: Network
) -> list[InitErrorDetails]:
    """The resumed state must belong to this optimizer and have the network's shapes."""
    loc: Loc = ("optimizer_state",)
    if state.type != optimizer.type:
        message = f"this state is for {state.type} but the optimizer is {optimizer.type}"
        return [_issue("invalid_combination", (*loc, "type"), message, state.type)]
    issues = []
    names = ("momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    for name in names:
        tensors = getattr(state, name)
        if name not in optimizer.buffers:
            if tensors is not None:
                message = f"{name} is not used by this {optimizer.type} configuration"
                issues.append(_issue("invalid_combination", (*loc, name), message))
            continue
        if tensors is None:
            if state.step > 0:
                issues.append(_issue("missing", (*loc, name), f"{name} is required after step 0"))
            continue
        issues += _tensor_shape_issues((*loc, name), tensors, network)
        if name.endswith("exp_avg_sq") and any(
            min(min(row) for row in t.weights) < 0 or min(t.bias, default=0) < 0 for t in tensors
        ):
            message = f"{name} is a mean of squares, so it cannot be negative"
            issues.append(_issue("greater_than_equal", (*loc, name), message))
    return issues


def _tensor_shape_issues(
    loc: Loc, tensors: list[LayerTensors], network: Network
) -> list[InitErrorDetails]:
    """Per-layer arrays must have the shapes of the network's weights and biases."""
    if len(tensors) != len(network.layers):
        message = f"needs one entry per layer ({len(network.layers)}) but has {len(tensors)}"
        return [_issue("shape_mismatch", loc, message, len(tensors))]
    issues = []
    for index, (tensor, layer) in enumerate(zip(tensors, network.layers, strict=True)):
        expected = (len(layer.weights), len(layer.weights[0]))
        actual = (len(tensor.weights), len(tensor.weights[0]) if tensor.weights else 0)
        if actual != expected or any(len(row) != expected[1] for row in tensor.weights):
            message = f"layer {index}: weights must have shape {expected} like the network's"
            issues.append(_issue("shape_mismatch", (*loc, index, "weights"), message))
        if len(tensor.bias) != expected[0]:
            message = (
                f"layer {index}: bias needs {_plural(expected[0], 'number')} like the network's"
            )
            issues.append(_issue("shape_mismatch", (*loc, index, "bias"), message))
    return issues


class TrainRequest(LossRequest):
    """A network, data, loss, optimizer and the number of full-batch epochs to train."""

    optimizer: OptimizerSpec = Field(
        default_factory=SGDOptimizer,
        description="sgd (default, learning_rate 0.01), adam or adamw, with PyTorch's rules.",
    )
    optimizer_state: OptimizerState | None = Field(
        None, description="The optimizer_state of an earlier /train response, to resume it."
    )
    epochs: int = Field(10, ge=1, description="Full-batch epochs: one update per epoch.")

    def response_values(self) -> int:
        """Every epoch's trace entry plus the final network and loss."""
        net = self.network
        per_epoch = 2 + self.samples * (net.output_size + 2 * net.units) + 2 * net.parameters
        state = 1 + len(self.optimizer.buffers) * net.parameters
        return self.epochs * per_epoch + net.parameters + 2 + state

    def _issues(self) -> list[InitErrorDetails]:
        settings = get_settings()
        issues = super()._issues()
        if self.epochs > settings.max_epochs.value:
            issues.append(_over_limit(("epochs",), "epochs", self.epochs, settings.max_epochs))
        if self.optimizer_state is not None:
            issues += _state_issues(self.optimizer_state, self.optimizer, self.network)
        work = self.epochs * self.samples * self.network.parameters
        if work > settings.max_work.value:
            issues.append(
                _over_limit(
                    (),
                    "the work (epochs × samples × parameters)",
                    work,
                    settings.max_work,
                    "train for fewer epochs or on fewer samples",
                )
            )
        return issues


class LayerValues(ResponseModel):
    """One layer's pre-activation ``z`` and activation ``a``, in the form of ``inputs``."""

    z: list[float] | list[list[float]]
    a: list[float] | list[list[float]]


class NetworkOut(ResponseModel):
    """A network in the request format, ready to post back to any endpoint."""

    layers: list[Layer]


class ForwardResponse(ResponseModel):
    """The forward pass: the network's outputs and every layer's z and a."""

    outputs: list[float] | list[list[float]]
    layers: list[LayerValues]


class LossResponse(ResponseModel):
    """The loss of the network on the given targets and the outputs it was computed from."""

    loss: float
    outputs: list[float] | list[list[float]]


class BackwardResponse(ResponseModel):
    """Forward pass, loss and the gradient of the loss for every weight and bias."""

    loss: float
    outputs: list[float] | list[list[float]]
    layers: list[LayerValues]
    gradients: list[LayerTensors]


class EpochTrace(ResponseModel):
    """One epoch: loss, outputs, layers and gradients before its update; network after it."""

    epoch: int
    loss: float
    outputs: list[float] | list[list[float]]
    layers: list[LayerValues]
    gradients: list[LayerTensors]
    network: NetworkOut


class TrainResponse(ResponseModel):
    """How training ended, the trained network and the per-epoch trace."""

    status: Literal["completed", "diverged"] = Field(
        description="completed, or diverged when an update made the network non-finite."
    )
    epochs_run: int = Field(description="Epochs whose update was applied and recorded.")
    final_loss: float = Field(description="The loss of the returned network on the data.")
    diverged_at_epoch: int | None = Field(
        None, description="The epoch whose update diverged (its result is discarded)."
    )
    divergence: str | None = Field(None, description="What became non-finite, in words.")
    network: NetworkOut
    optimizer_state: OptimizerState = Field(description="Post it back to resume training.")
    trace: list[EpochTrace]


class Health(ResponseModel):
    """Liveness or readiness."""

    status: Literal["ok"] = "ok"


class ErrorMessage(ResponseModel):
    """The body of every error other than 422: a sentence saying what is wrong."""

    detail: str
