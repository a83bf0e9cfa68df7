"""A run as a Jupyter notebook (nbformat 4): the NumPy script's computation split into cells (the
network, the data, the forward pass, the loss, the backward pass, the update, the training loop),
each under a Markdown heading, the first step's values printed in the notebook's layout after
the forward pass, the loss and the backward pass, the worked solution of that step in Markdown
with LaTeX (given by the caller), a cell that runs the loop, printing what the NumPy script
prints (the notebook trains exactly as the script, and so as /train, does), and with full
batches the notebook's own loop after it, from the first network again, each epoch printed in
the notebook's layout.

The notebook holds the numbers of the export and the API's fixed names only, as the script.
"""

import json

from app.render.export.numpy import sections
from app.render.export.source import join
from app.render.export.spec import Export
from app.render.jupyter import cell, document

SHOWN = '''

def shown(values):
    """One sample's values as the notebook prints them (a batch's, one row per sample)."""
    return values[0] if len(values) == 1 else values
'''

FIRST_STEP = {
    "The forward pass": """
# The first step on all the data, printed as the notebook prints it (nothing is updated yet).
Z, A = forward(X)
hidden = ", ".join(str(shown(a)) for a in A[1:-1])
print(f"隐藏节点输出:{hidden}, 输出Y结果:{shown(A[-1])}")""",
    "The loss": """
loss, delta = compute_loss(Z, A, T)
print(f"求损失函数结果,loss:{np.array([loss])}")""",
    "The backward pass": """
grad_W, grad_B = backward(Z, A, delta)
weights = [f"W{k + 1}梯度{g.ravel() if k == 0 else g}" for k, g in enumerate(grad_W)]
biases = [f"B{k + 1}梯度{g}" for k, g in enumerate(grad_B)]
print("求各个参数的梯度:" + ", ".join(weights + biases))""",
}
"""What each cell prints of the first step, after its definitions, when there is data."""

KEEP_FIRST = """# The first network and optimizer state, kept for the notebook's own loop below.
FIRST_NETWORK, FIRST_STATE = snapshot(), copy.deepcopy(STATE)"""

NOTEBOOK_LOOP = """# The notebook's own loop, from the first network again: each epoch printed as
# the notebook prints it (hidden outputs and y, the loss, the gradients, W1 flat, the update).
restore(FIRST_NETWORK)
STATE.clear()
STATE.update(copy.deepcopy(FIRST_STATE))
for epoch in range(EPOCHS):
    Z, A = forward(X)
    loss, delta = compute_loss(Z, A, T)
    hidden = ", ".join(str(shown(a)) for a in A[1:-1])
    print(f"隐藏节点输出:{hidden}, 输出Y结果:{shown(A[-1])}")
    print(f"求损失函数结果,loss:{np.array([loss])}")
    grad_W, grad_B = backward(Z, A, delta)
    weights = [f"W{k + 1}梯度{g.ravel() if k == 0 else g}" for k, g in enumerate(grad_W)]
    biases = [f"B{k + 1}梯度{g}" for k, g in enumerate(grad_B)]
    print("求各个参数的梯度:" + ", ".join(weights + biases))
    update(grad_W + grad_B)
    weights = [f"W{k + 1}:{w}" for k, w in enumerate(W)]
    biases = [f"B{k + 1}{b}" for k, b in enumerate(B)]
    print("更新参数" + ",".join(weights + biases))"""
"""With full batches: the notebook's loop and its printout, after the run (its first network kept
before it)."""


def render(export: Export, worked: str | None) -> str:
    """The notebook of ``export`` as nbformat 4 JSON text; ``worked`` is the first step's worked
    solution in Markdown, shown after the backward pass (None: left out)."""
    title = (
        "# Training a network in NumPy, as POST /train does\n\n"
        "Each cell below is one part of the computation, in the order the notebook computes it. "
        "Run them in order; the last one trains and prints each recorded epoch as one JSON line "
        "(`loss`, then how the run ended and the trained network), the numbers /train returns."
    )
    cells = [cell("markdown", title)]
    trains = export.training is not None
    for name, blocks in sections(export):
        code = join([*blocks, SHOWN] if name == "The network" and trains else blocks)
        if trains and name in FIRST_STEP:
            code += FIRST_STEP[name].rstrip("\n") + "\n"
        cells += [cell("markdown", f"## {name}"), cell("code", code.rstrip("\n"))]
        if name == "The backward pass" and worked is not None:
            cells.append(cell("markdown", worked))
    training = export.training
    full_batch = training is not None and training.batch_size >= training.samples
    if full_batch:
        cells.append(cell("code", "import copy\n\n" + KEEP_FIRST))
    cells.append(cell("code", "main()"))
    if full_batch:
        title = (
            "## The notebook's loop\n\nThe same epochs again, printed as the notebook prints them."
        )
        cells += [cell("markdown", title), cell("code", NOTEBOOK_LOOP)]
    return json.dumps(document(cells), indent=1, ensure_ascii=False) + "\n"
