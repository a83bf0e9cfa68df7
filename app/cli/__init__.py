"""The ``backprop`` command as a package: its commands (:mod:`.commands`), their printouts
(:mod:`.formats`), request bodies from JSON and CSV files (:mod:`.request_files`) and the training
curves (:mod:`.plots`). :func:`main` is the console script of ``pyproject.toml``."""

import sys

from app.cli.commands import cli


def main() -> None:
    """The ``backprop`` entry point."""
    # httpx imports its own command line (Rich's syntax, Pygments) when it can, a third of a
    # command's start (bench/startup.py); backprop never runs it, so httpx goes without.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    cli(prog_name="backprop")
