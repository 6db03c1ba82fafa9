"""Adobe's OpenAPI schemas as validators, read in place from ../shared/reference (the files are
not ours to copy), for tests that check a response's shape without a live server.

Usage::

    validate = schema_validator("sdkjs-FFApiOpenApi3.json")
    validate("GenerateImagesResponse", answer.json())
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from support.procs import REPO_ROOT

Validator = Callable[[str, Any], None]


def spec_path(name: str) -> Path:
    """The shared reference beside the checkout (../shared), wherever this checkout lives."""
    candidates = [base / "shared" / "reference" / "adobe-openapi" / name
                  for base in (REPO_ROOT.parent, Path("/work"))]
    return next((p for p in candidates if p.exists()), candidates[0])


def schema_validator(name: str) -> Validator:
    """``validate(schema, instance)`` against ``components.schemas`` of the spec ``name``;
    skips the test when the reference is not there."""
    spec = spec_path(name)
    if not spec.exists():
        pytest.skip(f"Adobe's OpenAPI file is not at {spec}")
    resource = Resource.from_contents(json.loads(spec.read_text()),
                                      default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:spec", resource)

    def validate(schema: str, instance: Any) -> None:
        ref = {"$ref": f"urn:spec#/components/schemas/{schema}"}
        errors = list(Draft202012Validator(ref, registry=registry).iter_errors(instance))
        assert not errors, f"{schema}: {[e.message for e in errors]}\n{instance}"

    return validate
