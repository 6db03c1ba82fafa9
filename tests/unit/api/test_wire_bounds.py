"""Every field a request body may carry is bounded, so no body can make the server store, echo
or compute something unbounded: strings and lists have a maximum length, numbers a range, and
no field takes free-form JSON (an ``options: {…}`` of 10 MB would otherwise be stored as sent).
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from lampyris.api.firefly_wire import CompositeRequest, ExpandRequest, FillRequest
from lampyris.api.lightroom_wire import (
    AutoStraightenRequest,
    AutoToneRequest,
    EditRequest,
    PresetsRequest,
    XmpRequest,
)
from lampyris.api.photoshop_edit_wire import V2EditRequest
from lampyris.api.photoshop_wire import RemoveBackgroundRequest, SenseiRequest

REQUESTS = [SenseiRequest, RemoveBackgroundRequest, V2EditRequest, AutoToneRequest,
            AutoStraightenRequest, PresetsRequest, EditRequest, XmpRequest, FillRequest,
            ExpandRequest, CompositeRequest]


def _kinds(metadata: list[Any]) -> set[type]:
    return {type(m) for m in metadata}


def _unbounded(tp: Any, metadata: list[Any], where: str, seen: set[type]) -> list[str]:
    """Where the type ``tp`` (with its constraints) lets a value grow without limit."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        extra = [m for a in args[1:] for m in (a.metadata if isinstance(a, FieldInfo) else [a])]
        return _unbounded(args[0], metadata + extra, where, seen)
    if origin in (Union, types.UnionType):
        return [p for a in args if a is not type(None)
                for p in _unbounded(a, metadata, where, seen)]
    if origin is Literal or tp is bool:
        return []
    kinds = _kinds(metadata)
    if tp is str:
        return [] if at.MaxLen in kinds else [f"{where}: a string without max_length"]
    if tp in (int, float):
        low, high = kinds & {at.Ge, at.Gt}, kinds & {at.Le, at.Lt}
        return [] if low and high else [f"{where}: a number without a range"]
    if origin is list:
        own = [] if at.MaxLen in kinds else [f"{where}: a list without max_length"]
        return own + _unbounded(args[0], [], f"{where}[]", seen)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _model(tp, f"{where}.", seen)
    return [f"{where}: free-form {tp!r}"]


def _model(model: type[BaseModel], prefix: str, seen: set[type]) -> list[str]:
    if model in seen:
        return []
    seen = seen | {model}
    return [p for name, field in model.model_fields.items()
            for p in _unbounded(field.annotation, list(field.metadata), prefix + name, seen)]


@pytest.mark.parametrize("model", REQUESTS, ids=lambda m: m.__name__)
def test_every_request_field_is_bounded(model: type[BaseModel]) -> None:
    assert _model(model, "", set()) == []


def test_unknown_fields_are_dropped_not_kept() -> None:
    body = SenseiRequest.model_validate({
        "input": {"href": "https://example.com/a.jpg", "storage": "external"},
        "output": {"href": "https://example.com/a.png", "storage": "external"},
        "options": {"optimize": "batch", "junk": "x" * 100_000},
        "lampyris": {"padding": "6%", "junk": "x" * 100_000}, "junk": "x" * 100_000,
    })
    dumped = body.model_dump(mode="json", exclude_none=True)
    assert "junk" not in str(dumped)
    assert dumped["options"] == {"optimize": "batch"}
    assert dumped["lampyris"] == {"padding": "6%"}
