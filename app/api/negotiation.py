"""Content negotiation: which of an endpoint's media types the ``Accept`` header prefers.

As RFC 9110 §12.5.1 says: each media range may carry a weight ``q`` from 0 to 1 (1 when absent),
``q=0`` meaning "not acceptable"; a media type takes the weight of the most specific range that
matches it (``text/plain`` before ``text/*`` before ``*/*``). Among the offered types the highest
weight wins; at equal weight a type the client named beats one a wildcard matched, then the
range the client listed first, then the endpoint's own order. When ``Accept`` is absent or
accepts none of them the endpoint answers its first, default type, as the RFC allows (it never
answers 406). A range with a malformed weight is ignored; parameters other than ``q`` are too.
"""

from collections.abc import Mapping, Sequence
from typing import NamedTuple, TypeVar

T = TypeVar("T")


class _Range(NamedTuple):
    """One media range of ``Accept``: its type and subtype (``*`` for a wildcard) and weight."""

    type: str
    subtype: str
    weight: float


def _ranges(accept: str) -> list[_Range]:
    """The well-formed media ranges of ``accept``, in the client's order."""
    ranges = []
    for item in accept.split(","):
        media, *parameters = item.split(";")
        kind, slash, subtype = media.strip().lower().partition("/")
        if not slash or not kind or not subtype:
            continue
        weight: float | None = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                weight = _weight(value.strip())
        if weight is not None:
            ranges.append(_Range(kind, subtype, weight))
    return ranges


def _weight(value: str) -> float | None:
    """A ``qvalue`` (``0``, ``0.5``, ``1.000`` …), or None when it is not one."""
    try:
        weight = float(value)
    except ValueError:
        return None
    return weight if 0.0 <= weight <= 1.0 and len(value) <= 5 else None


def preferred(accept: str | None, offered: Sequence[str]) -> str:
    """The media type of ``offered`` that ``accept`` prefers; ``offered[0]`` (the default) when
    ``accept`` is absent or accepts none of them."""
    ranges = _ranges(accept or "")
    best, best_key = offered[0], None
    for order, media in enumerate(offered):
        kind, _, subtype = media.partition("/")
        matches = [
            (specificity, -position, weight)
            for position, (their_type, their_subtype, weight) in enumerate(ranges)
            if (specificity := _specificity(their_type, their_subtype, kind, subtype)) >= 0
        ]
        if not matches:
            continue
        specificity, first, weight = max(matches)
        key = (weight, specificity, first, -order)
        if weight > 0 and (best_key is None or key > best_key):
            best, best_key = media, key
    return best


def negotiate(accept: str | None, answers: Mapping[str, T]) -> T:
    """What an endpoint answers for the media type ``accept`` prefers among the keys of
    ``answers``, the endpoint's media types in its order: the first one's answer by default."""
    return answers[preferred(accept, tuple(answers))]


def _specificity(their_type: str, their_subtype: str, kind: str, subtype: str) -> int:
    """How specifically a range matches ``kind/subtype``: 2 exactly, 1 as ``kind/*``, 0 as
    ``*/*``; -1 when it does not."""
    if their_type == kind and their_subtype == subtype:
        return 2
    if their_type == kind and their_subtype == "*":
        return 1
    return 0 if their_type == their_subtype == "*" else -1
