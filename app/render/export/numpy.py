"""The NumPy script of an export: forward pass, loss, backward pass and update written out by
hand in the notebook's style, holding only the activations, loss and optimizer rules it uses.

It computes what the engine computes, in the same order of operations where that order matters
to the last bit (the losses, the optimizer rules), and draws shuffled orders with NumPy's
``default_rng([seed, epoch])`` as /train does. With validation data its loop measures the
network on it before the first epoch and after each one (a forward pass and the loss, and the
accuracy of a classification loss), stops on stop.validation_loss_below and stop.patience as
the engine does, and keeps a copy of the best network to return when it stops early. Like the
engine it stops at the first epoch whose updates make the network not finite (a batch's z or
loss, every z or the loss on all the data after the epoch, or Adam's running mean of g²), goes
back to the parameters before that epoch and ends as diverged.
"""

from app.nn import activations, losses
from app.nn.activations import LEAKY_RELU_SLOPE, ActivationName
from app.nn.losses import LossName
from app.nn.optimizers import OPTIMIZERS, SGD, Adam
from app.nn.regularization import RegularizationName
from app.render.export.shared import (
    NOT_FINITE,
    PRINT_NETWORK,
    SHOW,
    data_lines,
    header,
    main_loop,
    regularization_lines,
    stop_lines,
    untyped,
)
from app.render.export.source import PythonValue, assign, call, join, number
from app.render.export.spec import Export, Training

ACTIVATIONS: dict[ActivationName, str] = {
    "identity": '''
def identity(z):
    """identity: a = z."""
    return z


def identity_backward(z, a, da):
    """dL/dz = dL/da: the identity's derivative is 1."""
    return da
''',
    "relu": '''
def relu(z):
    """relu: a = max(0, z)."""
    return np.maximum(z, 0.0)


def relu_backward(z, a, da):
    """dL/dz = dL/da · relu'(z): 1 where z > 0, else 0 (0 at z = 0 too, as the notebook's Z > 0)."""
    return da * (z > 0)
''',
    "leaky_relu": f'''
def leaky_relu(z):
    """leaky_relu: a = z where z > 0, else {LEAKY_RELU_SLOPE}·z."""
    return np.where(z > 0, z, {LEAKY_RELU_SLOPE} * z)


def leaky_relu_backward(z, a, da):
    """dL/dz = dL/da · leaky_relu'(z): 1 where z > 0, else {LEAKY_RELU_SLOPE}."""
    return np.where(z > 0, da, {LEAKY_RELU_SLOPE} * da)
''',
    "sigmoid": f'''
def sigmoid(z):
    """sigmoid: a = 1 / (1 + exp(−z)), written with exp(−|z|) so that it never overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_backward(z, a, da):
    """dL/dz = dL/da · σ'(z), and {activations.ACTIVATIONS["sigmoid"].derivative}."""
    return da * a * (1.0 - a)
''',
    "tanh": f'''
def tanh(z):
    """tanh: a = tanh(z)."""
    return np.tanh(z)


def tanh_backward(z, a, da):
    """dL/dz = dL/da · tanh'(z), and {activations.ACTIVATIONS["tanh"].derivative}."""
    return da * (1.0 - a * a)
''',
    "softmax": '''
def softmax(z):
    """softmax of each row (sample): exp(z) / Σ exp(z), shifted by the row's maximum so that exp
    cannot overflow."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_backward(z, a, da):
    """dL/dz_i = a_i · (dL/da_i − Σ_j dL/da_j · a_j), the softmax's Jacobian applied to dL/da."""
    return a * (da - np.sum(da * a, axis=1, keepdims=True))
''',
}
"""Each activation and its backward step, as the script defines them."""

LOSSES: dict[LossName, str] = {
    "half_squared_error": '''
def compute_loss(Z, A, T):
    """half_squared_error, the notebook's loss: ½·Σ(y − t)² per sample, then the mean over the
    n samples. Returns the loss and dL/dy = (y − t) / n."""
    n = len(T)
    d = A[-1] - T
    loss = 0.5 * float(d.reshape(-1) @ d.reshape(-1)) / n
    return loss, d / n
''',
    "mean_squared_error": '''
def compute_loss(Z, A, T):
    """mean_squared_error (PyTorch's MSELoss): the mean of (y − t)² over every output of every
    sample. Returns the loss and dL/dy = 2·(y − t) / size."""
    d = A[-1] - T
    loss = float(d.reshape(-1) @ d.reshape(-1)) / d.size
    return loss, d * (2.0 / d.size)
''',
    "binary_cross_entropy": '''
def compute_loss(Z, A, T):
    """binary_cross_entropy (PyTorch's BCELoss on σ(z)), from the last z so that no log(0) can
    occur: max(z, 0) − z·t + log(1 + exp(−|z|)) per output, the mean over every output of every
    sample. Returns the loss and dL/dz = (σ(z) − t) / size (the sigmoid's step is included)."""
    z = Z[-1]
    per_output = np.maximum(z, 0.0) - z * T + np.log1p(np.exp(-np.abs(z)))
    return float(per_output.sum()) / z.size, (sigmoid(z) - T) / z.size
''',
    "cross_entropy": '''
def compute_loss(Z, A, T):
    """cross_entropy (PyTorch's CrossEntropyLoss on the last z): −Σ t·log softmax(z) per sample,
    the mean over the n samples. Returns the loss and dL/dz = (softmax(z)·Σt − t) / n (the
    softmax's step is included; Σt = 1 for one-hot or probability rows)."""
    z, n = Z[-1], len(T)
    shifted = z - z.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dz = (softmax(z) * T.sum(axis=1, keepdims=True) - T) / n
    return float(-np.sum(T * log_softmax)) / n, dz
''',
}
"""Each loss as the script defines it: the value and the gradient the backward pass starts from."""

NETWORK = '''

def network():
    """The parameters in the API's network format."""
    layers = [
        {"weights": w.tolist(), "bias": b.tolist(), "activation": name}
        for w, b, name in zip(W, B, ACTIVATIONS, strict=True)
    ]
    return {"layers": layers}
'''
"""The function that writes the parameters in the API's network format."""

FORWARD = '''
def forward(X):
    """The forward pass of a batch X (one row per sample): each layer's z = W·a + b, for all
    rows at once as np.dot(a, Wᵀ) + b, and its a = f(z). Returns every z and every a (A[0] = X)."""
    Z, A = [], [X]
    for W_k, b_k, name in zip(W, B, ACTIVATIONS, strict=True):
        z = np.dot(A[-1], W_k.T) + b_k
        Z.append(z)
        A.append(FUNCTIONS[name][0](z))
    return Z, A
'''

BACKWARD = '''
def backward(Z, A, delta):
    """The backward pass: from the loss's gradient at the last layer (dL/da, or dL/dz for the
    cross-entropies), each layer's δ = dL/dz, then dL/dW = δᵀ·a_prev and dL/db = Σ δ over the
    samples, and dL/da_prev = δ·W for the layer before. Returns the gradients of W and B."""
    grad_W, grad_B = [None] * len(W), [None] * len(W)
    for k in reversed(range(len(W))):
        if k < len(W) - 1 or not LOSS_FROM_Z:
            delta = FUNCTIONS[ACTIVATIONS[k]][1](Z[k], A[k + 1], delta)
        grad_W[k] = np.dot(delta.T, A[k])
        grad_B[k] = delta.sum(axis=0)
        delta = np.dot(delta, W[k])
    return grad_W, grad_B
'''


def _sgd_update(spec: SGD) -> str:
    """SGD's rule, with the lines of the settings in use only."""
    lines = [
        "def update(grads):",
        '    """One torch.optim.SGD step on every parameter array (W and B, updated in place)."""',
    ]
    if spec.momentum:
        lines.append("    for i, (w, g) in enumerate(zip(PARAMETERS, grads, strict=True)):")
    else:
        lines.append("    for w, g in zip(PARAMETERS, grads, strict=True):")
    if spec.weight_decay:
        lines.append("        g = g + WEIGHT_DECAY * w  # L2 penalty added to the gradient")
    if spec.momentum:
        lines += [
            '        buffer = STATE["momentum_buffer"]',
            '        if STATE["step"] == 0:  # the first step starts the buffer at the gradient',
            "            buffer[i] = g.copy()",
            "        else:",
            "            buffer[i] = MOMENTUM * buffer[i] + (1.0 - DAMPENING) * g",
        ]
        if spec.nesterov:
            lines.append("        g = g + MOMENTUM * buffer[i]  # Nesterov: look one step ahead")
        else:
            lines.append("        g = buffer[i]")
    lines += ["        w -= LEARNING_RATE * g", '    STATE["step"] += 1']
    return "\n".join(lines)


def _adam_update(spec: Adam) -> str:
    """Adam's or AdamW's rule, with the lines of the settings in use only."""
    name = OPTIMIZERS[spec.name].torch_class
    lines = [
        "def update(grads):",
        f'    """One torch.optim.{name} step on every parameter array (W and B, updated in '
        'place)."""',
        '    STATE["step"] += 1',
        '    t = STATE["step"]',
        "    for i, (w, g) in enumerate(zip(PARAMETERS, grads, strict=True)):",
    ]
    if spec.decoupled:
        lines.append("        w *= 1.0 - LEARNING_RATE * WEIGHT_DECAY  # decoupled weight decay")
    elif spec.weight_decay:
        lines.append("        g = g + WEIGHT_DECAY * w  # L2 penalty added to the gradient")
    lines += [
        '        m, v = STATE["exp_avg"][i], STATE["exp_avg_sq"][i]',
        "        m += (1.0 - BETA1) * (g - m)  # first moment: a running mean of g",
        "        v *= BETA2  # second moment: a running mean of g²",
        "        v += (1.0 - BETA2) * g * g",
    ]
    if spec.amsgrad:
        lines += [
            '        v_max = STATE["max_exp_avg_sq"][i]  # AMSGrad: the largest v so far',
            "        np.maximum(v_max, v, out=v_max)",
            "        v = v_max",
        ]
    lines += [
        "        if not np.isfinite(v).all():  # g² overflowed: /train stops here too",
        "            raise NonFiniteError",
        "        step_size = LEARNING_RATE / (1.0 - BETA1**t)  # bias corrections of m and v",
        "        denom = np.sqrt(v) / (1.0 - BETA2**t) ** 0.5 + EPS",
        "        w -= step_size * (m / denom)",
    ]
    return "\n".join(lines)


def _settings(spec: SGD | Adam) -> list[str]:
    """The optimizer's settings as constants."""
    if isinstance(spec, Adam):
        values = {
            "LEARNING_RATE": spec.learning_rate,
            "BETA1": spec.beta1,
            "BETA2": spec.beta2,
            "EPS": spec.eps,
            "WEIGHT_DECAY": spec.weight_decay,
        }
    else:
        values = {
            "LEARNING_RATE": spec.learning_rate,
            "MOMENTUM": spec.momentum,
            "DAMPENING": spec.dampening,
            "WEIGHT_DECAY": spec.weight_decay,
        }
    return [f"{name} = {number(value)}" for name, value in values.items()]


def _state(training: Training | None, spec: SGD | Adam) -> list[str]:
    """The optimizer's state: the step count and a buffer per parameter array."""
    posted = training.resumed if training else None
    step = posted.step if posted else 0
    lines = [
        "# The optimizer's state: its step count and one buffer per parameter array.",
        *([f"# Resumed from an earlier run's optimizer_state (step {step})."] if posted else []),
        "STATE: dict[str, Any] = {",
        f'    "step": {step},',
    ]
    for name in spec.buffers:
        tensors = posted.buffers[name] if posted else None
        if tensors is None:
            lines.append(f'    "{name}": [np.zeros_like(p) for p in PARAMETERS],')
            continue
        arrays: list[PythonValue] = [t.weights for t in tensors] + [t.bias for t in tensors]
        items = [f"        {call('np.array', a, 2, 0, 1)}," for a in arrays]
        lines += [f'    "{name}": [', *items, "    ],"]
    return [*lines, "}"]


def _header(export: Export) -> str:
    """The docstring and imports."""
    if export.training is None:
        title = "A backprop-api network in NumPy: its forward pass, and prints it."
    else:
        title = (
            "Train a backprop-api network in plain NumPy exactly as POST /train does.\n\n"
            "Every step is written out: forward pass, loss, backward pass, update."
        )
    uses_any = export.optimizer is not None  # STATE's annotation
    return header(export, title, "NumPy", "import numpy as np", uses_any)


def _network(export: Export) -> list[str]:
    """The weights, biases and activation names as the notebook keeps them."""
    layers = export.layers
    weights = [f"    {call('np.array', layer.weights, 1, 0, 1)}," for layer in layers]
    biases = [f"    {call('np.array', layer.bias, 1, 0, 1)}," for layer in layers]
    names = ", ".join(f'"{layer.activation}"' for layer in layers)
    return [
        "# The network, as the notebook writes it: layer k computes z = W[k]·x + B[k] and",
        "# a = f(z), W[k] of shape (units, inputs); ACTIVATIONS[k] names its f.",
        "W = [",
        *weights,
        "]",
        "B = [",
        *biases,
        "]",
        f"ACTIVATIONS = [{names}]",
        "PARAMETERS = W + B  # the arrays the optimizer updates (in place)",
    ]


def _functions(export: Export) -> list[str]:
    """The activations the network (and its loss) uses, their table, and the forward pass."""
    used = {layer.activation for layer in export.layers}
    needed = losses.LOSSES[export.loss].output_activation if export.loss else None
    if needed:  # the loss's own computation calls it
        used.add(needed)
    names = [name for name in ACTIVATIONS if name in used]
    table = [f'    "{name}": ({name}, {name}_backward),' for name in names]
    definitions = [part for name in names for part in ACTIVATIONS[name].split("\n\n\n")]
    functions = "\n".join(["FUNCTIONS = {  # each activation and its backward step", *table, "}"])
    return [*definitions, functions, FORWARD]


def _schedule(training: Training) -> list[str]:
    """The run's settings as constants."""
    first = training.first_epoch
    return [
        f"EPOCHS = {training.epochs}",
        f"BATCH_SIZE = {training.batch_size}",
        f"SHUFFLE = {training.shuffle}",
        f"SEED = {training.seed}",
        f"FIRST_EPOCH = {first}  # epochs trained before (optimizer_state.epoch): numbers shuffles",
        assign("LOSS_BELOW", training.loss_below),
        *stop_lines(training),
        f"EVERY = {training.every}  # print epochs 1, 1 + EVERY, ... and the last one",
    ]


TRAINING = '''

def finite(Z, loss):
    """Whether every z and the loss are finite (a parameter that is not finite makes its z
    not finite, so this checks the parameters too)."""
    return math.isfinite(loss) and all(np.isfinite(z).all() for z in Z)


def batches(epoch):
    """The rows of each batch of an epoch (from 0): consecutive slices of the data, or of the
    order default_rng([SEED, FIRST_EPOCH + epoch]).permutation(n) when shuffling."""
    n = len(X)
    if SHUFFLE:
        order = np.random.default_rng([SEED, FIRST_EPOCH + epoch]).permutation(n)
        return [order[i : i + BATCH_SIZE] for i in range(0, n, BATCH_SIZE)]
    return [slice(i, i + BATCH_SIZE) for i in range(0, n, BATCH_SIZE)]


def train_epoch(epoch):
    """One epoch: for each batch the forward pass, the loss, the backward pass and an update.
    Returns the mean of the batch losses, each computed before its batch's update; raises
    NonFiniteError if a batch's z or loss is not finite (an update before it diverged)."""
    losses = []
    for rows in batches(epoch):
        Z, A = forward(X[rows])
        loss, delta = compute_loss(Z, A, T[rows])
        if not finite(Z, loss):
            raise NonFiniteError
        grad_W, grad_B = backward(Z, A, delta)
        update(grad_W + grad_B)
        losses.append(loss)
    return sum(losses) / len(losses)


def data_loss():
    """The loss of the network as it is now on all the data; raises NonFiniteError if a z or
    the loss is not finite."""
    Z, A = forward(X)
    loss = compute_loss(Z, A, T)[0]
    if not finite(Z, loss):
        raise NonFiniteError
    return loss


def reached(loss):
    """Whether the loss on all the data is at or below LOSS_BELOW (stop.loss_below)."""
    return LOSS_BELOW is not None and loss <= LOSS_BELOW


def snapshot():
    """A copy of the parameters, to go back to."""
    return [p.copy() for p in PARAMETERS]


def restore(saved):
    """Go back to the parameters of a snapshot (copied into W and B, which stay the same
    arrays)."""
    for p, value in zip(PARAMETERS, saved, strict=True):
        p[...] = value


def run_epoch(epoch):
    """Train one epoch (from 0): its loss and the loss on all the data after it, or None if its
    updates diverged, the parameters put back as they were before it (/train discards it)."""
    saved = snapshot()
    try:
        return train_epoch(epoch), data_loss()
    except NonFiniteError:
        restore(saved)
        return None
'''

VALIDATE = '''

def validate():
    """The network as it is now measured on the validation data, nothing trained: a forward
    pass{what}. None where a z or the loss is not finite, as /train."""
    Z, A = forward(X_VAL)
    loss = compute_loss(Z, A, T_VAL)[0]
    if not finite(Z, loss):
        return {none}
    return {measured}
'''

ACCURACY: dict[LossName, str] = {
    "binary_cross_entropy": '''
def accuracy(z, T):
    """The share of outputs on the right side of 0.5 (σ(z) ≥ 0.5 exactly when z ≥ 0); None
    unless every target is 0 or 1, as /train's accuracy."""
    if not np.isin(T, (0.0, 1.0)).all():
        return None
    return float(np.mean((z >= 0) == (T == 1)))
''',
    "cross_entropy": '''
def accuracy(z, T):
    """The share of samples whose largest z is at their target's 1; None unless every target
    row is one-hot, as /train's accuracy."""
    if not (np.isin(T, (0.0, 1.0)).all() and (T.sum(axis=1) == 1).all()):
        return None
    return float(np.mean(z.argmax(axis=1) == T.argmax(axis=1)))
''',
}
"""The accuracy of each classification loss on the last layer's z, as the script defines it."""


def _validate(loss: LossName | None) -> list[str]:
    """The validation's measure: the loss, and the accuracy of a classification loss."""
    if loss is None or loss not in ACCURACY:
        none, measured = '{"validation_loss": None}', '{"validation_loss": loss}'
        return [VALIDATE.format(what=" and its loss", none=none, measured=measured)]
    none = '{"validation_loss": None, "validation_accuracy": None}'
    measured = '{"validation_loss": loss, "validation_accuracy": accuracy(Z[-1], T_VAL)}'
    text = VALIDATE.format(what=", its loss and its accuracy", none=none, measured=measured)
    return [ACCURACY[loss], text]


PENALTY_GRADIENT: dict[RegularizationName, str] = {
    "l1": "REGULARIZATION_RATE * np.sign(W_k)",
    "l2": "REGULARIZATION_RATE * W_k",
}
"""Each penalty's gradient at a layer's weights ``W_k``, as the script computes it."""

REGULARIZED = '''

def regularized(grad_W):
    """The weights' gradients of loss + penalty, the data loss's plus the penalty's:
    {slope} per weight ({zero}).
    The biases are not penalized."""
    return [g + {gradient} for g, W_k in zip(grad_W, W, strict=True)]
'''
UPDATE = "        update(grad_W + grad_B)\n"
"""The line of an epoch that updates the parameters, which regularization precedes."""


def _regularized(training: Training) -> tuple[str, list[str]]:
    """The epoch's functions and the penalty's gradient's (none without regularization)."""
    rule = training.regularization
    if rule is None:
        return TRAINING, []
    zero = "sign(0) = 0, as PyTorch's autograd" if rule.name == "l1" else "½w²'s derivative"
    function = REGULARIZED.format(
        slope=f"REGULARIZATION_RATE·{rule.regularizer.slope}",
        zero=zero,
        gradient=PENALTY_GRADIENT[rule.name],
    )
    epoch = TRAINING.replace(UPDATE, "        grad_W = regularized(grad_W)\n" + UPDATE)
    return epoch, ["\n".join(regularization_lines(training)), function]


def _training(training: Training, loss: LossName | None) -> list[str]:
    """The run's settings, the epoch and the loop that trains (and validates) as /train does."""
    epoch, penalty = _regularized(training)
    blocks = ["\n".join(_schedule(training)), *penalty, NETWORK, *epoch.split("\n\n\n")]
    blocks.append(untyped(SHOW))
    validated = training.validation is not None
    measure = _validate(loss) if validated else []
    return [*blocks, *measure, untyped(main_loop(validated, "network"))]


def sections(export: Export) -> list[tuple[str, list[str]]]:
    """The script's blocks in order, grouped by what they compute, each group with its title
    (the notebook's cells): the imports, the network, the data, the forward pass, the loss and
    the backward pass, the update, the training loop."""
    training = export.training
    groups: list[tuple[str, list[str]]] = [
        ("Imports", [_header(export)]),
        ("The network", ["\n".join(_network(export))]),
    ]
    if training is not None:
        names, file_array = ("X", "T", "X_VAL", "T_VAL"), "np.atleast_2d(np.array({}, dtype=float))"
        groups.append(
            ("The data", ["\n".join(data_lines(training, names, "np.array", file_array))])
        )
    groups.append(("The forward pass", _functions(export)))
    if export.loss is not None:
        from_z = losses.LOSSES[export.loss].from_logits
        flag = f"LOSS_FROM_Z = {from_z}  # the loss's gradient is dL/dz"
        groups += [("The loss", [flag, LOSSES[export.loss]]), ("The backward pass", [BACKWARD])]
    spec = export.optimizer
    update: list[str] = []
    if training is not None or isinstance(spec, Adam):
        update.append(NOT_FINITE)  # what a diverging run (or Adam's state check) raises
    if spec is not None:
        update += ["\n".join(_settings(spec)), "\n".join(_state(training, spec))]
        update.append(_adam_update(spec) if isinstance(spec, Adam) else _sgd_update(spec))
    if update:
        groups.append(("The update", update))
    if training is not None:
        groups.append(("The training loop", _training(training, export.loss)))
    else:
        groups.append(("The printout", [NETWORK, untyped(PRINT_NETWORK)]))
    return groups


def render(export: Export) -> str:
    """The NumPy script of ``export``."""
    blocks = [block for _, group in sections(export) for block in group]
    return join([*blocks, 'if __name__ == "__main__":\n    main()'])
