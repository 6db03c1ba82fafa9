"""FastAPI's (pydantic v2's) validation error types in the words Firefly's ``validation_errors``
use: pydantic v1's (``value_error.missing``, ``type_error.enum`` with ``enum_values``…), as
Adobe's FastAPI-era spec and examples show them, so a script matching on ``type`` keeps working.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# pydantic v2's error types → the pydantic v1 words Firefly's ``validation_errors`` use, and
# the v1 ``ctx`` key for the v2 one that carries the limit.
_V1_ERROR_TYPES: dict[str, tuple[str, str | None]] = {
    "missing": ("value_error.missing", None),
    "enum": ("type_error.enum", None), "literal_error": ("type_error.enum", None),
    "int_type": ("type_error.integer", None), "int_parsing": ("type_error.integer", None),
    "int_from_float": ("type_error.integer", None),
    "float_type": ("type_error.float", None), "float_parsing": ("type_error.float", None),
    "string_type": ("type_error.str", None), "bool_type": ("type_error.bool", None),
    "bool_parsing": ("type_error.bool", None), "list_type": ("type_error.list", None),
    "dict_type": ("type_error.dict", None), "model_type": ("type_error.dict", None),
    "model_attributes_type": ("type_error.dict", None),
    "uuid_type": ("type_error.uuid", None), "uuid_parsing": ("type_error.uuid", None),
    "url_type": ("value_error.url", None), "url_parsing": ("value_error.url", None),
    "greater_than": ("value_error.number.not_gt", "gt"),
    "greater_than_equal": ("value_error.number.not_ge", "ge"),
    "less_than": ("value_error.number.not_lt", "lt"),
    "less_than_equal": ("value_error.number.not_le", "le"),
    "string_too_short": ("value_error.any_str.min_length", "min_length"),
    "string_too_long": ("value_error.any_str.max_length", "max_length"),
    "too_short": ("value_error.list.min_items", "min_length"),
    "too_long": ("value_error.list.max_items", "max_length"),
    "extra_forbidden": ("value_error.extra", None),
    "json_invalid": ("value_error.jsondecode", None),
}


def v1_error_type(problem: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A pydantic v2 error as pydantic v1's ``(type, ctx)``: ``type_error.enum`` with
    ``enum_values``, ``value_error.number.not_gt`` with ``limit_value``…; an unknown type is
    ``value_error``."""
    kind, limit = _V1_ERROR_TYPES.get(str(problem.get("type")), ("value_error", None))
    ctx = problem.get("ctx") or {}
    if kind == "type_error.enum":
        expected = str(ctx.get("expected", ""))
        values = re.findall(r"'((?:[^'\\]|\\.)*)'", expected) or [
            v for v in re.split(r", | or ", expected) if v]
        return kind, {"enum_values": values}
    if limit is not None and limit in ctx:
        return kind, {"limit_value": ctx[limit]}
    return kind, {}
