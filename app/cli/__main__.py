"""``python -m app.cli``: the ``backprop`` command, for an environment without its script."""

from app.cli import main

main()
