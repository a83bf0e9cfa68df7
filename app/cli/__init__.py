"""The ``backprop`` command as a package: its commands (:mod:`.commands`), their printouts
(:mod:`.formats`), request bodies from JSON and CSV files (:mod:`.request_files`) and the training
curves (:mod:`.plots`). :func:`main` is the console script of ``pyproject.toml``."""

from app.cli.commands import cli


def main() -> None:
    """The ``backprop`` entry point."""
    cli(prog_name="backprop")
