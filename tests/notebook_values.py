"""The notebook (``shared/seed/notebook.txt``) for every test: its network and sample (written
once, in app/examples.py) as engine arrays, and the numbers it printed (NumPy printed them with 8
digits after the point; its output stops inside epoch 3).
"""

import numpy as np

from app.examples import LOSS, NOTEBOOK_NETWORK
from app.nn.network import Parameters

NOTEBOOK = Parameters.from_layers(
    [layer["weights"] for layer in NOTEBOOK_NETWORK["layers"]],
    [layer["bias"] for layer in NOTEBOOK_NETWORK["layers"]],
    [layer["activation"] for layer in NOTEBOOK_NETWORK["layers"]],
)
X = np.array([LOSS["inputs"]])
T = np.array([LOSS["targets"]])

# Epoch by epoch as printed: hidden a, output, loss, W1 grad (flattened), W2 grad, B1 grad, B2 grad.
PRINTED = [
    {
        "hidden": [0.1, 1.45],
        "output": [-0.885],
        "loss": 1.7766125,
        "W1_grad": [0.5655, -1.131, -0.84825, -1.3195, 2.639, 1.97925],
        "W2_grad": [[-0.1885, -2.73325]],
        "B1_grad": [-0.5655, 1.3195],
        "B2_grad": [-1.885],
    },
    {
        "hidden": [0.14665375, 1.34114125],
        "output": [-0.73901956],
        "loss": 1.51209452,
        "W1_grad": [0.52498392, -1.04996784, -0.78747588, -1.16978194, 2.33956389, 1.75467291],
        "W2_grad": [[-0.25503374, -2.33227087]],
        "B1_grad": [-0.52498392, 1.16978194],
        "B2_grad": [-1.73901956],
    },
    {
        "hidden": [0.18996492, 1.24463424],
        "output": [-0.61412453],
        "loss": 1.302699,
        "W1_grad": [0.49139655, -0.98279309, -0.73709482, -1.04812336, 2.09624671, 1.57218503],
        "W2_grad": [[-0.30662704, -2.00899466]],
        "B1_grad": [-0.49139655, 1.04812336],
        "B2_grad": [-1.61412453],
    },
]
# Parameters printed after the updates of epochs 1 and 2 (the notebook's output stops in epoch 3).
PRINTED_UPDATES = [
    {
        "W1": [[0.094345, -0.18869, 0.4084825], [-0.486805, 0.27361, 0.1802075]],
        "W2": [[0.301885, -0.6726675]],
        "B1": [0.005655, 0.036805],
        "B2": [0.11885],
    },
    {
        "W1": [[0.08909516, -0.17819032, 0.41635726], [-0.47510718, 0.25021436, 0.16266077]],
        "W2": [[0.30443534, -0.64934479]],
        "B1": [0.01090484, 0.02510718],
        "B2": [0.1362402],
    },
]
