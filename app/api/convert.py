"""Translation between the JSON models of app.schemas and the engine's arrays (and the plain
data the export renderers take).

Response values are plain JSON values (dicts, lists and floats in the documented models' field
order) that orjson writes directly, or response models assembled from them with
``model_construct``. The server built these values itself, so validating them again would only
cost time.
"""

from typing import Any, overload

import numpy as np

from app.nn import optimizers
from app.nn.network import ForwardPass, Parameters
from app.nn.optimizers import BUFFER_NAMES, SGD, Adam, Optimizer
from app.nn.regularization import Regularization
from app.nn.types import Array
from app.render.export import spec
from app.schemas.base import as_rows
from app.schemas.export import DATA_FILENAME, FILENAMES, NetworkExport, TrainExport
from app.schemas.network import Layer, LayerTensors, Network, NetworkOut
from app.schemas.passes import Regularization as RegularizationSpec
from app.schemas.training import (
    AdamOptimizer,
    AdamWOptimizer,
    OptimizerSpec,
    OptimizerState,
    SGDOptimizer,
    TrainRequest,
    ValidationData,
)

JSONObject = dict[str, Any]


def to_parameters(network: Network) -> Parameters:
    """The engine's flat parameters for a validated network."""
    return Parameters.from_layers(
        [layer.weights for layer in network.layers],
        [layer.bias for layer in network.layers],
        [layer.activation for layer in network.layers],
    )


def parameter_values(network: Network) -> list[float]:
    """A validated network's numbers in the order of the engine's flat parameter vector: each
    layer's weights row by row, then its bias (as :meth:`Parameters.from_layers` lays them out)."""
    values: list[float] = []
    for layer in network.layers:
        for row in layer.weights:
            values += row
        values += layer.bias
    return values


def to_batch(values: list[float] | list[list[float]]) -> Array:
    """One sample or a batch as a 2-D ``(samples, features)`` float64 array."""
    return np.atleast_2d(np.asarray(values, dtype=np.float64))


def rows(values: Array, batch: bool) -> list[float] | list[list[float]]:
    """A ``(samples, features)`` array in the request's form: a batch of rows or one sample."""
    result: list[float] | list[list[float]] = values.tolist() if batch else values[0].tolist()
    return result


def layer_values_json(fwd: ForwardPass, batch: bool) -> list[JSONObject]:
    """Every layer's z and a in the request's form, as LayerValues' JSON (hand-ordered: the
    byte tests of /forward and /train, which answer it, fail if it drifts from the model)."""
    return [{"z": rows(z, batch), "a": rows(a, batch)} for z, a in zip(fwd.z, fwd.a, strict=True)]


def tensors_json(tensors: Parameters) -> list[JSONObject]:
    """Per-layer arrays (gradients, optimizer buffers) as LayerTensors' JSON (hand-ordered: the
    byte tests of /backward and /train, which answer it, fail if it drifts from the model)."""
    return [{"weights": W.tolist(), "bias": b.tolist()} for W, b in tensors.layers]


def network_json(params: Parameters) -> JSONObject:
    """Parameters in the request's network format, as NetworkOut's JSON (hand-ordered: the byte
    test of /train, which answers it, fails if it drifts from the model)."""
    return {
        "layers": [
            {"weights": W.tolist(), "bias": b.tolist(), "activation": name}
            for (W, b), name in zip(params.layers, params.activations, strict=True)
        ]
    }


def network_out(params: Parameters) -> NetworkOut:
    """Parameters in the request's network format."""
    layers = network_json(params)["layers"]
    return NetworkOut.model_construct(layers=[Layer.model_construct(**layer) for layer in layers])


def to_regularization(spec: RegularizationSpec | None) -> Regularization | None:
    """The engine's penalty for a validated regularization field (None: none)."""
    return None if spec is None else Regularization(spec.type, spec.rate)


@overload
def to_optimizer(spec: SGDOptimizer) -> SGD: ...
@overload
def to_optimizer(spec: OptimizerSpec) -> SGD | Adam: ...
def to_optimizer(spec: OptimizerSpec) -> SGD | Adam:
    """The engine's optimizer for a validated optimizer field."""
    if isinstance(spec, AdamOptimizer):
        return Adam(
            spec.learning_rate,
            spec.betas[0],
            spec.betas[1],
            spec.eps,
            spec.weight_decay,
            spec.amsgrad,
            decoupled=isinstance(spec, AdamWOptimizer),
        )
    return SGD(spec.learning_rate, spec.momentum, spec.dampening, spec.nesterov, spec.weight_decay)


def to_state(
    state: OptimizerState | None, optimizer: Optimizer, params: Parameters
) -> optimizers.OptimizerState | None:
    """The engine's optimizer state for a resumed run (buffers not sent start at zero)."""
    if state is None:
        return None
    result = optimizer.init(params.flat.size)
    result.step, result.epoch = state.step, state.epoch
    for name, flat in result.buffers.items():
        tensors: list[LayerTensors] | None = getattr(state, name)
        if tensors is not None:
            layers = params.with_flat(flat).layers
            for (W, b), tensor in zip(layers, tensors, strict=True):
                W[...] = tensor.weights
                b[...] = tensor.bias
    return result


def state_json(
    state: optimizers.OptimizerState, spec: OptimizerSpec, params: Parameters
) -> JSONObject:
    """An engine optimizer state as OptimizerState's JSON, per layer like the network
    (hand-ordered: the byte test of /train, which answers it, fails if it drifts from the
    model)."""
    values: JSONObject = {"type": spec.type, "step": state.step, "epoch": state.epoch}
    values |= dict.fromkeys(BUFFER_NAMES)
    values |= {name: tensors_json(params.with_flat(flat)) for name, flat in state.buffers.items()}
    return values


def _rows(data: TrainRequest | ValidationData) -> spec.Data:
    """Inputs and targets as rows, one per sample."""
    return spec.Data(as_rows(data.inputs), as_rows(data.targets))


def _tensors(posted: list[LayerTensors] | None) -> list[spec.Tensors] | None:
    """A posted optimizer buffer, per layer (None if it was not sent)."""
    return [spec.Tensors(t.weights, t.bias) for t in posted] if posted else None


def _training(request: TrainExport) -> spec.Training:
    """The run of an export request, as the export renderers take it."""
    state, stop = request.optimizer_state, request.stop
    resumed = None
    if state is not None:
        buffers = {name: _tensors(getattr(state, name)) for name in request.optimizer.buffers}
        resumed = spec.Resumed(state.step, state.epoch, buffers)
    return spec.Training(
        data=_rows(request),
        validation=_rows(request.validation) if request.validation else None,
        data_file=None if request.include_data else DATA_FILENAME,
        epochs=request.epochs,
        batch_size=min(request.batch_size or request.samples, request.samples),
        shuffle=request.shuffle and request.batch_count > 1,
        seed=request.seed,
        resumed=resumed,
        loss_below=stop.loss_below if stop else None,
        validation_loss_below=stop.validation_loss_below if stop else None,
        patience=stop.patience if stop else None,
        every=request.trace.every,
        regularization=to_regularization(request.regularization),
    )


def to_export(request: TrainExport | NetworkExport) -> spec.Export:
    """What the export renderers take, for a validated export request: the request's own numbers
    as plain data, and the engine's optimizer."""
    return spec.Export(
        filename=FILENAMES[request.format],
        layers=[spec.Layer(x.weights, x.bias, x.activation) for x in request.network.layers],
        loss=request.loss,
        optimizer=to_optimizer(request.optimizer) if request.optimizer else None,
        training=_training(request) if isinstance(request, TrainExport) else None,
    )
