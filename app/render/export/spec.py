"""What the export renderers take: plain frozen data that the /export route builds from its
validated request (:func:`app.api.convert.to_export`), so that the renderers depend on no request
model.

The numbers are the request's own Python floats and ints, untouched, so that a script writes
each in the shortest form that reads back as the same value. The optimizer is the engine's
(:class:`app.nn.optimizers.SGD` or :class:`app.nn.optimizers.Adam`), with the settings /train
runs with.
"""

from dataclasses import dataclass

from app.nn.activations import ActivationName
from app.nn.losses import LossName
from app.nn.optimizers import SGD, Adam, BufferName
from app.nn.regularization import Regularization

Rows = list[list[float]]
"""Numbers by row: a weight matrix (one row per unit), or data (one row per sample)."""


@dataclass(frozen=True)
class Tensors:
    """A layer's weights and bias, or an optimizer buffer shaped like them."""

    weights: Rows
    bias: list[float]


@dataclass(frozen=True)
class Layer(Tensors):
    """A layer of the network: z = W·x + b, then its activation."""

    activation: ActivationName


@dataclass(frozen=True)
class Data:
    """Inputs and targets, one row per sample."""

    inputs: Rows
    targets: Rows


@dataclass(frozen=True)
class Resumed:
    """The optimizer state of an earlier run that the script starts from (optimizer_state)."""

    step: int
    epoch: int
    """The epochs trained before: they number the shuffled orders."""
    buffers: dict[BufferName, list[Tensors] | None]
    """Each buffer the optimizer keeps, per layer, or None where it was not sent (zeros)."""


@dataclass(frozen=True)
class Training:
    """The run a script makes, as /train makes it."""

    data: Data
    validation: Data | None
    data_file: str | None
    """The file the script reads its data from, or None when it embeds the data."""
    epochs: int
    batch_size: int
    """The samples of each batch (the last one may hold fewer)."""
    shuffle: bool
    """Whether each epoch draws a shuffled order (only with more than one batch)."""
    seed: int
    resumed: Resumed | None
    loss_below: float | None
    validation_loss_below: float | None
    patience: int | None
    every: int
    """Which epochs the script prints: 1, 1 + every, ... and the last one."""
    regularization: Regularization | None = None
    """The penalty on the weights whose gradient each update adds, if any."""

    @property
    def samples(self) -> int:
        """How many samples the data holds."""
        return len(self.data.inputs)

    @property
    def first_epoch(self) -> int:
        """The epochs trained before this run (a resumed run's optimizer_state.epoch)."""
        return self.resumed.epoch if self.resumed else 0


@dataclass(frozen=True)
class Export:
    """A network to export, with the loss and optimizer its script defines, if any, and the run
    it makes, if any (None: the script only builds the network and prints it)."""

    filename: str
    """The name the script is saved under, which its docstring says how to run."""
    layers: list[Layer]
    loss: LossName | None
    optimizer: SGD | Adam | None
    training: Training | None
