"""Typed Python client of the API: ``Client`` (blocking) and ``AsyncClient`` (asyncio), on httpx.

Each method posts one endpoint's body and returns its response model, the very model the server
documents its answer with. A body is a request model, or a mapping whose values may hold NumPy
arrays, and keyword fields are added to it (``client.forward(network=net, inputs=x)``); the
server validates it. A :class:`decimal.Decimal` is sent as its text, so a number keeps the digits
it was written with: /check grades ``Decimal("0.470")`` at 3 decimals, where the float ``0.470``
is ``0.47``, 2 decimals. Every error a method raises is a :class:`BackpropError` naming its URL: an
answer other than 200 raises :class:`APIError` (a 422: :class:`InvalidRequestError`, with each
problem's ``loc``, ``msg`` and ``type``; a 503: :class:`ServerBusyError`); no answer, an
:class:`APIConnectionError` (in time: :class:`APITimeoutError`); never an httpx exception. A 503
(the server is busy) and a connection that could not be made are retried, at most
``max_retries`` times (:data:`MAX_RETRIES`; per call with ``with_options``), after the 503's
``Retry-After`` or an exponential backoff with jitter (:func:`backoff`).

A client talks to the server at its ``base_url``, or runs the ASGI ``app`` it is given in this
process (no server needed; ``app.main.in_process_app()`` builds one whose requests leave no
access-log line) through httpx's ``ASGITransport``, which is async only: the blocking client
drives it on an event loop in a worker thread through anyio's blocking portal (Starlette's
``TestClient`` would do the same, but needs the ``httpx2`` fork and is meant for tests). The
transport does not run the app's lifespan, and a stream's lines arrive when its run ends (the
transport buffers the answer). Timeouts (:data:`TIMEOUT`) apply to a server only. The client
imports nothing of the server: it needs httpx and the response models of :mod:`app.schemas`,
each imported when first used (a client imports httpx when it is made, a method its response
model when it is called; :data:`MODELS`), so that importing the client costs little.

Each method's keyword fields are typed with a ``TypedDict`` of its request's fields
(``**fields: Unpack[TrainFields]``): editors complete and check them, ``help(TrainFields)``
lists them.
"""

from __future__ import annotations

import copy
import importlib
import os
import random
import sys
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from contextlib import aclosing, closing, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeAlias, TypedDict, TypeVar, Unpack

import orjson

if TYPE_CHECKING:
    import httpx
    import numpy as np
    from pydantic import BaseModel, TypeAdapter

    from app.nn.activations import ActivationName
    from app.nn.init import InitName
    from app.nn.losses import LossName
    from app.schemas.datasets import DatasetList, DatasetRequest, DatasetResponse
    from app.schemas.diagnostics import (
        CheckRequest,
        CheckResponse,
        Claimed,
        GradcheckRequest,
        GradcheckResponse,
    )
    from app.schemas.exercises import ExerciseList, ExerciseRequest, ExerciseResponse
    from app.schemas.explain import ExplainFormat, ExplainRequest, ExplainResponse
    from app.schemas.export import ExportResponse, NetworkExport, TrainExport
    from app.schemas.export_files import ExportFormat
    from app.schemas.init import InitRequest, InitResponse
    from app.schemas.network import Network, NetworkOut
    from app.schemas.operations import Health
    from app.schemas.passes import (
        BackwardRequest,
        BackwardResponse,
        ForwardRequest,
        ForwardResponse,
        LossRequest,
        LossResponse,
    )
    from app.schemas.training import (
        AdamOptimizer,
        AdamWOptimizer,
        EpochTrace,
        OptimizerState,
        SGDOptimizer,
        StopRule,
        TraceSpec,
        TrainRequest,
        TrainResponse,
        TrainSummary,
        ValidationData,
        trace_arrays,
    )

MODELS: Final = {
    "BackwardRequest": "app.schemas.passes",
    "BackwardResponse": "app.schemas.passes",
    "CheckRequest": "app.schemas.diagnostics",
    "CheckResponse": "app.schemas.diagnostics",
    "DatasetList": "app.schemas.datasets",
    "DatasetRequest": "app.schemas.datasets",
    "DatasetResponse": "app.schemas.datasets",
    "EpochTrace": "app.schemas.training",
    "ExerciseList": "app.schemas.exercises",
    "ExerciseRequest": "app.schemas.exercises",
    "ExerciseResponse": "app.schemas.exercises",
    "ExplainRequest": "app.schemas.explain",
    "ExplainResponse": "app.schemas.explain",
    "ExportResponse": "app.schemas.export",
    "ForwardRequest": "app.schemas.passes",
    "ForwardResponse": "app.schemas.passes",
    "GradcheckRequest": "app.schemas.diagnostics",
    "GradcheckResponse": "app.schemas.diagnostics",
    "Health": "app.schemas.operations",
    "InitRequest": "app.schemas.init",
    "InitResponse": "app.schemas.init",
    "LossRequest": "app.schemas.passes",
    "LossResponse": "app.schemas.passes",
    "NetworkExport": "app.schemas.export",
    "TrainExport": "app.schemas.export",
    "TrainRequest": "app.schemas.training",
    "TrainResponse": "app.schemas.training",
    "TrainSummary": "app.schemas.training",
    "trace_arrays": "app.schemas.training",
}
"""Each endpoint's request and response models (and :func:`trace_arrays`) by name, with the
module of :mod:`app.schemas` that holds it: ``from app.client import TrainResponse`` imports
that module then, not before, so that importing the client costs no model it does not use."""

__all__ = [
    "CONNECT_TIMEOUT",
    "MAX_RETRIES",
    "TIMEOUT",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncClient",
    "BackpropError",
    "BackwardFields",
    "BackwardRequest",
    "BackwardResponse",
    "CheckFields",
    "CheckRequest",
    "CheckResponse",
    "Client",
    "DatasetFields",
    "DatasetList",
    "DatasetRequest",
    "DatasetResponse",
    "EpochTrace",
    "ExerciseFields",
    "ExerciseList",
    "ExerciseRequest",
    "ExerciseResponse",
    "ExplainFields",
    "ExplainRequest",
    "ExplainResponse",
    "ExportFields",
    "ExportResponse",
    "ForwardFields",
    "ForwardRequest",
    "ForwardResponse",
    "GradcheckFields",
    "GradcheckRequest",
    "GradcheckResponse",
    "Health",
    "InitFields",
    "InitRequest",
    "InitResponse",
    "InvalidRequestError",
    "InvalidURLError",
    "LossFields",
    "LossRequest",
    "LossResponse",
    "NetworkExport",
    "Problem",
    "ServerBusyError",
    "TrainExport",
    "TrainFields",
    "TrainRequest",
    "TrainResponse",
    "TrainSummary",
    "trace_arrays",
]
"""What the client offers: the clients, their errors, each endpoint's keyword fields, and each
endpoint's request and response models (a request model is a method's body, checked before it
is sent)."""


def __getattr__(name: str) -> Any:
    """A model of :data:`MODELS`, imported on first use."""
    module = MODELS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


Body: TypeAlias = "BaseModel | Mapping[str, Any] | None"
M = TypeVar("M", bound="BaseModel")

TIMEOUT: Final = 60.0
"""Seconds for sending, and for waiting for an answer or a stream's next line: a server stops a
run at its ``BACKPROP_DEADLINE_SECONDS`` (30 by default) and answers then."""
CONNECT_TIMEOUT: Final = 5.0
"""Seconds for connecting, when ``timeout`` is left to its default."""
MAX_RETRIES: Final = 3
"""How many times a 503, or a connection that could not be made, is retried before it is
raised (``max_retries``, per client or per call with :meth:`Client.with_options`)."""
MAX_RETRY_WAIT: Final = 30.0
"""The longest wait before a retry, whatever ``Retry-After`` asks."""
BACKOFF: Final = 0.5
"""The first retry's longest wait without ``Retry-After``, doubled at each retry."""
IN_PROCESS_URL: Final = "http://backprop.in-process"
"""The base URL of the requests to an app in this process."""

Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]
"""An ASGI application (``app.main.create_app()`` or :func:`app.main.in_process_app` is one)."""


@cache
def stream_line() -> TypeAdapter[EpochTrace | TrainSummary]:
    """The validator of a ``/train/stream`` line: a recorded epoch or the run's summary."""
    from pydantic import TypeAdapter

    from app.schemas.training import EpochTrace, TrainSummary

    return TypeAdapter(EpochTrace | TrainSummary)


Numbers: TypeAlias = "Sequence[float] | Sequence[Sequence[float]] | np.ndarray[Any, Any]"
Part: TypeAlias = "Mapping[str, Any]"


class ForwardFields(TypedDict, total=False):
    """``forward``'s keyword fields, :class:`ForwardRequest`'s (the body may hold any of them).
    Arrays may be NumPy arrays, and models their request models or plain mappings."""

    network: Network | NetworkOut | Part
    inputs: Numbers
    layers: bool


class LossFields(TypedDict, total=False):
    """``loss``'s keyword fields, :class:`LossRequest`'s."""

    network: Network | NetworkOut | Part
    inputs: Numbers
    targets: Numbers
    loss: LossName
    regularization: Part


class BackwardFields(LossFields, total=False):
    """``backward``'s keyword fields, :class:`BackwardRequest`'s."""


class GradcheckFields(LossFields, total=False):
    """``gradcheck``'s keyword fields, :class:`GradcheckRequest`'s."""

    epsilon: float


class CheckFields(LossFields, total=False):
    """``check``'s keyword fields, :class:`CheckRequest`'s."""

    learning_rate: float
    optimizer: SGDOptimizer | Part | None
    optimizer_state: OptimizerState | Part | None
    tolerance: float | None
    min_significant: int
    claimed: Claimed | Part


class StepFields(LossFields, total=False):
    """The fields of a request that takes optimizer steps."""

    optimizer: SGDOptimizer | AdamOptimizer | AdamWOptimizer | Part
    optimizer_state: OptimizerState | Part | None


class TrainFields(StepFields, total=False):
    """``train``'s and ``train_stream``'s keyword fields, :class:`TrainRequest`'s."""

    epochs: int
    batch_size: int | None
    shuffle: bool
    seed: int
    validation: ValidationData | Part | None
    stop: StopRule | Part | None
    trace: TraceSpec | Part


class ExplainFields(StepFields, total=False):
    """``explain``'s keyword fields, :class:`ExplainRequest`'s."""

    sample: int
    format: ExplainFormat | None
    digits: int
    max_terms: int
    max_steps: int


class ExportFields(TrainFields, total=False):
    """``export``'s keyword fields: :class:`TrainExport`'s, or :class:`NetworkExport`'s (a
    network alone, ``format="json"``)."""

    format: ExportFormat
    include_data: bool


class InitFields(TypedDict, total=False):
    """``init``'s keyword fields, :class:`InitRequest`'s."""

    sizes: Sequence[int]
    activation: ActivationName
    output_activation: ActivationName
    init: InitName
    seed: int


class ExerciseFields(TypedDict, total=False):
    """``exercises``' keyword fields, :class:`ExerciseRequest`'s (``template``: a ready template's
    name or its fields)."""

    template: str | Mapping[str, Any]
    seed: int
    student: str
    course: str
    include_answer: bool


class DatasetFields(TypedDict, total=False):
    """``datasets``' keyword fields: every set's (``name``, ``samples``, ``noise``, ``seed``,
    ``test_fraction``), then each set's own (``dataset_list()`` says which set takes which)."""

    name: str
    samples: int
    noise: float
    seed: int
    test_fraction: float
    input_features: Sequence[str]
    grid: Part
    encoding: str
    factor: float
    arms: int
    turns: float
    classes: int
    features: int
    std: float
    tiles: int
    frequency: float


@dataclass(frozen=True)
class Problem:
    """One problem of a 422: where (``loc``, the JSON path), what (``msg``) and its ``type``."""

    loc: tuple[str | int, ...]
    msg: str
    type: str


class BackpropError(Exception):
    """The base of every error a client method raises: no httpx exception escapes one.
    ``url`` is the request's (the client's base URL where no request was sent)."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


class InvalidURLError(BackpropError, ValueError):
    """A base URL the client cannot send to: not ``http://`` or ``https://`` (say
    ``http://127.0.0.1:8000``, not ``127.0.0.1:8000``)."""


class APIConnectionError(BackpropError):
    """No answer came: the server could not be reached, or the connection broke."""


class APITimeoutError(APIConnectionError):
    """No answer came in time (connecting, sending, or waiting for an answer or a stream's next
    line; see :data:`TIMEOUT`)."""


class APIError(BackpropError):
    """An answer other than 200: its ``status``, its ``detail`` and its ``request_id``."""

    def __init__(self, status: int, detail: Any, request_id: str | None, url: str = "") -> None:
        super().__init__(f"{status}: {detail}", url)
        self.status, self.detail, self.request_id = status, detail, request_id


class InvalidRequestError(APIError):
    """A 422: the body is invalid; ``problems`` lists the problems the server found (the first
    100, then a ``too_many_errors`` one counting the rest)."""

    def __init__(
        self, problems: list[Problem], detail: Any, request_id: str | None, url: str = ""
    ) -> None:
        super().__init__(422, detail, request_id, url)
        self.problems = problems
        lines = (f"{'.'.join(map(str, p.loc))}: {p.msg} [{p.type}]" for p in problems)
        self.args = ("422: the request is invalid\n  " + "\n  ".join(lines),)


class ServerBusyError(APIError):
    """A 503 still answered after the retries: the server is busy; ``retry_after`` is the wait
    in seconds it asked for (its ``Retry-After``), or None."""

    def __init__(
        self, detail: Any, request_id: str | None, url: str, retry_after: float | None
    ) -> None:
        super().__init__(503, detail, request_id, url)
        self.retry_after = retry_after


def error(response: httpx.Response) -> APIError:
    """The exception for a read answer other than 200."""
    request_id = response.headers.get("x-request-id")
    url = str(response.request.url)
    try:
        detail = response.json()["detail"]
    except (ValueError, KeyError, TypeError):
        detail = response.text
    if response.status_code == 422 and isinstance(detail, list):
        problems = [Problem(tuple(d["loc"]), d["msg"], d["type"]) for d in detail]
        return InvalidRequestError(problems, detail, request_id, url)
    if response.status_code == 503:
        return ServerBusyError(detail, request_id, url, retry_after(response))
    return APIError(response.status_code, detail, request_id, url)


def retry_after(response: httpx.Response) -> float | None:
    """The answer's ``Retry-After`` in seconds, or None without a readable one."""
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None


@contextmanager
def transport_errors(url: str) -> Iterator[None]:
    """httpx's transport errors as :class:`APITimeoutError` and :class:`APIConnectionError`,
    each naming ``url``."""
    import httpx

    try:
        yield
    except httpx.TimeoutException as exc:
        kind = type(exc).__name__.removesuffix("Timeout").lower()
        raise APITimeoutError(f"no answer from {url} in time ({kind} timeout)", url) from exc
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise APIConnectionError(f"cannot reach {url}: {reason}", url) from exc


def backoff(attempt: int, asked: float | None) -> float:
    """Seconds to wait before retry ``attempt + 1``: the ``Retry-After`` the server ``asked``
    for (at most :data:`MAX_RETRY_WAIT`), else exponential backoff with full jitter (a random
    wait up to :data:`BACKOFF` · 2^attempt, so that clients refused together do not return
    together)."""
    if asked is not None:
        return min(max(asked, 0.0), MAX_RETRY_WAIT)
    return random.uniform(0.0, min(BACKOFF * 2**attempt, MAX_RETRY_WAIT))


def retryable(exc: httpx.HTTPError) -> bool:
    """Whether a transport error is worth a retry: the connection was not made, so the request
    was not sent."""
    import httpx

    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


def _plain(value: Any) -> Any:
    """What orjson cannot write itself: a finite ``Decimal`` as its text (trailing zeros kept),
    other NumPy arrays and scalars, and models (NumPy and Pydantic are looked for, not imported:
    a value of theirs means they are)."""
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value)) if value.is_finite() else float(value)
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray | numpy.generic):
        return value.tolist()
    if is_model(value):
        return value.model_dump(mode="json", exclude_unset=True)
    raise TypeError(f"{type(value).__name__} is not JSON")


def is_model(value: Any) -> bool:
    """Whether ``value`` is a Pydantic model, without importing Pydantic."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(value, pydantic.BaseModel)


def encode(body: Body, fields: Mapping[str, Any]) -> bytes:
    """The JSON of ``body`` with ``fields`` added (NumPy arrays as nested lists, a ``Decimal``
    as its text)."""
    base = _plain(body) if is_model(body) else dict(body or {})
    return orjson.dumps(base | dict(fields), default=_plain, option=orjson.OPT_SERIALIZE_NUMPY)


def explained(response: httpx.Response) -> ExplainResponse | str:
    """An /explain answer: its steps when it is JSON, else the Markdown or text as it came."""
    from app.schemas.explain import ExplainResponse

    if response.status_code != 200:
        raise error(response)
    if response.headers.get("content-type", "").startswith("application/json"):
        return ExplainResponse.model_validate_json(response.content)
    return response.text


def base_url_of(base_url: str | None, app: ASGIApp | None) -> str:
    """The base URL of a client's requests: the server's (``base_url``, else the environment's
    ``BACKPROP_URL``), or :data:`IN_PROCESS_URL` for an app; a client takes exactly one of the
    two."""
    if base_url is None and app is None:
        base_url = os.environ.get("BACKPROP_URL") or None
    if (base_url is None) == (app is None):
        raise TypeError(
            "a client takes either base_url (a server; else BACKPROP_URL) or app (run in this "
            "process)"
        )
    if base_url is None:
        return IN_PROCESS_URL
    if not base_url.startswith(("http://", "https://")):
        raise InvalidURLError(
            f"{base_url!r} is no http:// or https:// URL (say http://{base_url.split('://')[-1]})",
            base_url,
        )
    return base_url


def url_of(http: httpx.Client | httpx.AsyncClient, path: str) -> str:
    """The URL a request to ``path`` goes to, for messages."""
    return str(http.base_url).rstrip("/") + path


def parse(response: httpx.Response, model: type[M]) -> M:
    """The read answer as ``model``, or the exception it stands for."""
    if response.status_code != 200:
        raise error(response)
    return model.model_validate_json(response.content)


def in_process_transport(app: ASGIApp) -> httpx.BaseTransport:
    """httpx's ``ASGITransport`` for a blocking client: each request runs on an event loop of
    its own in a worker thread (anyio's blocking portal), so it works where a loop is already
    running too, as in Jupyter. Built here, as httpx and anyio are imported only once a client
    is made."""
    import httpx
    from anyio.from_thread import start_blocking_portal

    class InProcessTransport(httpx.BaseTransport):
        def __init__(self) -> None:
            self.asgi = httpx.ASGITransport(app=app)

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            with start_blocking_portal() as portal:
                return portal.call(self._read, request)

        async def _read(self, request: httpx.Request) -> httpx.Response:
            response = await self.asgi.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

    return InProcessTransport()


def timeout_of(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    """A client's timeouts: ``timeout`` (seconds for every phase, or httpx's ``Timeout``), or
    by default :data:`TIMEOUT` with :data:`CONNECT_TIMEOUT` for connecting. They apply to a
    server only."""
    import httpx

    if timeout is None:
        return httpx.Timeout(TIMEOUT, connect=CONNECT_TIMEOUT)
    return httpx.Timeout(timeout)


HEADERS: Final = {"content-type": "application/json", "accept": "application/json"}


def headers_of(content: bytes | None) -> dict[str, str]:
    """A request's headers: a JSON body's type when it has one."""
    return HEADERS if content is not None else {"accept": "application/json"}


class Client:
    """The API, blocking: one method per endpoint; ``with Client(url) as c:`` closes it."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        app: ASGIApp | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = MAX_RETRIES,
    ) -> None:
        import httpx

        transport = None if app is None else in_process_transport(app)
        self.http = httpx.Client(
            base_url=base_url_of(base_url, app), transport=transport, timeout=timeout_of(timeout)
        )
        self.max_retries = max_retries

    def __enter__(self) -> Self:
        return self

    def with_options(self, *, max_retries: int) -> Self:
        """This client with other options for the calls made through it, sharing its
        connections (closing either closes both): ``client.with_options(max_retries=0)``."""
        other = copy.copy(self)
        other.max_retries = max_retries
        return other

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def _post(self, path: str, body: Body, fields: Mapping[str, Any]) -> httpx.Response:
        return self._send("POST", path, encode(body, fields))

    def _get(self, path: str) -> httpx.Response:
        return self._send("GET", path)

    def _send(self, method: str, path: str, content: bytes | None = None) -> httpx.Response:
        """The answer, after retrying a 503 or a connection not made (:func:`backoff`), at
        most ``max_retries`` times."""
        import httpx

        attempt = 0
        while True:
            with transport_errors(url_of(self.http, path)):
                try:
                    response = self.http.request(
                        method, path, content=content, headers=headers_of(content)
                    )
                except httpx.HTTPError as exc:
                    if attempt >= self.max_retries or not retryable(exc):
                        raise
                    wait = backoff(attempt, None)
                else:
                    if response.status_code != 503 or attempt >= self.max_retries:
                        return response
                    wait = backoff(attempt, retry_after(response))
            time.sleep(wait)
            attempt += 1

    def forward(self, body: Body = None, /, **fields: Unpack[ForwardFields]) -> ForwardResponse:
        """``POST /forward``: every layer's z and a, and the outputs."""
        from app.schemas.passes import ForwardResponse

        return parse(self._post("/forward", body, fields), ForwardResponse)

    def loss(self, body: Body = None, /, **fields: Unpack[LossFields]) -> LossResponse:
        """``POST /loss``: the loss (and accuracy) and the outputs."""
        from app.schemas.passes import LossResponse

        return parse(self._post("/loss", body, fields), LossResponse)

    def backward(self, body: Body = None, /, **fields: Unpack[BackwardFields]) -> BackwardResponse:
        """``POST /backward``: the forward pass, the loss and every gradient."""
        from app.schemas.passes import BackwardResponse

        return parse(self._post("/backward", body, fields), BackwardResponse)

    def train(self, body: Body = None, /, **fields: Unpack[TrainFields]) -> TrainResponse:
        """``POST /train``: the whole run, its summary and its recorded trace."""
        from app.schemas.training import TrainResponse

        return parse(self._post("/train", body, fields), TrainResponse)

    def init(self, body: Body = None, /, **fields: Unpack[InitFields]) -> InitResponse:
        """``POST /init``: a network of the given sizes with seeded parameters."""
        from app.schemas.init import InitResponse

        return parse(self._post("/init", body, fields), InitResponse)

    def gradcheck(
        self, body: Body = None, /, **fields: Unpack[GradcheckFields]
    ) -> GradcheckResponse:
        """``POST /gradcheck``: analytic gradients against finite differences."""
        from app.schemas.diagnostics import GradcheckResponse

        return parse(self._post("/gradcheck", body, fields), GradcheckResponse)

    def check(self, body: Body = None, /, **fields: Unpack[CheckFields]) -> CheckResponse:
        """``POST /check``: values computed by hand for one SGD step, checked."""
        from app.schemas.diagnostics import CheckResponse

        return parse(self._post("/check", body, fields), CheckResponse)

    def explain(
        self, body: Body = None, /, **fields: Unpack[ExplainFields]
    ) -> ExplainResponse | str:
        """``POST /explain``: the worked solution of one step, as its JSON steps, or as Markdown
        or text when ``format`` is ``"markdown"`` or ``"text"``."""
        return explained(self._post("/explain", body, fields))

    def datasets(self, body: Body = None, /, **fields: Unpack[DatasetFields]) -> DatasetResponse:
        """``POST /datasets``: a seeded data set's inputs and targets, ready for ``train``."""
        from app.schemas.datasets import DatasetResponse

        return parse(self._post("/datasets", body, fields), DatasetResponse)

    def export(self, body: Body = None, /, **fields: Unpack[ExportFields]) -> ExportResponse:
        """``POST /export``: a PyTorch or NumPy script that builds the network and trains it as
        /train does, or the network as a PyTorch state_dict (``format``); ``content`` is the
        file's text."""
        from app.schemas.export import ExportResponse

        return parse(self._post("/export", body, fields), ExportResponse)

    def dataset_list(self) -> DatasetList:
        """``GET /datasets``: the data sets with their parameters and defaults."""
        from app.schemas.datasets import DatasetList

        return parse(self._get("/datasets"), DatasetList)

    def exercises(self, body: Body = None, /, **fields: Unpack[ExerciseFields]) -> ExerciseResponse:
        """``POST /exercises``: one variant of an exercise template, for a seed or a student."""
        from app.schemas.exercises import ExerciseResponse

        return parse(self._post("/exercises", body, fields), ExerciseResponse)

    def exercise_list(self) -> ExerciseList:
        """``GET /exercises``: the ready exercise templates and the limits of one."""
        from app.schemas.exercises import ExerciseList

        return parse(self._get("/exercises"), ExerciseList)

    def livez(self) -> Health:
        """``GET /livez``: the process serves."""
        from app.schemas.operations import Health

        return parse(self._get("/livez"), Health)

    def readyz(self) -> Health:
        """``GET /readyz``: the service is ready for traffic."""
        from app.schemas.operations import Health

        return parse(self._get("/readyz"), Health)

    def train_stream(
        self, body: Body = None, /, **fields: Unpack[TrainFields]
    ) -> Generator[EpochTrace | TrainSummary, None, None]:
        """``POST /train/stream``: each recorded epoch as it arrives, then the summary. The
        request is sent when iteration starts; closing the iterator early closes the stream."""
        with closing(self._stream_lines(encode(body, fields))) as lines:
            for line in lines:
                yield stream_line().validate_json(line)

    def train_lines(
        self, body: Body = None, /, **fields: Unpack[TrainFields]
    ) -> Generator[dict[str, Any], None, None]:
        """``POST /train/stream`` as its lines' plain JSON, as :meth:`train_stream` streams it
        but without models: each recorded epoch's object, then the summary's (the one with a
        ``status``). A program that only prints the numbers needs neither Pydantic nor the
        models (``backprop train``)."""
        with closing(self._stream_lines(encode(body, fields))) as lines:
            for line in lines:
                yield orjson.loads(line)

    def _stream_lines(self, content: bytes) -> Generator[str, None, None]:
        """The lines of ``/train/stream``'s answer to ``content`` as they arrive, after retrying
        a 503 or a connection not made (:func:`backoff`)."""
        import httpx

        attempt = 0
        while True:
            with transport_errors(url_of(self.http, "/train/stream")):
                try:
                    with self.http.stream(
                        "POST", "/train/stream", content=content, headers=HEADERS
                    ) as r:
                        if r.status_code == 200:
                            yield from filter(None, r.iter_lines())
                            return
                        r.read()
                        if r.status_code != 503 or attempt >= self.max_retries:
                            raise error(r)
                        wait = backoff(attempt, retry_after(r))
                except httpx.HTTPError as exc:
                    if attempt >= self.max_retries or not retryable(exc):
                        raise
                    wait = backoff(attempt, None)
            time.sleep(wait)
            attempt += 1


class AsyncClient:
    """The API for asyncio: one coroutine per endpoint; ``async with AsyncClient(url) as c:``."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        app: ASGIApp | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = MAX_RETRIES,
    ) -> None:
        import httpx

        transport = None if app is None else httpx.ASGITransport(app=app)
        self.http = httpx.AsyncClient(
            base_url=base_url_of(base_url, app), transport=transport, timeout=timeout_of(timeout)
        )
        self.max_retries = max_retries

    async def __aenter__(self) -> Self:
        return self

    def with_options(self, *, max_retries: int) -> Self:
        """This client with other options for the calls made through it, sharing its
        connections (closing either closes both): ``client.with_options(max_retries=0)``."""
        other = copy.copy(self)
        other.max_retries = max_retries
        return other

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self.http.aclose()

    async def _post(self, path: str, body: Body, fields: Mapping[str, Any]) -> httpx.Response:
        return await self._send("POST", path, encode(body, fields))

    async def _get(self, path: str) -> httpx.Response:
        return await self._send("GET", path)

    async def _send(self, method: str, path: str, content: bytes | None = None) -> httpx.Response:
        """The answer, after retrying a 503 or a connection not made (:func:`backoff`), at
        most ``max_retries`` times."""
        import asyncio

        import httpx

        attempt = 0
        while True:
            with transport_errors(url_of(self.http, path)):
                try:
                    response = await self.http.request(
                        method, path, content=content, headers=headers_of(content)
                    )
                except httpx.HTTPError as exc:
                    if attempt >= self.max_retries or not retryable(exc):
                        raise
                    wait = backoff(attempt, None)
                else:
                    if response.status_code != 503 or attempt >= self.max_retries:
                        return response
                    wait = backoff(attempt, retry_after(response))
            await asyncio.sleep(wait)
            attempt += 1

    async def forward(
        self, body: Body = None, /, **fields: Unpack[ForwardFields]
    ) -> ForwardResponse:
        """``POST /forward``: every layer's z and a, and the outputs."""
        from app.schemas.passes import ForwardResponse

        return parse(await self._post("/forward", body, fields), ForwardResponse)

    async def loss(self, body: Body = None, /, **fields: Unpack[LossFields]) -> LossResponse:
        """``POST /loss``: the loss (and accuracy) and the outputs."""
        from app.schemas.passes import LossResponse

        return parse(await self._post("/loss", body, fields), LossResponse)

    async def backward(
        self, body: Body = None, /, **fields: Unpack[BackwardFields]
    ) -> BackwardResponse:
        """``POST /backward``: the forward pass, the loss and every gradient."""
        from app.schemas.passes import BackwardResponse

        return parse(await self._post("/backward", body, fields), BackwardResponse)

    async def train(self, body: Body = None, /, **fields: Unpack[TrainFields]) -> TrainResponse:
        """``POST /train``: the whole run, its summary and its recorded trace."""
        from app.schemas.training import TrainResponse

        return parse(await self._post("/train", body, fields), TrainResponse)

    async def init(self, body: Body = None, /, **fields: Unpack[InitFields]) -> InitResponse:
        """``POST /init``: a network of the given sizes with seeded parameters."""
        from app.schemas.init import InitResponse

        return parse(await self._post("/init", body, fields), InitResponse)

    async def gradcheck(
        self, body: Body = None, /, **fields: Unpack[GradcheckFields]
    ) -> GradcheckResponse:
        """``POST /gradcheck``: analytic gradients against finite differences."""
        from app.schemas.diagnostics import GradcheckResponse

        return parse(await self._post("/gradcheck", body, fields), GradcheckResponse)

    async def check(self, body: Body = None, /, **fields: Unpack[CheckFields]) -> CheckResponse:
        """``POST /check``: values computed by hand for one SGD step, checked."""
        from app.schemas.diagnostics import CheckResponse

        return parse(await self._post("/check", body, fields), CheckResponse)

    async def explain(
        self, body: Body = None, /, **fields: Unpack[ExplainFields]
    ) -> ExplainResponse | str:
        """``POST /explain``: the worked solution of one step, as its JSON steps, or as Markdown
        or text when ``format`` is ``"markdown"`` or ``"text"``."""
        return explained(await self._post("/explain", body, fields))

    async def datasets(
        self, body: Body = None, /, **fields: Unpack[DatasetFields]
    ) -> DatasetResponse:
        """``POST /datasets``: a seeded data set's inputs and targets, ready for ``train``."""
        from app.schemas.datasets import DatasetResponse

        return parse(await self._post("/datasets", body, fields), DatasetResponse)

    async def export(self, body: Body = None, /, **fields: Unpack[ExportFields]) -> ExportResponse:
        """``POST /export``: a PyTorch or NumPy script that builds the network and trains it as
        /train does, or the network as a PyTorch state_dict (``format``); ``content`` is the
        file's text."""
        from app.schemas.export import ExportResponse

        return parse(await self._post("/export", body, fields), ExportResponse)

    async def dataset_list(self) -> DatasetList:
        """``GET /datasets``: the data sets with their parameters and defaults."""
        from app.schemas.datasets import DatasetList

        return parse(await self._get("/datasets"), DatasetList)

    async def exercises(
        self, body: Body = None, /, **fields: Unpack[ExerciseFields]
    ) -> ExerciseResponse:
        """``POST /exercises``: one variant of an exercise template, for a seed or a student."""
        from app.schemas.exercises import ExerciseResponse

        return parse(await self._post("/exercises", body, fields), ExerciseResponse)

    async def exercise_list(self) -> ExerciseList:
        """``GET /exercises``: the ready exercise templates and the limits of one."""
        from app.schemas.exercises import ExerciseList

        return parse(await self._get("/exercises"), ExerciseList)

    async def livez(self) -> Health:
        """``GET /livez``: the process serves."""
        from app.schemas.operations import Health

        return parse(await self._get("/livez"), Health)

    async def readyz(self) -> Health:
        """``GET /readyz``: the service is ready for traffic."""
        from app.schemas.operations import Health

        return parse(await self._get("/readyz"), Health)

    async def train_stream(
        self, body: Body = None, /, **fields: Unpack[TrainFields]
    ) -> AsyncIterator[EpochTrace | TrainSummary]:
        """``POST /train/stream``: each recorded epoch as it arrives, then the summary."""
        async with aclosing(self._stream_lines(encode(body, fields))) as lines:
            async for line in lines:
                yield stream_line().validate_json(line)

    async def train_lines(
        self, body: Body = None, /, **fields: Unpack[TrainFields]
    ) -> AsyncIterator[dict[str, Any]]:
        """``POST /train/stream`` as its lines' plain JSON, without models (see
        :meth:`Client.train_lines`)."""
        async with aclosing(self._stream_lines(encode(body, fields))) as lines:
            async for line in lines:
                yield orjson.loads(line)

    async def _stream_lines(self, content: bytes) -> AsyncGenerator[str, None]:
        """The lines of ``/train/stream``'s answer to ``content`` as they arrive, after retrying
        a 503 or a connection not made (:func:`backoff`)."""
        import asyncio

        import httpx

        attempt = 0
        while True:
            with transport_errors(url_of(self.http, "/train/stream")):
                try:
                    async with self.http.stream(
                        "POST", "/train/stream", content=content, headers=HEADERS
                    ) as r:
                        if r.status_code == 200:
                            async for line in r.aiter_lines():
                                if line:
                                    yield line
                            return
                        await r.aread()
                        if r.status_code != 503 or attempt >= self.max_retries:
                            raise error(r)
                        wait = backoff(attempt, retry_after(r))
                except httpx.HTTPError as exc:
                    if attempt >= self.max_retries or not retryable(exc):
                        raise
                    wait = backoff(attempt, None)
            await asyncio.sleep(wait)
            attempt += 1
