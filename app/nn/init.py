"""Initial parameters for a dense network, with PyTorch's schemes and NumPy's seeded generator.

Every scheme draws each layer's ``W`` (shape ``(units, inputs)``, so ``fan_in = inputs`` and
``fan_out = units``) and then its ``b``, layer by layer, from ``default_rng(seed)``:

* ``pytorch_default``: ``nn.Linear``'s own, ``W`` and ``b`` from ``U(−1/√fan_in, 1/√fan_in)``;
* ``he_uniform``: ``U(±√(6/fan_in))`` and ``he_normal``: ``N(0, 2/fan_in)`` (Kaiming, ReLU gain √2);
* ``xavier_uniform``: ``U(±√(6/(fan_in+fan_out)))`` and ``xavier_normal``:
  ``N(0, 2/(fan_in+fan_out))`` (Glorot, gain 1).

The four named schemes set biases to zero, as in the usual ``nn.init`` recipes.
"""

import itertools
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from app.nn.activations import ActivationName
from app.nn.network import Parameters

InitName = Literal["pytorch_default", "he_uniform", "he_normal", "xavier_uniform", "xavier_normal"]


def initialize(
    sizes: Sequence[int], activations: Sequence[ActivationName], scheme: InitName, seed: int
) -> Parameters:
    """Parameters for layers of ``sizes[i] → sizes[i+1]`` units, drawn by ``scheme``."""
    shapes = [(units, inputs) for inputs, units in itertools.pairwise(sizes)]
    params = Parameters.zeros(shapes, activations)
    rng = np.random.default_rng(seed)
    for (W, b), (fan_out, fan_in) in zip(params.layers, shapes, strict=True):
        if scheme == "pytorch_default":
            bound = 1.0 / math.sqrt(fan_in)
            W[...] = rng.uniform(-bound, bound, W.shape)
            b[...] = rng.uniform(-bound, bound, b.shape)
        elif scheme == "he_uniform":
            bound = math.sqrt(6.0 / fan_in)
            W[...] = rng.uniform(-bound, bound, W.shape)
        elif scheme == "he_normal":
            W[...] = rng.normal(0.0, math.sqrt(2.0 / fan_in), W.shape)
        elif scheme == "xavier_uniform":
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            W[...] = rng.uniform(-bound, bound, W.shape)
        else:
            W[...] = rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), W.shape)
    return params
