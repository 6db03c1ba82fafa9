"""docs/compatibility.md's table of Adobe's image operations stays true: one row for every method
and path in Adobe's OpenAPI files (read in place from ../shared/reference, never copied), each
marked served, partial or 501, and the server routes exactly the rows the table says it serves
while the others answer 501 ``not_implemented``."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.routing import Match

from support.inprocess import InProcessServer, inprocess_server
from support.procs import REPO_ROOT

DOC = REPO_ROOT / "docs" / "compatibility.md"
SECTION = "## Adobe's image operations"
METHODS = ("get", "post", "put", "patch", "delete")
ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/\S*)` \|(.*)\|\s*$")
STATES = ("served", "partial", "501")


@dataclass(frozen=True)
class Row:
    """One operation of the table: its lampyris state and what differs from Adobe's."""

    operation: str
    state: str
    differs: str


def _spec_folder() -> Path:
    """The shared reference beside the checkout (../shared), wherever this checkout lives."""
    candidates = [base / "shared" / "reference" / "adobe-openapi"
                  for base in (REPO_ROOT.parent, Path("/work"))]
    return next((p for p in candidates if p.is_dir()), candidates[0])


def adobe_operations(folder: Path) -> set[str]:
    """``"METHOD /path"`` for every operation of every OpenAPI file in ``folder``; a path
    parameter counts once whatever its name (aio-lib's spec spells ``{jobID}``)."""
    found: set[str] = set()
    for spec in sorted(folder.glob("*.json")):
        contents = json.loads(spec.read_text())
        if not isinstance(contents, dict) or "paths" not in contents:
            continue  # the 2021 apiDoc files are lists of examples, not OpenAPI
        for path, item in contents["paths"].items():
            template = re.sub(r"\{[^}]*\}", "{jobId}", path)
            found |= {f"{m.upper()} {template}" for m in item if m.lower() in METHODS}
    return found


def _section(text: str) -> str:
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start:] if end < 0 else text[start:end]


def table_rows(text: str) -> list[Row]:
    rows = []
    for line in _section(text).splitlines():
        match = ROW.match(line)
        if match:
            cells = [c.strip() for c in match.group(3).split("|")]
            rows.append(Row(f"{match.group(1)} {match.group(2)}", cells[1], cells[2]))
    return rows


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return table_rows(DOC.read_text())


@pytest.fixture(scope="module")
def specs() -> set[str]:
    folder = _spec_folder()
    if not folder.is_dir():
        pytest.skip(f"Adobe's OpenAPI files are not at {folder}")
    return adobe_operations(folder)


@pytest.fixture(scope="module")
def routes_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """The routes of a real app; no executor (nothing here submits a job that must run)."""
    with inprocess_server(tmp_path_factory.mktemp("compat"), jobs=False) as live:
        yield live


def test_one_row_for_every_operation_in_adobes_specs(rows: list[Row], specs: set[str]) -> None:
    listed = Counter(row.operation for row in rows)
    assert [op for op, n in listed.items() if n > 1] == [], "one row per operation"
    assert sorted(specs - set(listed)) == [], "operations of Adobe's specs missing from the table"
    assert sorted(set(listed) - specs) == [], "rows that are in none of Adobe's specs"
    assert f"**{len(specs)}**" in _section(DOC.read_text()), "the count the page states"


def test_each_row_is_served_partial_or_501_and_says_what_differs(rows: list[Row]) -> None:
    assert rows, f"no table under {SECTION!r} in {DOC}"
    for row in rows:
        assert row.state in STATES, row
        if row.state != "served":
            assert row.differs, f"{row.operation}: say what differs"
    counts = Counter(row.state for row in rows)
    summary = f"Served {counts['served']}, partial {counts['partial']}, 501 {counts['501']}."
    assert summary in _section(DOC.read_text())


def _routed(app: FastAPI, operation: str) -> bool:
    """Whether a route of ``app`` (not the 404/501 handler) answers ``operation``."""
    method, template = operation.split(" ", 1)
    scope = {"type": "http", "method": method, "root_path": "", "query_string": b"",
             "headers": [], "path": template.replace("{jobId}", "urn:ff:jobs:lampyris:0")}
    return any(route.matches(scope)[0] is Match.FULL for route in app.router.routes)


def test_the_server_routes_what_the_table_serves(
    rows: list[Row], routes_only: InProcessServer
) -> None:
    routed = {row.operation: _routed(routes_only.app, row.operation) for row in rows}
    wrong = [f"{row.operation} is {row.state} in the table but "
             f"{'routed' if routed[row.operation] else 'not routed'}"
             for row in rows if routed[row.operation] != (row.state != "501")]
    assert not wrong, "\n".join(wrong)


def test_the_operations_marked_501_answer_not_implemented(
    rows: list[Row], routes_only: InProcessServer
) -> None:
    for row in (r for r in rows if r.state == "501"):
        method, template = row.operation.split(" ", 1)
        path = template.replace("{jobId}", "00000000-0000-4000-8000-000000000000")
        answer = routes_only.http.request(method, path, json={},
                                          headers=routes_only.headers())
        assert answer.status_code == 501, (row.operation, answer.status_code, answer.text)
        assert "not_implemented" in answer.text, (row.operation, answer.text)
        assert answer.headers["content-type"].startswith("application/json")
