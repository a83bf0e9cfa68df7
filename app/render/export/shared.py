"""The parts both exported scripts share: the docstring and imports, the data (embedded or read
from a file), the stopping rules, the PyTorch state_dict names, the exception that ends a run
that diverged, the function that prints a line and the stop-and-print main loop.

Generated code holds only numbers (validated floats and ints in their shortest form that reads
back as the same value) and names from fixed tables (activations, losses, optimizers, buffers):
never a string of a request.
"""

import re
from string import Template

from app.render.export.source import PythonValue, assign, call
from app.render.export.spec import Export, Layer, Training

FILE_KEYS = ("inputs", "targets", "validation")
"""The keys of the data file a script reads: a /train body's (``validation`` only when the run
has validation data)."""
INPUTS, TARGETS = 'data["inputs"]', 'data["targets"]'
VALIDATION_INPUTS, VALIDATION_TARGETS = 'held_out["inputs"]', 'held_out["targets"]'
ANNOTATION = re.compile(r"(?::| ->) (?:[\w.]+(?:\[[\w .,|\[\]]*\])?(?: \| )?)+(?=[,)=]|:$)")
"""An annotation of a parameter (``: dict[str, Any]``) or of what a function returns
(`` -> None``) in a ``def`` line."""
VARIABLE_ANNOTATION = re.compile(r"^( *\w+): [^=]+(?= = )")
"""The annotation of a variable in an assignment (``best: dict[str, Any] = ...``)."""


PRINTS = """Prints one JSON line per recorded epoch, {"epoch": e, "loss": ...} (the mean of the
epoch's batch losses, each computed before its batch's update), then how the run ended,
{"status": ..., "epochs_run": ..., "final_loss": ...} as in /train's answer, then the network
as one JSON line in the API's network format. A number that is not finite is printed as null.
Like /train it stops at the first epoch whose updates make the network not finite (a z or the
loss on the data, or the optimizer's state, overflows or is NaN), goes back to the network
before that epoch, prints that epoch's line if it was not printed, and ends with status
diverged and diverged_at_epoch."""
VALIDATES = """With validation data each epoch line also holds validation_loss (and
validation_accuracy for the classification losses) of the parameters at the epoch's start,
null if not finite, and the end line final_validation_loss (and final_validation_accuracy), and
best_epoch with patience: the network printed is the best one when the run early_stopped."""
NETWORK_ONLY = "Prints the network as one JSON line in the API's network format."


def prints(training: Training | None) -> str:
    """What the script prints, for its docstring."""
    if training is None:
        return NETWORK_ONLY
    return PRINTS if training.validation is None else f"{PRINTS}\n{VALIDATES}"


def header(export: Export, title: str, needs: str, imports: str, uses_any: bool) -> str:
    """The script's docstring (``title``, then how to run it and what it prints) and its
    imports: json, math when it trains (to print a number that is not finite as null), sys and
    pathlib when it reads a data file, typing's Any if ``uses_any`` (an annotation names it),
    then ``imports``."""
    training = export.training
    reads_file = training is not None and training.data_file is not None
    run = f"Exported by backprop-api (POST /export). Needs {needs} only: python "
    lines = [
        f'"""{title}',
        "",
        run + export.filename,
        prints(training),
        '"""',
        "",
        "import json",
        *(["import math"] if training is not None else []),
        *(["import sys", "from pathlib import Path"] if reads_file else []),
        *(["from typing import Any"] if uses_any else []),
        "",
        imports,
    ]
    return "\n".join(lines)


def state_dict(layers: list[Layer]) -> dict[str, PythonValue]:
    """The network's parameters by PyTorch state_dict name: layer k's Linear is module 2k of the
    nn.Sequential and its activation module 2k + 1 (nn.Identity for identity)."""
    names: dict[str, PythonValue] = {}
    for index, layer in enumerate(layers):
        names[f"{2 * index}.weight"] = layer.weights
        names[f"{2 * index}.bias"] = layer.bias
    return names


def data_lines(
    training: Training, names: tuple[str, str, str, str], array: str, from_file: str
) -> list[str]:
    """The lines that define the inputs and targets, then the validation inputs and targets if
    any (``names``, rows, one per sample): embedded numbers given to ``array``, or the data
    file's lists put into ``from_file`` (a format string that makes a 2-D float64 array of
    ``{}``)."""
    x, t, x_val, t_val = names
    data, validation, data_file = training.data, training.validation, training.data_file
    if data_file is None:
        lines = [
            "# The data: one row per sample.",
            f"{x} = {call(array, data.inputs, 0, len(x) + 3)}",
            f"{t} = {call(array, data.targets, 0, len(t) + 3)}",
        ]
        if validation is not None:
            lines += [
                "# The validation data: the network is measured on it, never trained on it.",
                f"{x_val} = {call(array, validation.inputs, 0, len(x_val) + 3)}",
                f"{t_val} = {call(array, validation.targets, 0, len(t_val) + 3)}",
            ]
        return lines
    keys = ", ".join(f'"{key}"' for key in FILE_KEYS[: 3 if validation else 2])
    lines = [
        f"# The data: {keys} as in a /train body, from {data_file} next to this",
        "# script or from the file named as its first argument; one row per sample.",
        f"DATA_FILE = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("
        f'"{data_file}")',
        "data = json.loads(DATA_FILE.read_text())",
        f"{x} = {from_file.format(INPUTS)}",
        f"{t} = {from_file.format(TARGETS)}",
    ]
    if validation is not None:
        lines += [
            'held_out = data["validation"]  # the validation data',
            f"{x_val} = {from_file.format(VALIDATION_INPUTS)}",
            f"{t_val} = {from_file.format(VALIDATION_TARGETS)}",
        ]
    return lines


NOT_FINITE = '''

class NonFiniteError(Exception):
    """A z or the loss (or the optimizer's state) is not finite, float64 overflow or NaN: the
    updates of the epoch under way diverged, and the run stops there as /train does."""
'''
"""The exception that ends a run that diverged, in both scripts."""

SHOW = '''

def show(line: dict[str, Any]) -> None:
    """Print a line of JSON, a number that is not finite as null as /train writes it (JSON has
    no NaN or Infinity)."""
    values = {
        key: None if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in line.items()
    }
    print(json.dumps(values))
'''
"""The function both scripts print their epoch and end lines with."""

MAIN_LOOP = '''
%% validated
def validation_reached(validation: dict[str, float | None]) -> bool:
    """Whether the validation loss is at or below VALIDATION_LOSS_BELOW."""
    loss = validation["validation_loss"]
    return VALIDATION_LOSS_BELOW is not None and loss is not None and loss <= VALIDATION_LOSS_BELOW


def improves(validation: dict[str, float | None], best: dict[str, Any]) -> bool:
    """Whether a validation is an improvement on the best one: its loss is finite and strictly
    lower (a tie is not an improvement)."""
    loss, lowest = validation["validation_loss"], best["validation"]["validation_loss"]
    return loss is not None and (lowest is None or loss < lowest)


%% both
def main() -> None:
    """Train as /train does, printing each recorded epoch, how the run ended and the network."""
%% plain
    loss = data_loss()  # of the $noun as sent
    status, epoch, printed = "target_reached" if reached(loss) else None, 0, True
%% validated
    loss, validation = data_loss(), validate()  # the $noun as sent, at the start of epoch 1
    # Early stopping's bookkeeping: the $noun with the lowest validation loss so far (a copy of
    # its parameters), its validation and after how many epochs it was seen (0: as sent).
    best: dict[str, Any] = {"epoch": 0, "validation": validation, "parameters": snapshot()}
    status, epoch, printed = None, 0, True
    if reached(loss) or validation_reached(validation):
        status = "target_reached"
%% both
    while status is None:
        ran = run_epoch(epoch)
        if ran is None:
            status = "diverged"
            break
        epoch_loss, loss = ran
        epoch += 1
%% plain
        line = {"epoch": epoch, "loss": epoch_loss}
        if reached(loss):
            status = "target_reached"
        elif epoch == EPOCHS:
            status = "completed"
%% validated
        # The epoch's line holds the validation of the parameters at its start, like its loss.
        line = {"epoch": epoch, "loss": epoch_loss, **validation}
        validation = validate()  # the $noun after this epoch: the start of the next one
        if reached(loss) or validation_reached(validation):
            status = "target_reached"  # a target met wins over patience running out
        else:
            if improves(validation, best):
                best = {"epoch": epoch, "validation": validation, "parameters": snapshot()}
            if PATIENCE is not None and epoch - best["epoch"] >= PATIENCE:
                status = "early_stopped"  # also when patience runs out at the last epoch
            elif epoch == EPOCHS:
                status = "completed"
%% both
        printed = (epoch - 1) % EVERY == 0 or status is not None
        if printed:
            show(line)
    if not printed:  # diverged: /train's trace ends with the last finite epoch
        show(line)
%% validated
    if status == "early_stopped":  # the run returns the best $noun, not the last one
        validation = best["validation"]
        restore(best["parameters"])
        loss = data_loss()
%% both
    summary = {"status": status, "epochs_run": epoch, "final_loss": loss}
%% validated
    summary |= {f"final_{name}": value for name, value in validation.items()}
    if PATIENCE is not None:
        summary["best_epoch"] = best["epoch"]  # diverged, the $noun is the last finite one
%% both
    if status == "diverged":
        summary["diverged_at_epoch"] = epoch + 1
    show(summary)
    print(json.dumps(network()))
'''
"""The stop-and-print loop of both scripts, with and without validation data: ``main`` trains
as /train does and prints each recorded epoch, how the run ended and the network. A line
``%% plain`` or ``%% validated`` starts lines of that loop only, ``%% both`` lines of both;
``$noun`` names what the script trains (the network, the model). Written with the PyTorch
script's annotations, which :func:`untyped` takes out for the NumPy script."""

PRINT_NETWORK = '''

def main() -> None:
    """Print the network."""
    print(json.dumps(network()))
'''
"""The ``main`` of a script that builds the network and does not train it."""


def main_loop(validated: bool, noun: str) -> str:
    """The stop-and-print loop (see :data:`MAIN_LOOP`) with validation data or without, the
    script training ``noun``."""
    wanted, keep, lines = "validated" if validated else "plain", True, []
    for line in MAIN_LOOP.split("\n"):
        if line.startswith("%% "):
            keep = line[3:] in ("both", wanted)
        elif keep:
            lines.append(line)
    return Template("\n".join(lines)).substitute(noun=noun)


def untyped(source: str) -> str:
    """``source`` without the annotations of its functions (their parameters' and what they
    return) and of its variables, as the NumPy script writes them."""
    lines = [ANNOTATION.sub("", x) if x.startswith("def ") else x for x in source.split("\n")]
    return "\n".join(VARIABLE_ANNOTATION.sub(r"\1", x) for x in lines)


def regularization_lines(training: Training) -> list[str]:
    """The penalty's rate as a constant, with a comment saying what it penalizes (none without
    regularization)."""
    rule = training.regularization
    if rule is None:
        return []
    term = rule.regularizer.term
    return [
        f"# {rule.name.upper()} regularization (TensorFlow Playground's): the penalty "
        f"REGULARIZATION_RATE·Σ{term} over",
        "# every layer's weights, not the biases; each update descends loss + penalty.",
        assign("REGULARIZATION_RATE", rule.rate),
    ]


def stop_lines(training: Training) -> list[str]:
    """The stopping rules on the validation loss as constants, with validation data only."""
    if training.validation is None:
        return []
    patience = f"PATIENCE = {training.patience}"
    return [
        assign("VALIDATION_LOSS_BELOW", training.validation_loss_below),
        f"{patience}  # early stopping: epochs in a row with no lower validation loss",
    ]
