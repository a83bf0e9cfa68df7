"""Runs exported scripts as ``__main__`` in one process (so that torch is imported once).

Reads a JSON list of jobs on stdin, ``{"script": path, "state_dict": path?}``, and writes the
JSON list of their stdouts (or of the messages they exit with). With ``state_dict``, the script's
``model`` loads that file (strictly: the same names and shapes) after the script ran, and
``network()`` is printed instead.
"""

import contextlib
import io
import json
import runpy
import sys


def run(job: dict[str, str]) -> str:
    """One script's stdout, or ``exit: `` and its message when it exits."""
    sys.argv = [job["script"]]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        if "state_dict" not in job:
            try:
                runpy.run_path(job["script"], run_name="__main__")
            except SystemExit as stop:
                return f"exit: {stop.code}"
            return out.getvalue()
        import torch

        namespace = runpy.run_path(job["script"], run_name="exported")
        with open(job["state_dict"]) as file:
            saved = json.load(file)
        namespace["model"].load_state_dict({k: torch.tensor(v) for k, v in saved.items()})
        print(json.dumps(namespace["network"]()))
    return out.getvalue()


if __name__ == "__main__":
    print(json.dumps([run(job) for job in json.load(sys.stdin)]))
