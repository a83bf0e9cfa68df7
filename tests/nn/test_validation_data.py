"""Validation in the training loop: each record's validation is that of the parameters at the
start of its epoch, the result's that of the returned network; early stopping's best network."""

import numpy as np
import pytest

from app.nn.losses import LOSSES
from app.nn.network import Parameters, accuracy, evaluate
from app.nn.optimizers import SGD, Adam
from app.nn.training import EpochRecord, Validation, train
from app.nn.types import Array
from tests.nn.test_training import T, X, _every_case, targets, xor_network

XV = np.array([[0.1, 0.9], [0.9, 0.1], [0.8, 0.9], [0.2, 0.1], [0.5, 0.4]])
LABELS = np.array([[1.0], [1.0], [0.0], [0.0], [1.0]])


def _measured(params: Parameters, loss: str, tv: Array) -> Validation:
    """The validation of ``params`` computed by the one-shot functions."""
    fwd, value = evaluate(params, XV, tv, LOSSES[loss])
    return Validation(value, accuracy(fwd, tv, LOSSES[loss]))


@pytest.mark.parametrize("watched", [False, True])
@pytest.mark.parametrize("batch_size", [None, 3])
@pytest.mark.parametrize("case", ["completes", "diverges"])
def test_records_validate_the_network_at_their_start(
    batch_size: int | None, case: str, watched: bool
) -> None:
    """Record e's validation is that of the network after e − 1 epochs (the previous record's
    network); the result's is that of the returned network; a sparse run's records are equal.
    So whether the validation is measured for records only or after every epoch (``watched``:
    a validation_loss_below that is never met)."""
    params, x, t, loss, lr = _every_case(case)
    lr = 1.0 if case == "diverges" and batch_size else lr
    tv = targets(loss, LABELS)
    target = -1.0 if watched else None

    def records(every: int) -> tuple[list[EpochRecord], Validation | None]:
        training = train(
            params, x, t, LOSSES[loss], SGD(lr), 40, batch_size=batch_size,
            validation=(XV, tv), every=every, validation_loss_below=target,
        )  # fmt: skip
        return list(training), training.result.validation

    every_one, final = records(1)
    starts = [params, *[record.network for record in every_one[:-1]]]
    for record, start in zip(every_one, starts, strict=True):
        assert record.validation == _measured(start, loss, tv)
    assert final == _measured(every_one[-1].network, loss, tv)
    sparse, same_final = records(3)
    by_epoch = {record.epoch: record.validation for record in every_one}
    assert [record.validation for record in sparse] == [by_epoch[r.epoch] for r in sparse]
    assert same_final == final


def test_without_validation_nothing_is_measured() -> None:
    """Records and the result hold no validation; the stopping rules on it need it."""
    training = train(xor_network(), X, T, LOSSES["half_squared_error"], SGD(0.1), 3)
    assert [record.validation for record in training] == [None] * 3
    assert training.result.validation is None
    assert training.result.best_epoch is None
    with pytest.raises(ValueError, match="need validation data"):
        train(xor_network(), X, T, LOSSES["half_squared_error"], SGD(0.1), 3, patience=2)


def test_a_diverged_run_keeps_its_last_network_and_says_which_was_best() -> None:
    """Divergence ends a run with patience as without it: the last finite network, its
    validation, and best_epoch for the best seen before."""
    params, x, t, loss, lr = _every_case("diverges")
    tv = targets(loss, LABELS)
    plain = train(params, x, t, LOSSES[loss], SGD(lr), 40, validation=(XV, tv))
    list(plain)
    patient = train(params, x, t, LOSSES[loss], SGD(lr), 40, validation=(XV, tv), patience=40)
    list(patient)
    result = patient.result
    assert result.status == plain.result.status == "diverged"
    np.testing.assert_array_equal(result.network.flat, plain.result.network.flat)
    assert result.validation == plain.result.validation
    assert result.best_epoch is not None
    assert 0 <= result.best_epoch <= result.epochs_run


def test_early_stopping_hands_over_copies_of_the_best() -> None:
    """The early-stopped result's network and state are copies taken when the best was seen:
    training on does not change them, and its optimizer state resumes that network."""
    loss = "cross_entropy"
    params, tv = xor_network(loss), targets(loss, LABELS)
    run = train(
        params, X, targets(loss, T), LOSSES[loss], Adam(0.5), 500, validation=(XV, tv), patience=5
    )
    records = list(run)
    result = run.result
    assert result.status == "early_stopped"
    assert result.epochs_run == records[-1].epoch == result.best_epoch + 5
    best = records[result.best_epoch - 1].network
    np.testing.assert_array_equal(result.network.flat, best.flat)
    assert result.optimizer_state.step == result.best_epoch
    assert result.validation == _measured(best, loss, tv)
    assert result.final_loss == records[result.best_epoch].loss
