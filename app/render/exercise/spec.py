"""The plain data an exercise's sheet and notebook are written from (built from /exercises'
answer as JSON, by the CLI and by /export, so that no renderer reads a request or response
model)."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Layer:
    """One layer as given: ``W`` (units × inputs), ``b`` and its activation's name."""

    weights: list[list[float]]
    bias: list[float]
    activation: str


@dataclass(frozen=True)
class Value:
    """A value to compute: its path in /check's ``claimed``, its step and its shape."""

    path: str
    step: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Exercise:
    """One student's exercise. ``student`` and ``course`` are any text: the renderers escape
    them; every other string is one of the API's fixed names."""

    student: str
    course: str
    seed: int
    layers: tuple[Layer, ...]
    inputs: list[list[float]]
    """One row per sample."""
    targets: list[list[float]]
    loss: str
    learning_rate: float
    momentum: float
    momentum_buffer: tuple[Layer, ...] | None
    """The previous step's momentum buffer, per layer (its ``activation`` unused)."""
    values: tuple[Value, ...]

    @property
    def batch(self) -> bool:
        """Whether the exercise has more than one sample (values then have one row each)."""
        return len(self.inputs) > 1

    def check_request(self) -> dict[str, object]:
        """The fields of /check's body but ``claimed``, as plain JSON values: a plain step's
        learning rate, or with momentum the optimizer and the earlier velocity as /train takes
        them."""
        inputs: object = self.inputs if self.batch else self.inputs[0]
        targets: object = self.targets if self.batch else self.targets[0]
        step: dict[str, object] = {"learning_rate": self.learning_rate}
        if self.momentum_buffer is not None:
            buffer = [
                {"weights": layer.weights, "bias": layer.bias} for layer in self.momentum_buffer
            ]
            step = {
                "optimizer": {
                    "type": "sgd",
                    "learning_rate": self.learning_rate,
                    "momentum": self.momentum,
                },
                "optimizer_state": {"type": "sgd", "step": 1, "momentum_buffer": buffer},
            }
        return {
            "network": {
                "layers": [
                    {"weights": layer.weights, "bias": layer.bias, "activation": layer.activation}
                    for layer in self.layers
                ]
            },
            "inputs": inputs,
            "targets": targets,
            "loss": self.loss,
        } | step


def _layers(tensors: list[Any], activations: list[str]) -> tuple[Layer, ...]:
    """Layers (or a momentum buffer's per-layer tensors) as JSON, with their activations."""
    return tuple(
        Layer(t["weights"], t["bias"], activation)
        for t, activation in zip(tensors, activations, strict=True)
    )


def from_answer(student: str, course: str, answer: dict[str, Any]) -> Exercise:
    """The renderers' plain data from /exercises' answer as JSON (the CLI's sheets and
    notebooks, and /export's exercise notebook, are written from it)."""
    activations = [layer["activation"] for layer in answer["network"]["layers"]]
    state = answer.get("optimizer_state") or {}
    buffer = state.get("momentum_buffer")
    inputs, targets = answer["inputs"], answer["targets"]
    batch = isinstance(inputs[0], list)
    return Exercise(
        student=student,
        course=course,
        seed=answer["seed"],
        layers=_layers(answer["network"]["layers"], activations),
        inputs=inputs if batch else [inputs],
        targets=targets if batch else [targets],
        loss=answer["loss"],
        learning_rate=answer["optimizer"]["learning_rate"],
        momentum=answer["optimizer"]["momentum"],
        momentum_buffer=None if buffer is None else _layers(buffer, activations),
        values=tuple(
            Value(item["path"], item["step"], tuple(item["shape"])) for item in answer["compute"]
        ),
    )
