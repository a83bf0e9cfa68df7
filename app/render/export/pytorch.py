"""The PyTorch script of an export: the network as ``torch.nn.Sequential`` in float64, the
API's loss as torch expressions, the same ``torch.optim`` optimizer, and /train's loop.

Layer k's ``nn.Linear`` is module 2k and its activation module 2k + 1 (``nn.Identity`` for
identity), so the parameters load from the ``json`` export's state_dict. The shuffled orders of
the epochs are drawn here as /train draws them and written into the script (``ORDERS``): torch
has no NumPy generator to draw them. With
validation data the loop is the NumPy script's, on the model: it measures, stops and returns the
best network as the engine does. Its forward pass keeps every layer's z, so that it stops on
divergence as the NumPy script does: torch.optim checks nothing, so Adam's state is checked
after each step as the engine checks it.
"""

from app.nn.activations import ACTIVATIONS
from app.nn.losses import LossName
from app.nn.optimizers import OPTIMIZERS, SGD, Adam
from app.nn.regularization import RegularizationName
from app.nn.training import shuffled
from app.render.export.shared import (
    NOT_FINITE,
    PRINT_NETWORK,
    SHOW,
    data_lines,
    header,
    main_loop,
    regularization_lines,
    state_dict,
    stop_lines,
)
from app.render.export.source import (
    INDENT,
    LINE_LENGTH,
    PythonValue,
    assign,
    dict_literal,
    join,
    literal,
)
from app.render.export.spec import Export, Layer, Tensors, Training

LOSSES: dict[LossName, tuple[str, str]] = {
    "half_squared_error": (
        "half_squared_error: ½·Σ(y − t)² per sample (the notebook's), then the mean over samples.",
        "0.5 * ((y - t) ** 2).sum(dim=1).mean()",
    ),
    "mean_squared_error": (
        "mean_squared_error: the mean over every output of every sample (nn.MSELoss).",
        "nn.functional.mse_loss(y, t)",
    ),
    "binary_cross_entropy": (
        "binary_cross_entropy: nn.BCELoss on σ(z), computed from the last z as the API does.",
        "nn.functional.binary_cross_entropy_with_logits(zs[-1], t)",
    ),
    "cross_entropy": (
        "cross_entropy: nn.CrossEntropyLoss on the last z, with probability target rows.",
        "nn.functional.cross_entropy(zs[-1], t)",
    ),
}
"""Each loss's docstring and torch expression, of a batch's forward pass (every layer's z in
``zs``, the outputs ``y``) and its targets ``t``."""


def optimizer_call(spec: SGD | Adam) -> str:
    """The torch.optim constructor with the request's settings."""
    kind = OPTIMIZERS[spec.name].torch_class
    if isinstance(spec, Adam):
        settings: dict[str, PythonValue] = {
            "lr": spec.learning_rate,
            "betas": (spec.beta1, spec.beta2),
            "eps": spec.eps,
            "weight_decay": spec.weight_decay,
            "amsgrad": spec.amsgrad,
        }
    else:
        settings = {
            "lr": spec.learning_rate,
            "momentum": spec.momentum,
            "dampening": spec.dampening,
            "nesterov": spec.nesterov,
            "weight_decay": spec.weight_decay,
        }
    arguments = [
        "model.parameters()",
        *(f"{key}={literal(value)}" for key, value in settings.items()),
    ]
    inline = ", ".join(arguments)
    if len(INDENT) + len(inline) <= LINE_LENGTH:
        return f"optimizer = torch.optim.{kind}(\n{INDENT}{inline}\n)"
    # As ruff formats a call that does not fit (a learning rate of 1e10 is 10000000000.0).
    lines = "".join(f"{INDENT}{argument},\n" for argument in arguments)
    return f"optimizer = torch.optim.{kind}(\n{lines})"


def _header(export: Export) -> str:
    """The docstring and imports."""
    if export.training is None:
        title = "Build a backprop-api network as torch.nn.Sequential (float64) and print it."
    else:
        title = "Train a backprop-api network with PyTorch exactly as POST /train does."
    return header(export, title, "torch", "import torch\nfrom torch import nn", uses_any=True)


def _model(layers: list[Layer]) -> list[str]:
    """The nn.Sequential in float64 with the request's parameters, loaded as a state_dict."""
    modules = []
    for layer in layers:
        modules += [
            f"    nn.Linear({len(layer.weights[0])}, {len(layer.weights)}),",
            f"    {ACTIVATIONS[layer.activation].torch_module},",
        ]
    activations = [layer.activation for layer in layers]
    return [
        "torch.set_default_dtype(torch.float64)",
        "",
        "# The network: layer k is nn.Linear at index 2k (z = W·x + b, W of shape (units, inputs))",
        "# and its activation at 2k + 1 (nn.Identity for identity); state_dict names 0.weight, ...",
        "model = nn.Sequential(",
        *modules,
        ")",
        'ACTIVATIONS = ["' + '", "'.join(activations) + '"]',
        "LINEARS = [module for module in model if isinstance(module, nn.Linear)]  # model[::2]",
        f"STATE_DICT = {dict_literal(state_dict(layers))}",
        "model.load_state_dict({name: torch.tensor(value) for name, value in STATE_DICT.items()})",
    ]


def _network_function() -> list[str]:
    """The function that writes the model's parameters in the API's network format."""
    return [
        "def network() -> dict[str, Any]:",
        '    """The model\'s parameters in the API\'s network format."""',
        "    layers = [",
        '        {"weights": linear.weight.tolist(), "bias": linear.bias.tolist(), '
        '"activation": name}',
        "        for linear, name in zip(LINEARS, ACTIVATIONS, strict=True)",
        "    ]",
        '    return {"layers": layers}',
    ]


def _loss(loss: LossName) -> list[str]:
    """The forward pass that keeps every z (to check them, and for the cross-entropies, which
    read the last z), and the loss as a function of it and the targets."""
    doc, expression = LOSSES[loss]
    lines = [
        "def loss_of(zs: list[torch.Tensor], y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:",
        f'    """{doc}"""',
        f"    return {expression}",
    ]
    return [FORWARD, "\n".join(lines)]


FORWARD = '''
def forward(x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """The forward pass of a batch x through the model's modules in turn: every layer's z (its
    nn.Linear's output) and the outputs y (the last activation's)."""
    zs, y = [], x
    for linear, activation in zip(LINEARS, list(model)[1::2], strict=True):
        zs.append(linear(y))
        y = activation(zs[-1])
    return zs, y
'''


def _buffer(tensors: list[Tensors] | None, layers: list[Layer]) -> dict[str, PythonValue]:
    """An optimizer buffer by state_dict name: as posted, or zeros where it was left out."""
    values: dict[str, PythonValue] = {}
    for index, layer in enumerate(layers):
        tensor = tensors[index] if tensors else None
        zeros = [[0.0] * len(row) for row in layer.weights]
        values[f"{2 * index}.weight"] = tensor.weights if tensor else zeros
        values[f"{2 * index}.bias"] = tensor.bias if tensor else [0.0] * len(layer.bias)
    return values


def _resume(training: Training, spec: SGD | Adam, layers: list[Layer]) -> list[str]:
    """Lines that load the posted optimizer state into torch's, as torch keeps it."""
    state = training.resumed
    if state is None or not spec.buffers:
        return []
    adam = isinstance(spec, Adam)
    if not adam and state.step == 0:  # torch's SGD starts its buffer from the first gradient
        return []
    buffers = {name: _buffer(state.buffers[name], layers) for name in spec.buffers}
    lines = [
        f"# Resume the optimizer where an earlier /train run stopped (optimizer_state, step "
        f"{state.step}).",
        f"STEP = {state.step}",
    ]
    for name, values in buffers.items():
        lines.append(f"{name.upper()} = {dict_literal(values)}")
    keys = [f'        "{name}": torch.tensor({name.upper()}[name]),' for name in buffers]
    step = ['        "step": torch.tensor(float(STEP)),'] if adam else []
    lines += [
        "for name, parameter in model.named_parameters():",
        "    optimizer.state[parameter] = {",
        *step,
        *keys,
        "    }",
    ]
    return lines


def orders(training: Training) -> list[list[int]]:
    """Each epoch's shuffled order of the samples, as /train draws them."""
    first = training.first_epoch
    return [
        shuffled(training.seed, first + epoch, training.samples).tolist()
        for epoch in range(training.epochs)
    ]


def _schedule(training: Training) -> list[str]:
    """The run's settings and the batches of each epoch, as two blocks."""
    settings = [
        f"EPOCHS = {training.epochs}",
        f"BATCH_SIZE = {training.batch_size}",
        assign("LOSS_BELOW", training.loss_below),
        *stop_lines(training),
        f"EVERY = {training.every}  # print epochs 1, 1 + EVERY, ... and the last one",
    ]
    if not training.shuffle:
        batches = [
            "def batches(epoch: int) -> list[slice]:",
            '    """The rows of each batch of an epoch: consecutive slices of the data."""',
            "    return [slice(i, i + BATCH_SIZE) for i in range(0, len(inputs), BATCH_SIZE)]",
        ]
        return ["\n".join(settings), "\n".join(batches)]
    settings += [
        "# Epoch k's order of the samples (k from 0), drawn by the API as /train draws it:",
        f"# numpy.random.default_rng([{training.seed}, {training.first_epoch} + k])"
        ".permutation(samples); torch has no such generator.",
        assign("ORDERS", orders(training)),
    ]
    if training.data_file is not None:
        settings += [
            "if len(inputs) != len(ORDERS[0]):",
            '    raise SystemExit(f"the orders are of {len(ORDERS[0])} samples, the data has '
            '{len(inputs)}")',
        ]
    batches = [
        "def batches(epoch: int) -> list[torch.Tensor]:",
        '    """The rows of each batch of an epoch: slices of its shuffled order."""',
        "    order = torch.tensor(ORDERS[epoch])",
        "    return [order[i : i + BATCH_SIZE] for i in range(0, len(order), BATCH_SIZE)]",
    ]
    return ["\n".join(settings), "\n".join(batches)]


TRAINING = '''

def finite(zs: list[torch.Tensor], loss: torch.Tensor) -> bool:
    """Whether every z and the loss are finite (a parameter that is not finite makes its z
    not finite, so this checks the parameters too)."""
    return bool(torch.isfinite(loss)) and all(bool(torch.isfinite(z).all()) for z in zs)


def train_epoch(epoch: int) -> float:
    """One epoch (from 0): an update per batch; the mean of the batch losses, each computed
    with the parameters before its batch's update. Raises NonFiniteError if a batch's z or loss
    is not finite (an update before it diverged){state_doc}."""
    losses = []
    for rows in batches(epoch):
        optimizer.zero_grad()
        zs, y = forward(inputs[rows])
        loss = loss_of(zs, y, targets[rows])
        if not finite(zs, loss):
            raise NonFiniteError
        {objective}.backward()
        optimizer.step(){state_check}
        losses.append(loss.item())
    return sum(losses) / len(losses)


def data_loss() -> float:
    """The loss of the model as it is now on all the data; raises NonFiniteError if a z or
    the loss is not finite."""
    with torch.no_grad():
        zs, y = forward(inputs)
        loss = loss_of(zs, y, targets)
    if not finite(zs, loss):
        raise NonFiniteError
    return loss.item()


def reached(loss: float) -> bool:
    """Whether the loss on all the data is at or below LOSS_BELOW (stop.loss_below)."""
    return LOSS_BELOW is not None and loss <= LOSS_BELOW


def snapshot() -> list[torch.Tensor]:
    """A copy of the model's parameters, to go back to."""
    return [parameter.detach().clone() for parameter in model.parameters()]


def restore(saved: list[torch.Tensor]) -> None:
    """Go back to the parameters of a snapshot (copied into the model's)."""
    with torch.no_grad():
        for parameter, value in zip(model.parameters(), saved, strict=True):
            parameter.copy_(value)


def run_epoch(epoch: int) -> tuple[float, float] | None:
    """Train one epoch (from 0): its loss and the loss on all the data after it, or None if its
    updates diverged, the parameters put back as they were before it (/train discards it)."""
    saved = snapshot()
    try:
        return train_epoch(epoch), data_loss()
    except NonFiniteError:
        restore(saved)
        return None
'''

STATE_CHECK = '''

def check_state() -> None:
    """Raise NonFiniteError if Adam's running mean of g² is not finite: g² can overflow while
    the update stays finite (it tends to 0), and /train stops there too."""
    for parameter in model.parameters():
        if not torch.isfinite(optimizer.state[parameter]["exp_avg_sq"]).all():
            raise NonFiniteError
'''
"""Adam's state check, which torch.optim does not make and /train does."""

VALIDATE = '''

def validate() -> dict[str, float | None]:
    """The model as it is now measured on the validation data, without gradients: a forward
    pass{what}. None where a z or the loss is not finite, as /train."""
    with torch.no_grad():
        zs, y = forward(validation_inputs)
        loss = loss_of(zs, y, validation_targets)
    if not finite(zs, loss):
        return {none}
    return {measured}
'''

ACCURACY: dict[LossName, str] = {
    "binary_cross_entropy": '''
def accuracy(z: torch.Tensor, t: torch.Tensor) -> float | None:
    """The share of outputs on the right side of 0.5 (σ(z) ≥ 0.5 exactly when z ≥ 0); None
    unless every target is 0 or 1, as /train's accuracy."""
    if not ((t == 0) | (t == 1)).all():
        return None
    return ((z >= 0) == (t == 1)).double().mean().item()
''',
    "cross_entropy": '''
def accuracy(z: torch.Tensor, t: torch.Tensor) -> float | None:
    """The share of samples whose largest z is at their target's 1; None unless every target
    row is one-hot, as /train's accuracy."""
    if not (((t == 0) | (t == 1)).all() and (t.sum(dim=1) == 1).all()):
        return None
    return (z.argmax(dim=1) == t.argmax(dim=1)).double().mean().item()
''',
}
"""The accuracy of each classification loss on the last layer's z, as the script defines it."""


def _validate(loss: LossName | None) -> list[str]:
    """The validation's measure: the loss, and the accuracy of a classification loss."""
    if loss is None or loss not in ACCURACY:
        none, measured = '{"validation_loss": None}', '{"validation_loss": loss.item()}'
        return [VALIDATE.format(what=" and its loss", none=none, measured=measured)]
    none = '{"validation_loss": None, "validation_accuracy": None}'
    measured = (
        '{\n        "validation_loss": loss.item(),\n'
        '        "validation_accuracy": accuracy(zs[-1], validation_targets),\n    }'
    )
    text = VALIDATE.format(what=", its loss and its accuracy", none=none, measured=measured)
    return [ACCURACY[loss], text]


PENALTY_TERMS: dict[RegularizationName, str] = {
    "l1": "linear.weight.abs().sum()",
    "l2": "0.5 * (linear.weight**2).sum()",
}
"""Each penalty's term summed over a layer's weights, as a torch expression of its ``linear``."""

PENALTY = '''

def penalty() -> torch.Tensor:
    """The penalty on the weights (not the biases), REGULARIZATION_RATE·Σ{term}: added to each
    batch's loss before backward(), so that autograd's gradients are of loss + penalty."""
    terms = [{expression} for linear in LINEARS]
    return REGULARIZATION_RATE * torch.stack(terms).sum()
'''


def _penalty(training: Training) -> list[str]:
    """The penalty's rate and function (none without regularization)."""
    rule = training.regularization
    if rule is None:
        return []
    function = PENALTY.format(term=rule.regularizer.term, expression=PENALTY_TERMS[rule.name])
    return ["\n".join(regularization_lines(training)), function]


def _training(export: Export, training: Training) -> list[str]:
    """The epoch and the loop that trains (and validates) as /train does; with Adam or AdamW,
    the check of its state after each step."""
    adam = isinstance(export.optimizer, Adam)
    state_doc = ", or Adam's state is not finite after a step" if adam else ""
    state_check = "\n        check_state()  # /train's check of Adam's state" if adam else ""
    objective = "loss" if training.regularization is None else "(loss + penalty())"
    functions = TRAINING.format(state_doc=state_doc, state_check=state_check, objective=objective)
    blocks = [NOT_FINITE, *_penalty(training), *functions.split("\n\n\n")]
    blocks += [STATE_CHECK] if adam else []
    blocks.append(SHOW)
    validated = training.validation is not None
    measure = _validate(export.loss) if validated else []
    return [*blocks, *measure, main_loop(validated, "model")]


def render(export: Export) -> str:
    """The PyTorch script of ``export``; a shuffled run holds each epoch's order of the samples."""
    training, spec = export.training, export.optimizer
    blocks = [_header(export), "\n".join(_model(export.layers))]
    if training is not None:
        names = ("inputs", "targets", "validation_inputs", "validation_targets")
        file_tensor = "torch.atleast_2d(torch.tensor({}, dtype=torch.float64))"
        blocks.append("\n".join(data_lines(training, names, "torch.tensor", file_tensor)))
    if export.loss is not None:
        blocks += _loss(export.loss)
    if spec is not None:
        blocks.append(optimizer_call(spec))
    if training is not None:
        resume = _resume(training, spec, export.layers) if spec is not None else []
        blocks += ["\n".join(resume), *_schedule(training)]
    blocks.append("\n".join(_network_function()))
    blocks += _training(export, training) if training is not None else [PRINT_NETWORK]
    return join([*blocks, 'if __name__ == "__main__":\n    main()'])
