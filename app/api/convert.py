"""Translation between the JSON models of app.schemas and the engine's arrays.

Response models are assembled with ``model_construct``: the server built these values itself, so
validating them again would only cost time.
"""

import numpy as np

from app.nn.network import ForwardPass, Parameters
from app.nn.types import Array
from app.schemas import Gradient, Layer, LayerValues, Network, NetworkOut


def to_parameters(network: Network) -> Parameters:
    """The engine's flat parameters for a validated network."""
    return Parameters.from_layers(
        [layer.weights for layer in network.layers],
        [layer.bias for layer in network.layers],
        [layer.activation for layer in network.layers],
    )


def to_batch(values: list[float] | list[list[float]]) -> Array:
    """One sample or a batch as a 2-D ``(samples, features)`` float64 array."""
    return np.atleast_2d(np.asarray(values, dtype=np.float64))


def rows(values: Array, batch: bool) -> list[float] | list[list[float]]:
    """A ``(samples, features)`` array in the request's form: a batch of rows or one sample."""
    result: list[float] | list[list[float]] = values.tolist() if batch else values[0].tolist()
    return result


def layer_values(fwd: ForwardPass, batch: bool) -> list[LayerValues]:
    """Every layer's z and a in the request's form."""
    return [
        LayerValues.model_construct(z=rows(z, batch), a=rows(a, batch))
        for z, a in zip(fwd.z, fwd.a, strict=True)
    ]


def gradients_out(grads: Parameters) -> list[Gradient]:
    """Per-layer gradients shaped like the weights and biases."""
    return [
        Gradient.model_construct(weights=gW.tolist(), bias=gb.tolist()) for gW, gb in grads.layers
    ]


def network_out(params: Parameters) -> NetworkOut:
    """Parameters in the request's network format."""
    return NetworkOut.model_construct(
        layers=[
            Layer.model_construct(weights=W.tolist(), bias=b.tolist(), activation=name)
            for (W, b), name in zip(params.layers, params.activations, strict=True)
        ]
    )
