"""The console's batch reports: the ledgers of ``lampyris batch`` / ``--ledger`` runs found
under the folders ``LAMPYRIS_CONSOLE_REPORTS`` names, their items in review order, their
thumbnails, a reject mark per item and an item's input as a new upload (to re-run it).

No path from a client reaches the filesystem: a report is named by an opaque id (a hash of
its folder and relative path) found again by listing the configured folders, an item by a
hash of its ledger key, a thumbnail by a bare file name in the run's own thumbnail folder.
Ledgers are opened read-only; one that is not a ledger, or cannot be read now, is listed
with a one-line ``error``. Reject marks live beside the ledger (``<ledger>.review.json``):
the batch owns its ledger, and a mark lapses by itself once the item is done again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from lampyris.api.auth import Principal, principal
from lampyris.api.console import console_on
from lampyris.api.console_jobs import invalid
from lampyris.api.errors import ApiError
from lampyris.api.firefly_bodies import UPLOAD_TYPES, keep_upload
from lampyris.api.services import Services, services
from lampyris.errors import InputError
from lampyris.imaging.decode import probe
from lampyris.storage.locations import Location
from lampyris.workflows.ledger import Ledger, LedgerItem
from lampyris.workflows.records import RunRecords
from lampyris.workflows.report import write_json


def report_client(who: Principal = Depends(principal),
                  svc: Services = Depends(services)) -> None:
    """Only the clients ``LAMPYRIS_CONSOLE_REPORT_CLIENTS`` names, where it names any."""
    allowed = svc.config.server.console_report_clients
    if allowed and who.client_id not in allowed:
        raise ApiError(403, "access_error", "this client may not open the batch reports: "
                                            "the operator lists those that may in "
                                            "LAMPYRIS_CONSOLE_REPORT_CLIENTS")


router = APIRouter(prefix="/lampyris/v1/reports", tags=["Console"],
                   dependencies=[Depends(console_on), Depends(report_client)])

MAX_DEPTH = 3  # folders below a configured one that are searched
ItemState = Literal["done", "failed", "skipped", "rejected"]
ITEM_STATES: tuple[str, ...] = ("done", "failed", "skipped", "rejected")
_marks_lock = threading.Lock()


def _hash(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Found:
    """A ledger under a configured folder: its opaque id, the folder and the file."""

    folder: Path
    ledger: Path

    @property
    def rel(self) -> str:
        return self.ledger.relative_to(self.folder).as_posix()

    @property
    def id(self) -> str:
        return _hash(str(self.folder), self.rel)

    @property
    def name(self) -> str:
        """The destination folder of a ``.lampyris/ledger.db``, else the ledger's stem."""
        if self.ledger.name == "ledger.db" and self.ledger.parent.name == ".lampyris":
            return self.ledger.parent.parent.name or self.rel
        return self.ledger.name.removesuffix(".db").removesuffix(".ledger")

    @property
    def marks(self) -> Path:
        return Path(f"{self.ledger}.review.json")

    @property
    def thumbs(self) -> Path:
        return RunRecords.beside(self.ledger).thumbs


def _is_ledger_name(path: Path) -> bool:
    return path.name.endswith(".ledger.db") or (path.name == "ledger.db"
                                                and path.parent.name == ".lampyris")


def find_ledgers(folders: list[Path]) -> Iterator[Found]:
    """Every ledger under ``folders``, at most ``MAX_DEPTH`` folders down (a destination's own
    ``.lampyris`` folder does not count), never through a link out of its folder."""
    for configured in folders:
        folder = configured.resolve()
        if not folder.is_dir():
            continue
        for here, dirs, names in os.walk(folder):
            where = Path(here)
            depth = len(where.relative_to(folder).parts) - (where.name == ".lampyris")
            dirs[:] = sorted(d for d in dirs if not d.endswith(".thumbs") and (
                d == ".lampyris" or (not d.startswith(".") and depth < MAX_DEPTH)))
            for name in sorted(names):
                path = where / name
                if _is_ledger_name(path) and path.resolve().is_relative_to(folder):
                    yield Found(folder, path)


def _found(svc: Services, report_id: str) -> Found:
    for found in find_ledgers(svc.config.server.console_reports):
        if found.id == report_id:
            return found
    raise ApiError(404, "not_found", f"there is no report {report_id!r}: list the reports "
                                     "at /lampyris/v1/reports and use one of their ids")


def _open(found: Found) -> Ledger:
    """The ledger, read-only; a 409 in one line when it cannot be read as one."""
    try:
        return Ledger.reading(found.ledger)
    except sqlite3.Error as exc:
        raise ApiError(409, "report_unreadable", _unreadable(found, exc)) from None


def _unreadable(found: Found, exc: sqlite3.Error) -> str:
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return f"{found.rel} is locked by a running batch: try again in a moment"
    return f"{found.rel} is not a lampyris ledger ({exc}): remove it or move it elsewhere"


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- runs and items ------------------------------------------------------------------------
def _state(item: LedgerItem, run_id: int) -> ItemState:
    """An item as a run left it: failed (by this run, or still, unchanged since), done by
    this run, or skipped (done before, or left unfinished)."""
    if item.status == "failed":
        return "failed"
    return "done" if item.run_id == run_id and item.status == "done" else "skipped"


def _items_of(ledger: Ledger, run: dict[str, Any]) -> Iterator[LedgerItem]:
    """The items of the run's destination as they stood after it (later runs' are not)."""
    for item in ledger.items(dest=run["dest"]):
        if item.run_id is None or item.run_id <= run["id"]:
            yield item


def _runs(ledger: Ledger) -> list[dict[str, Any]]:
    """Each run with what it left (``_state``), from the ledger's counts alone."""
    tally, runs = ledger.tally(), []
    for run in ledger.runs():
        counts = {"done": 0, "failed": 0, "skipped": 0}
        for (dest, run_id, status), n in tally.items():
            if dest != run["dest"] or (run_id is not None and run_id > run["id"]):
                continue
            fresh = status == "failed" or (run_id == run["id"] and status == "done")
            counts[status if fresh else "skipped"] += n
        runs.append({"runId": run["id"], "started": _iso(run["started"]),
                     "finished": _iso(run["finished"]), **counts})
    return runs


def _review(item: LedgerItem) -> dict[str, Any]:
    return item.review if isinstance(item.review, dict) else {}


def _score(item: LedgerItem) -> float | None:
    """The result's confidence (its ``review`` score: lower = more likely wrong), or None."""
    score = _review(item).get("score")
    return float(score) if isinstance(score, int | float) and not isinstance(score, bool) \
        else None


def _notices(item: LedgerItem) -> list[str]:
    said = item.details.get("notices")
    return [str(text) for text in said] if isinstance(said, list) else []


def review_rank(entry: dict[str, Any]) -> tuple[int, bool, float, str]:
    """The ledger's worst-first order (``ledger.REVIEW_ORDER``: failed, flagged by score,
    the rest by score, no score last, by name), with the items a person rejected right after
    the failed ones and those with notices (a guard or a step's warning) before the rest."""
    rank = (0 if entry["state"] == "failed" else 1 if entry["rejected"]
            else 2 if entry["flagged"] else 3 if entry["notices"] else 4)
    score = entry["score"]
    return rank, score is None, 0.0 if score is None else score, entry["source"]


def _reason(item: LedgerItem, state: ItemState, mark: dict[str, Any] | None) -> str | None:
    """One line: why the item is listed where it is."""
    if state == "failed":
        lines = (item.error or "").strip().splitlines()
        error = lines[0] if lines else "failed"
        return (f"fidelity guard failed: {error}" if "fidelity guard" in error
                else f"failed: {error}")
    if mark is not None and mark.get("rejected"):
        return f"rejected: {mark['note']}" if mark.get("note") else "rejected"
    review, notices, score = _review(item), _notices(item), _score(item)
    if item.flagged:
        said = review.get("reasons")
        reasons = [str(r) for r in said if r] if isinstance(said, list) else []
        line = "low confidence" if score is None else f"low confidence {score:.2f}"
        return f"{line}: {reasons[0]}" if reasons else line
    if notices:
        kind = "fidelity guard" if any("fidelity guard" in t for t in notices) else "notice"
        more = f" (+{len(notices) - 1} more)" if len(notices) > 1 else ""
        return f"{kind}: {notices[0]}{more}"
    return None


def _below(url: str | None, root: str) -> str | None:
    """``url`` relative to the run's folder ``root`` where it lies below it (what a person
    recognises), else as it is."""
    prefix = root.rstrip("/") + "/"
    return url[len(prefix):] if url and root and url.startswith(prefix) else url


def _entry(found: Found, item: LedgerItem, run: dict[str, Any],
           marks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    run_id = run["id"]
    key = _hash(item.input_url, item.dest)
    mark = marks.get(key)
    if not isinstance(mark, dict):
        mark = None  # not a mark this server wrote
    if mark is not None and mark.get("finished") != item.finished:
        mark = None  # done again since it was rejected: the mark was for the old output
    state = _state(item, run_id)

    def thumb(kind: str) -> str | None:
        name = item.details.get(f"thumb_{kind}")
        return (f"/lampyris/v1/reports/{found.id}/thumbs/{name}"
                if isinstance(name, str) and _bare(name) else None)

    source = _below(item.input_url, run.get("source") or "")
    return {"key": key, "source": source or item.rel,
            "output": _below(item.output_url, run.get("dest") or ""),
            "state": "rejected" if mark and mark.get("rejected") else state,
            "error": item.error, "reason": _reason(item, state, mark), "score": _score(item),
            "flagged": item.flagged, "notices": _notices(item),
            "thumbBefore": thumb("before"), "thumbAfter": thumb("after"),
            "rejected": bool(mark and mark.get("rejected")),
            "note": mark.get("note") if mark else None}


def _bare(name: str) -> bool:
    return name not in ("", ".", "..") and Path(name).name == name and "\\" not in name


def _run(ledger: Ledger, run_id: int | None) -> dict[str, Any]:
    runs = ledger.runs()
    if not runs:
        raise ApiError(404, "not_found", "this report has no runs yet: run the batch first")
    if run_id is None:
        return runs[-1]
    for run in runs:
        if run["id"] == run_id:
            return run
    known = ", ".join(str(r["id"]) for r in runs)
    raise ApiError(404, "not_found", f"the report has no run {run_id}: use one of {known}")


# -- reject marks (beside the ledger) ------------------------------------------------------
def _read_marks(found: Found) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(found.marks.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    items = data.get("items") if isinstance(data, dict) else None
    return items if isinstance(items, dict) else {}


def _write_mark(found: Found, key: str, item: LedgerItem, rejected: bool, note: str) -> None:
    with _marks_lock:
        marks = _read_marks(found)
        if rejected:
            marks[key] = {"rejected": True, "note": note, "finished": item.finished,
                          "source": item.rel or item.input_url,
                          "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        else:
            marks.pop(key, None)
        try:
            write_json(found.marks, {"version": 1, "items": marks})
        except OSError as exc:
            raise ApiError(409, "report_read_only", f"cannot keep the mark beside "
                           f"{found.rel}: {exc.strerror or exc}; make its folder writable "
                           "for the server") from None


def _item(ledger: Ledger, key: str) -> LedgerItem:
    for item in ledger.items():
        if _hash(item.input_url, item.dest) == key:
            return item
    raise ApiError(404, "not_found", f"the report has no item {key!r}: reload the report")


# -- routes --------------------------------------------------------------------------------
def _describe(found: Found) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": found.id, "name": found.name, "path": found.rel}
    try:
        with Ledger.reading(found.ledger) as ledger:
            entry["runs"] = _runs(ledger)
    except sqlite3.Error as exc:
        entry.update(runs=[], error=_unreadable(found, exc))
    return entry


@router.get("", summary="Batch reports found under the configured folders")
def list_reports(who: Principal = Depends(principal),
                 svc: Services = Depends(services)) -> dict[str, Any]:
    return {"reports": [_describe(f) for f in find_ledgers(svc.config.server.console_reports)]}


@router.get("/{report_id}/items", summary="A run's items, likely failures first")
def report_items(
    report_id: str, run: int | None = None, sort: str = "review", state: str | None = None,
    limit: int = Query(1000, ge=1, le=10000),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> dict[str, Any]:
    if sort not in ("review", "name"):
        raise invalid("sort", f"unknown value {sort!r}: use review or name")
    if state is not None and state not in ITEM_STATES:
        raise invalid("state", f"unknown value {state!r}: use one of {', '.join(ITEM_STATES)}")
    found = _found(svc, report_id)
    marks = _read_marks(found)
    with _open(found) as ledger:
        chosen = _run(ledger, run)
        entries = [_entry(found, item, chosen, marks)
                   for item in _items_of(ledger, chosen)]
    if state is not None:
        entries = [e for e in entries if e["state"] == state]
    entries.sort(key=review_rank if sort == "review" else lambda e: e["source"])
    return {"runId": chosen["id"], "total": len(entries), "items": entries[:limit]}


@router.get("/{report_id}/thumbs/{name}", summary="A thumbnail the run wrote")
def thumb(report_id: str, name: str, who: Principal = Depends(principal),
          svc: Services = Depends(services)) -> Response:
    found = _found(svc, report_id)
    data = b""
    if _bare(name):
        with contextlib.suppress(OSError):  # missing or unreadable: the 404 below
            path = (found.thumbs / name).resolve()
            if path.is_relative_to(found.folder.resolve()):  # never through a link out of it
                data = path.read_bytes()
    kind = ("image/jpeg" if data.startswith(b"\xff\xd8\xff")
            else "image/png" if data.startswith(b"\x89PNG\r\n\x1a\n") else None)
    if kind is None:
        raise ApiError(404, "not_found", f"the report has no thumbnail {name!r}: run the "
                                         "batch again with a report to make thumbnails")
    return Response(data, media_type=kind, headers={"Cache-Control": "private, max-age=3600"})


@router.post("/{report_id}/items/{key}/reject", summary="Mark an item rejected (or not)")
def reject(report_id: str, key: str, rejected: bool = Body(True, embed=True),
           note: str = Body("", embed=True, max_length=2000),
           who: Principal = Depends(principal),
           svc: Services = Depends(services)) -> dict[str, Any]:
    found = _found(svc, report_id)
    with _open(found) as ledger:
        item = _item(ledger, key)
        _write_mark(found, key, item, rejected, " ".join(note.split()))
        chosen = _run(ledger, None)
        return _entry(found, item, chosen, _read_marks(found))


@router.post("/{report_id}/items/{key}/upload", summary="An item's input as a new upload")
async def upload(report_id: str, key: str, who: Principal = Depends(principal),
                 svc: Services = Depends(services)) -> dict[str, Any]:
    data = await run_in_threadpool(_input_bytes, svc, report_id, key)
    try:
        kind = f"image/{(probe(data)[2] or '').lower()}".replace("mpo", "jpeg")
    except InputError as exc:
        raise ApiError(400, "bad_request", f"the item's input is not a readable image ({exc}): "
                                           "it cannot be re-run") from None
    upload_id = await run_in_threadpool(keep_upload, svc, who.client_id, data,
                                        kind if kind in UPLOAD_TYPES else "image/png")
    return {"images": [{"id": upload_id}]}


def _input_bytes(svc: Services, report_id: str, key: str) -> bytes:
    """The item's input, read only from inside a configured folder (a run's local source
    counts only where it lies inside one) or below a run's remote source (a bucket)."""
    found = _found(svc, report_id)
    with _open(found) as ledger:
        item = _item(ledger, key)
        sources = [run["source"] for run in ledger.runs() if run["dest"] == item.dest]
    url, cap = item.input_url, svc.config.storage.storage_max_bytes
    gone = ApiError(404, "not_found", f"the input {item.rel or url} is no longer there: "
                                      "restore it, or upload the file yourself")
    local = _local(url)
    if local is not None:
        folders = [Path(f).resolve() for f in svc.config.server.console_reports]
        # a run's source counts only where it lies under a report folder: a ledger's
        # recorded source ("/", a relative path) never widens what the server reads
        roots = [*folders, *(root for root in (_local_root(s) for s in sources)
                             if root is not None
                             and any(root.is_relative_to(f) for f in folders))]
        path = Path(local).resolve() if local and Path(local).is_absolute() else None
        if path is None or not any(path.is_relative_to(r) for r in roots):
            raise _refused(item)
        try:
            if path.stat().st_size > cap:
                raise _too_big(cap)
            return path.read_bytes()
        except OSError:
            raise gone from None
    source = next((s for s in sources if urlparse(s).netloc  # a bucket, never "s3://"
                   and url.startswith(s.rstrip("/") + "/")), None)
    if source is None:
        raise _refused(item)
    try:
        fs, _ = Location(source).open()
        if (fs.size(url) or 0) > cap:
            raise _too_big(cap)
        data: bytes = fs.cat_file(url)
    except (OSError, ValueError):
        raise gone from None
    return data


def _local(url: str) -> str | None:
    """The file path of a local ``url`` (a path, or ``file://`` unquoted), None if remote."""
    if url.startswith("file:"):
        parts = urlparse(url)
        return unquote(parts.path) if parts.netloc in ("", "localhost") else ""
    return None if "://" in url else url


def _local_root(source: str | None) -> Path | None:
    """A run's local source as an absolute, resolved folder; None if remote or relative."""
    local = _local(source or "")
    if not local or not Path(local).is_absolute():
        return None
    return Path(local).resolve()


def _refused(item: LedgerItem) -> ApiError:
    return ApiError(403, "access_error", f"the input {item.rel or item.input_url} is outside "
                                         "the report folders (LAMPYRIS_CONSOLE_REPORTS): list "
                                         "its folder there, or upload it yourself")


def _too_big(cap: int) -> ApiError:
    return ApiError(413, "input_too_large", f"the input is larger than {cap} bytes: upload a "
                                            "smaller copy yourself")
