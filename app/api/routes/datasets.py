"""The data set endpoints: the sets on offer, and seeded data ready for /train."""

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Body
from starlette.responses import Response

from app import examples
from app.api.convert import JSONObject
from app.api.route_classes import OrjsonRoute, json_response
from app.nn.datasets import apply_features, draw, grid, one_hot, split
from app.schemas.datasets import AnyDatasetRequest, DatasetList, DatasetResponse, dataset_infos

router = APIRouter(tags=["datasets"], route_class=OrjsonRoute)


@router.get("/datasets")
def list_datasets() -> DatasetList:
    """Every set with its parameters: type, default, range and meaning."""
    return DatasetList(datasets=dataset_infos())


@router.post("/datasets", response_model=DatasetResponse)
def make_dataset(
    request: Annotated[AnyDatasetRequest, Body(openapi_examples=examples.DATASET_EXAMPLES)],
) -> Response:
    """Inputs and targets of a set, drawn from default_rng(seed): same request, same bytes."""
    X, y = draw(
        request.name,
        np.random.default_rng(request.seed),
        request.samples,
        request.noise,
        request.params,
    )
    classes = request.class_count
    if classes is not None:
        y = y[:, None].astype(np.float64) if request.binary else one_hot(y, classes)
    features = request.input_features
    raw = X
    if features is not None:
        X = apply_features(X, features)
    inputs, targets, test_inputs, test_targets = split(X, y, request.test_samples)
    held_out = request.test_samples > 0
    dataset = request.dataset
    # Hand-ordered: DatasetResponse's fields in order, so that orjson writes Pydantic's bytes;
    # test_answers_are_the_bytes_pydantic_writes_for_the_documented_model, in
    # tests/api/routes/test_datasets.py, fails if they drift. input_features and grid_inputs only
    # when asked: the answer without them stays as it was.
    answer: JSONObject = {
        "name": request.name,
        "description": dataset.description,
        "task": dataset.task,
        "classes": classes,
        "inputs": inputs.tolist(),
        "targets": targets.tolist(),
        "test_inputs": test_inputs.tolist() if held_out else None,
        "test_targets": test_targets.tolist() if held_out else None,
    }
    if features is not None:
        answer["input_features"] = features
    if request.grid is not None:
        spec = request.grid
        points = grid(spec.low, spec.high, spec.steps, raw.shape[1])
        answer["grid_inputs"] = (
            apply_features(points, features) if features is not None else points
        ).tolist()
    return json_response(answer)
