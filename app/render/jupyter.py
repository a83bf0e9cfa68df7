"""Jupyter notebooks as nbformat 4 JSON: cells and the document around them, for the exercise
notebooks and the exported runs (no nbformat needed to write one; the tests validate them)."""

import json
from typing import Any, Final

NBFORMAT: Final = 4
NBFORMAT_MINOR: Final = 5


def cell(kind: str, source: str) -> dict[str, Any]:
    """A ``markdown`` or ``code`` cell (a code cell not run yet: no outputs)."""
    made: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": source}
    if kind == "code":
        made |= {"execution_count": None, "outputs": []}
    return made


def document(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """A notebook of ``cells`` (given ids in order) for a Python 3 kernel."""
    for index, item in enumerate(cells):
        item["id"] = f"cell-{index}"
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": NBFORMAT,
        "nbformat_minor": NBFORMAT_MINOR,
    }


def text(notebook: dict[str, Any]) -> str:
    """A notebook's file text: its JSON indented by one, non-ASCII kept, a final newline."""
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
