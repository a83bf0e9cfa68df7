"""The files ``/export`` writes: its formats and the data file a script reads. Plain names, no
models, so that the ``backprop`` command's options take them without importing the schemas."""

from typing import Final, Literal

ExportFormat = Literal["pytorch", "numpy", "json", "notebook"]
DATA_FILENAME: Final = "data.json"
"""The file a script reads ``inputs``, ``targets`` (and ``validation``) from when the data is not
embedded: the keys of a /train body, so that a /train body is a data file."""
DATA_KEYS: Final = ("inputs", "targets", "validation")
"""The keys of the data file (``validation`` only when the request has validation data)."""
