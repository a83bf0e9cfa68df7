"""An exercise's sheet: Markdown with the numbers in tables and the formulas in LaTeX between
``$`` (KaTeX-compatible), ready to print or convert, with a blank box for each value to compute.

Layers are numbered from 1 as on a blackboard: ``W^{(1)}`` is ``layers[0].weights``. The only
free text, the student's name and the course, goes through :func:`escape`.
"""

import html
import re

from app.render.exercise.spec import Exercise, Layer, Value

ACTIVATIONS = {
    "identity": r"f(z) = z",
    "relu": r"\mathrm{relu}(z) = \max(0, z),\ \mathrm{relu}'(z) = [z > 0]",
    "leaky_relu": r"f(z) = z \text{ for } z > 0,\ 0.01\,z \text{ otherwise}",
    "sigmoid": r"\sigma(z) = \frac{1}{1 + e^{-z}},\ \sigma'(z) = \sigma(z)\,(1 - \sigma(z))",
    "tanh": r"\tanh(z) = \frac{e^{z} - e^{-z}}{e^{z} + e^{-z}},\ \tanh'(z) = 1 - \tanh^2(z)",
    "softmax": r"\mathrm{softmax}(z)_k = \frac{e^{z_k}}{\sum_j e^{z_j}}",
}
"""Each activation's formula (and derivative) in LaTeX."""
LOSSES = {
    "half_squared_error": r"L = \frac{1}{N}\sum_{n} \tfrac12 \sum_k (y_k - t_k)^2",
    "mean_squared_error": r"L = \frac{1}{N K}\sum_{n}\sum_k (y_k - t_k)^2",
    "binary_cross_entropy": r"L = -\frac{1}{N K}\sum_{n}\sum_k \big(t_k \log y_k + (1 - t_k)"
    r" \log(1 - y_k)\big)",
    "cross_entropy": r"L = -\frac{1}{N}\sum_{n}\sum_k t_k \log y_k",
}
"""Each loss over N samples of K outputs, in LaTeX."""
NAMES = {
    "identity": "identity",
    "relu": "ReLU",
    "leaky_relu": "leaky ReLU",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "softmax": "softmax",
    "half_squared_error": "half squared error",
    "mean_squared_error": "mean squared error",
    "binary_cross_entropy": "binary cross-entropy",
    "cross_entropy": "cross-entropy",
}
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|$~])")


def escape(text: str) -> str:
    """Any text as literal Markdown on one line: every Markdown and LaTeX sign backslashed, then
    ``&``, ``<`` and ``>`` as HTML entities (no tag, no ``</script>``), line breaks as spaces."""
    one_line = " ".join(text.split())
    return html.escape(MARKDOWN_SPECIAL.sub(r"\\\1", one_line), quote=False)


def number(value: float) -> str:
    """A given number as it was drawn: ``0.5``, ``-1.2``, ``2`` (no float noise to show)."""
    return f"{value:.12g}"


def symbol(path: str) -> str:
    """A /check path's symbol in LaTeX: ``gradients[0].weights`` is ``\\partial L/\\partial
    W^{(1)}``."""
    match = re.fullmatch(r"(?:network\.)?(\w+)(?:\[(\d+)\])?(?:\.(\w+))?", path)
    if match is None:
        return path
    kind, index, part = match.groups()
    layer = f"^{{({int(index) + 1})}}" if index is not None else ""
    letter = {"weights": "W", "bias": "b", "z": "z", "a": "a"}.get(part or "", "")
    if kind == "outputs":
        return "y"
    if kind == "loss":
        return "L"
    if kind == "gradients":
        return rf"\partial L / \partial {letter}{layer}"
    if path.startswith("network."):
        return rf"{letter}'{layer}"
    return f"{letter}{layer}"


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _matrix(rows: list[list[float]], names: list[str], labels: list[str]) -> list[str]:
    lines = [_row(["", *names]), _row(["---"] * (len(names) + 1))]
    lines += [_row([label, *map(number, row)]) for label, row in zip(labels, rows, strict=True)]
    return lines


def _layer(index: int, layer: Layer) -> list[str]:
    units, inputs = len(layer.weights), len(layer.weights[0])
    source = "x" if index == 0 else f"a^{{({index})}}"
    names = [f"${source}_{{{i + 1}}}$" for i in range(inputs)] + [f"$b^{{({index + 1})}}$"]
    labels = [f"unit {u + 1}" for u in range(units)]
    rows = [[*w, b] for w, b in zip(layer.weights, layer.bias, strict=True)]
    title = (
        f"**Layer {index + 1}**: {_count(inputs, 'input')}, {_count(units, 'unit')}, "
        f"{NAMES[layer.activation]} "
        f"(${ACTIVATIONS[layer.activation]}$). $z^{{({index + 1})}} = W^{{({index + 1})}}\\,"
        f"{source} + b^{{({index + 1})}}$, $a^{{({index + 1})}} = f(z^{{({index + 1})}})$; "
        f"the weights $W^{{({index + 1})}}$ (one row per unit) and the bias:"
    )
    return [title, "", *_matrix(rows, names, labels), ""]


def _blank(value: Value, exercise: Exercise) -> list[str]:
    shape = value.shape or (1,)
    rows, columns = (1, shape[0]) if len(shape) == 1 else shape
    per_sample = value.path.startswith(("layers", "outputs")) and exercise.batch
    labels = [
        f"sample {r + 1}" if per_sample else (f"row {r + 1}" if rows > 1 else "")
        for r in range(rows)
    ]
    lines = [_row(["", *(f"{c + 1}" for c in range(columns))]), _row(["---"] * (columns + 1))]
    lines += [_row([label, *(["&nbsp;" * 12] * columns)]) for label in labels]
    return [f"**${symbol(value.path)}$** (`{value.path}`)", "", *lines, ""]


def given(exercise: Exercise) -> str:
    """The task and the given numbers: the network, the data, the loss and the step."""
    samples = len(exercise.inputs)
    lines = [
        "## The task",
        "",
        f"Compute by hand one training step of the network below on {_count(samples, 'sample')}"
        ": the values listed under *Your values*, in order. "
        "Keep 4 significant figures.",
        "",
        "## The network",
        "",
    ]
    for index, layer in enumerate(exercise.layers):
        lines += _layer(index, layer)
    features = [f"$x_{{{i + 1}}}$" for i in range(len(exercise.inputs[0]))]
    outputs = [f"$t_{{{k + 1}}}$" for k in range(len(exercise.targets[0]))]
    labels = [f"sample {n + 1}" for n in range(samples)]
    lines += ["## The data", "", *_matrix(exercise.inputs, features, labels), ""]
    lines += [*_matrix(exercise.targets, outputs, labels), ""]
    lines += [
        "## The loss and the step",
        "",
        f"{NAMES[exercise.loss].capitalize()}: ${LOSSES[exercise.loss]}$.",
        "",
    ]
    if exercise.momentum_buffer is None:
        lines += [
            f"One SGD step with learning rate $\\eta = {number(exercise.learning_rate)}$: "
            r"$w' = w - \eta\,\partial L/\partial w$.",
            "",
        ]
    else:
        lines += [
            f"One step of SGD with momentum $\\mu = {number(exercise.momentum)}$ and learning "
            f"rate $\\eta = {number(exercise.learning_rate)}$, after an earlier step: "
            r"$v' = \mu\,v + \partial L/\partial w$, $w' = w - \eta\,v'$, where $v$ is the "
            "momentum buffer of the earlier step:",
            "",
        ]
        for index, layer in enumerate(exercise.momentum_buffer):
            inputs = len(layer.weights[0])
            names = [f"$v_{{W,{i + 1}}}$" for i in range(inputs)] + ["$v_b$"]
            labels = [f"layer {index + 1}, unit {u + 1}" for u in range(len(layer.weights))]
            rows = [[*w, b] for w, b in zip(layer.weights, layer.bias, strict=True)]
            lines += [*_matrix(rows, names, labels), ""]
    return "\n".join(lines)


def header(exercise: Exercise) -> str:
    """The sheet's title: whose exercise, for which course, its seed."""
    lines = ["# Backprop by hand", ""]
    if exercise.student:
        lines.append(f"**Student**: {escape(exercise.student)}  ")
    if exercise.course:
        lines.append(f"**Course**: {escape(exercise.course)}  ")
    lines += [f"**Exercise**: seed {exercise.seed}", ""]
    return "\n".join(lines)


def sheet(exercise: Exercise) -> str:
    """The whole sheet: the header, the task and the given numbers, then a blank box per value."""
    boxes = ["## Your values", ""]
    for value in exercise.values:
        boxes += _blank(value, exercise)
    return "\n".join([header(exercise), given(exercise), "\n".join(boxes)])
