"""The two scripts' tables (app.render.export.numpy, app.render.export.pytorch) and the shuffled
orders the PyTorch script embeds."""

from app.nn.losses import LOSSES
from app.nn.optimizers import SGD
from app.nn.training import shuffled
from app.render.export import numpy, pytorch
from app.render.export.spec import Data, Export, Layer, Resumed, Training


def test_scripts_measure_accuracy_for_the_engine_s_classification_losses() -> None:
    """Both scripts define an accuracy for exactly the losses the engine has one for."""
    classifying = {name for name, loss in LOSSES.items() if loss.accuracy is not None}
    assert set(numpy.ACCURACY) == set(pytorch.ACCURACY) == classifying


def _training(shuffle: bool, resumed: Resumed | None = None) -> Training:
    rows = [[float(i)] for i in range(7)]
    return Training(
        data=Data(rows, rows),
        validation=None,
        data_file=None,
        epochs=4,
        batch_size=3,
        shuffle=shuffle,
        seed=11,
        resumed=resumed,
        loss_below=None,
        validation_loss_below=None,
        patience=None,
        every=1,
    )


def test_pytorch_orders_are_train_s() -> None:
    """Epoch k's order is /train's, counted on from a resumed run's epochs."""
    resumed = Resumed(step=8, epoch=5, buffers={"momentum_buffer": None})
    for training, first in ((_training(True), 0), (_training(True, resumed), 5)):
        expected = [shuffled(11, first + epoch, 7).tolist() for epoch in range(4)]
        assert pytorch.orders(training) == expected


def test_only_a_shuffled_pytorch_script_embeds_orders() -> None:
    layers = [Layer([[0.5]], [0.0], "identity")]
    for shuffle in (False, True):
        export = Export("train_torch.py", layers, "half_squared_error", SGD(), _training(shuffle))
        assert ("ORDERS = " in pytorch.render(export)) == shuffle
        assert f"SHUFFLE = {shuffle}" in numpy.render(export)
