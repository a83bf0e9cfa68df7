"""The initialisation endpoint: a network of a given shape with seeded initial parameters."""

from typing import Annotated

from fastapi import APIRouter, Body

from app import examples
from app.api.convert import network_out
from app.api.route_classes import OrjsonRoute
from app.nn.init import initialize
from app.schemas.init import InitRequest, InitResponse

router = APIRouter(tags=["init"], route_class=OrjsonRoute)


@router.post("/init")
def init_network(
    request: Annotated[
        InitRequest,
        Body(
            openapi_examples={
                "notebook_shape": {"summary": "A 3-2-1 ReLU network", "value": examples.INIT}
            }
        ),
    ],
) -> InitResponse:
    """A network of the given layer sizes, its parameters drawn by PyTorch's schemes."""
    params = initialize(request.sizes, request.activations, request.init, request.seed)
    return InitResponse.model_construct(network=network_out(params))
