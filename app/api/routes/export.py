"""``POST /export``: the model taken out of the API, as a PyTorch or NumPy script, a state_dict or
a Jupyter notebook; or an exercise of /exercises as a notebook to hand out.

The answer is JSON ``{"format", "filename", "content"}`` (``jq -r .content > train.py``), or the
file itself with a ``Content-Disposition`` to save it under when ``Accept`` prefers
``text/x-python`` or ``application/octet-stream`` (either gives the file of any format). Writing a
script is Python work proportional to its numbers, so the endpoint is a plain ``def`` and runs in
the thread pool.
"""

from typing import Annotated

import orjson
from fastapi import APIRouter, Body, Header
from starlette.responses import Response

from app import examples
from app.api.convert import to_batch, to_export, to_optimizer, to_parameters, to_state
from app.api.negotiation import negotiate
from app.api.route_classes import OrjsonRoute, json_response
from app.api.routes.exercises import exercise_json
from app.nn.explain import explain
from app.nn.losses import LOSSES
from app.nn.network import evaluate
from app.render import jupyter
from app.render.exercise import notebook as exercise_notebook
from app.render.exercise.spec import from_answer
from app.render.explain import markdown
from app.render.export import notebook, numpy, pytorch
from app.render.export.shared import state_dict
from app.schemas.export import (
    EXERCISE_FILENAME,
    FILENAMES,
    ExerciseExport,
    ExportRequest,
    ExportResponse,
    NetworkExport,
    TrainExport,
)

router = APIRouter(tags=["export"], route_class=OrjsonRoute)

SENDS_FILE = {"application/json": False, "text/x-python": True, "application/octet-stream": True}
"""What ``Accept`` may choose, the JSON answer first (the default), and whether it asks for the
file itself."""
MEDIA_TYPES = {
    "pytorch": "text/x-python; charset=utf-8",
    "numpy": "text/x-python; charset=utf-8",
    "json": "application/json",
    "notebook": "application/x-ipynb+json",
}

WORKED_TERMS = 8
"""A notebook's worked solution writes sums of up to this many terms and runs of alike steps of
up to this many items (the rest elided, as /explain's max_terms and max_steps): its size does
not grow with the network's."""


def check_finite(request: ExportRequest) -> None:
    """Refuse, with /train's 422, a network whose z or loss is not finite on its training data:
    /train would not start, and the script would stop before its first epoch."""
    if isinstance(request, TrainExport):
        parameters, loss = to_parameters(request.network), LOSSES[request.loss]
        evaluate(parameters, to_batch(request.inputs), to_batch(request.targets), loss)


def worked_solution(request: ExportRequest) -> str | None:
    """The first step's worked solution in Markdown, for a run whose first step is one step on
    all the data (None for mini-batches, whose first batch it is not, or no data)."""
    if not isinstance(request, TrainExport) or request.batch_count > 1:
        return None
    params = to_parameters(request.network)
    optimizer = to_optimizer(request.optimizer)
    state = to_state(request.optimizer_state, optimizer, params)
    x, t = to_batch(request.inputs), to_batch(request.targets)
    steps = explain(params, x, t, request.loss, optimizer, state, 0, WORKED_TERMS, WORKED_TERMS)
    return markdown.render(steps, 6, "The first step, worked out")


def exercise_content(request: ExerciseExport) -> str:
    """The exercise's notebook, drawn as /exercises draws it and written by the renderer of
    ``backprop exercises``: its only free text, the student and the course, escaped there."""
    drawn = exercise_json(
        request.exercise.model_copy(update={"include_answer": False}), ("body", "exercise")
    )
    student, course = request.exercise.student or "", request.exercise.course or ""
    return jupyter.text(exercise_notebook.notebook(from_answer(student, course, drawn)))


def content(request: TrainExport | NetworkExport) -> str:
    """The file's text in the requested format."""
    export = to_export(request)
    if request.format == "notebook":
        return notebook.render(export, worked_solution(request))
    if request.format == "json":
        return orjson.dumps(state_dict(export.layers), option=orjson.OPT_INDENT_2).decode()
    if request.format == "numpy":
        return numpy.render(export)
    return pytorch.render(export)


@router.post(
    "/export",
    response_model=ExportResponse,
    responses={
        200: {
            "description": "The file as JSON (format, filename, content), or the file itself "
            "when Accept asks for text/x-python or application/octet-stream",
            "content": {
                "text/x-python": {"schema": {"type": "string"}},
                "application/octet-stream": {"schema": {"type": "string"}},
            },
        }
    },
)
def export(
    request: Annotated[ExportRequest, Body(openapi_examples=examples.EXPORT_EXAMPLES)],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """A script (PyTorch or NumPy) that builds this network and trains it as /train does, or
    the network as a PyTorch state_dict."""
    if isinstance(request, ExerciseExport):
        text, filename = exercise_content(request), EXERCISE_FILENAME
    else:
        check_finite(request)
        text, filename = content(request), FILENAMES[request.format]
    if negotiate(accept, SENDS_FILE):
        disposition = f'attachment; filename="{filename}"'
        return Response(
            text,
            media_type=MEDIA_TYPES[request.format],
            headers={"content-disposition": disposition},
        )
    # Hand-ordered: ExportResponse's fields in order, so that orjson writes Pydantic's bytes;
    # test_the_answer_is_the_bytes_pydantic_writes_for_the_documented_model, in
    # tests/api/routes/test_export.py, fails if they drift.
    return json_response({"format": request.format, "filename": filename, "content": text})
