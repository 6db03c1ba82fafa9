"""The console's server side (``api/console*.py``) on the in-process server: the page and its
headers, a client's job history (paging, filters, privacy), the server's numbers, and batch
reports made by a real ``lampyris cutout --ledger`` run over a folder with a corrupt file."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PIL import Image

from lampyris.api.console import CSP, headers_for, objects_origin
from lampyris.api.console_reports import Found, _entry, _hash, _runs, _state, find_ledgers
from lampyris.api.settings import ServerSettings
from lampyris.jobs import JobRecord
from lampyris.jobs.record import now
from lampyris.storage import Blob
from lampyris.workflows.ledger import Ledger, LedgerItem
from support.batch_ledger import lampyris
from support.http_server import ScriptedServer
from support.images import assert_sane_cutout, product_photo
from support.inprocess import InProcessServer, inprocess_server
from support.lampyris_server import Credentials

JOBS = "/lampyris/v1/jobs"
REPORTS = "/lampyris/v1/reports"
CORRUPT = b"these are shipping notes, not an image\n" * 40


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real cutout run (two photos, one corrupt file) whose ledger sits in the reports
    folder, beside a file that is not a ledger and one too deep to be looked for."""
    root = tmp_path_factory.mktemp("console")
    photos, reports = root / "photos", root / "reports"
    photos.mkdir()
    (reports / "a" / "b" / "c" / "d").mkdir(parents=True)
    (photos / "apple.jpg").write_bytes(product_photo())
    (photos / "berry.jpg").write_bytes(product_photo(480, 360))
    (photos / "crate.jpg").write_bytes(CORRUPT)
    run = subprocess.run(lampyris(
        "cutout", str(photos), "--output", str(root / "cutouts"), "--jobs", "1",
        "--ledger", str(reports / "catalog.ledger.db"),
        "--report", str(reports / "catalog.report.html")),
        capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr  # one file failed
    (reports / "broken.ledger.db").write_bytes(b"not a database at all" * 100)
    (reports / "a" / "b" / "c" / "d" / "deep.ledger.db").write_bytes(b"too deep")
    return {"root": root, "photos": photos, "reports": reports}


@pytest.fixture(scope="module")
def live(folders: dict[str, Path]) -> Iterator[InProcessServer]:
    # the photos' folder too: a run's source is read only inside a report folder
    with inprocess_server(folders["root"] / "data",
                          console_reports=[folders["reports"], folders["photos"]]) as server:
        yield server


def _job(owner: str, op: str = "cutout", state: str = "succeeded", seconds: int = 0,
         **extra: Any) -> JobRecord:
    """A finished job row (never claimed by the executor), created ``seconds`` from now."""
    task = {"op": op, "input": {"href": f"https://images.example/{op}.jpg",
                                "storage": "external"}}
    stamp = now() + timedelta(seconds=seconds)
    return JobRecord(owner=owner, kind="v2", op=op, task=task, request={"op": op},
                     state=state, created=stamp, modified=stamp, **extra)  # type: ignore[arg-type]


# --- the page -----------------------------------------------------------------------------


def test_the_page_and_its_assets_need_no_token_and_carry_a_strict_csp(live: InProcessServer):
    page = live.http.get("/console")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "'unsafe-inline'" not in CSP
    assert page.headers["cache-control"] == "no-cache"
    assert b"/console/assets/" in page.content
    script = live.http.get("/console/assets/api.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["content-security-policy"] == CSP
    for bad in ("../console.py", "..%2Fconsole.py", ".hidden.js", "console.py", "nothing.js"):
        answer = live.http.get(f"/console/assets/{bad}")
        assert answer.status_code == 404, bad
        assert answer.json()["error_code"] == "not_found"


def test_every_console_route_needs_a_token(live: InProcessServer):
    for path in (JOBS, f"{JOBS}/x", "/lampyris/v1/server", REPORTS):
        bare = live.http.get(path)
        assert (bare.status_code, bare.json()["error_code"]) == (403, "403000"), path
        wrong = live.http.get(path, headers={"x-api-key": live.client.client_id,
                                             "Authorization": "Bearer not-a-token"})
        assert (wrong.status_code, wrong.json()["error_code"]) == (401, "401013"), path


def test_a_server_with_the_console_turned_off_answers_404(tmp_path: Path):
    with inprocess_server(tmp_path, jobs=False, console=False) as off:
        for path in ("/console", "/console/assets/api.js", JOBS, REPORTS):
            answer = off.get(path)
            assert answer.status_code == 404, path
            assert "LAMPYRIS_CONSOLE" in answer.json()["message"]


# --- jobs ---------------------------------------------------------------------------------


def test_jobs_page_newest_first_and_stay_stable_while_jobs_arrive(live: InProcessServer):
    who = live.add_client("pager")
    made = [live.svc.store.add(_job(who.client_id, seconds=-100 + i)) for i in range(7)]
    newest_first = [job.id for job in reversed(made)]

    first = live.get(f"{JOBS}?limit=3", who).json()
    assert [j["id"] for j in first["jobs"]] == newest_first[:3]
    live.svc.store.add(_job(who.client_id, seconds=5))  # arrives between pages
    second = live.get(f"{JOBS}?limit=3&before={first['next']}", who).json()
    assert [j["id"] for j in second["jobs"]] == newest_first[3:6]
    third = live.get(f"{JOBS}?limit=3&before={second['next']}", who).json()
    assert [j["id"] for j in third["jobs"]] == newest_first[6:]
    assert third["next"] is None

    job = first["jobs"][0]
    assert job["statusUrl"] == f"{live.url}/v2/status/{job['id']}"
    assert job["inputs"] == [{"name": "input", "url": "https://images.example/cutout.jpg"}]
    assert (job["kind"], job["op"], job["state"], job["error"]) == ("v2", "cutout",
                                                                    "succeeded", None)
    assert job["created"].endswith("Z") and job["settings"] == {"op": "cutout"}

    bad = live.get(f"{JOBS}?before=bm90LWEtY3Vyc29y", who)
    assert bad.status_code == 400 and "before" in bad.json()["message"]
    too_many = live.get(f"{JOBS}?limit=101", who)
    assert too_many.status_code == 400


def test_jobs_filter_by_op_and_state_and_refuse_unknown_values(live: InProcessServer):
    who = live.add_client("filters")
    store = live.svc.store
    fill = store.add(_job(who.client_id, op="fill", seconds=-3))
    failed = store.add(_job(who.client_id, op="cutout", state="failed", seconds=-2,
                            error={"code": "corrupt_image", "message": "not an image"}))
    store.add(_job(who.client_id, op="cutout", seconds=-1))

    by_op = live.get(f"{JOBS}?op=fill", who).json()["jobs"]
    assert [j["id"] for j in by_op] == [fill.id]
    by_state = live.get(f"{JOBS}?state=failed&op=cutout", who).json()["jobs"]
    assert [j["id"] for j in by_state] == [failed.id]
    assert by_state[0]["error"]["message"] == "not an image"

    unknown_op = live.get(f"{JOBS}?op=paint", who)
    assert unknown_op.status_code == 400
    assert {"error_code", "message"} <= unknown_op.json().keys()
    assert "'paint'" in unknown_op.json()["message"] and "cutout" in unknown_op.json()["message"]
    unknown_state = live.get(f"{JOBS}?state=done", who)
    assert unknown_state.status_code == 400 and "succeeded" in unknown_state.json()["message"]


def test_another_clients_jobs_are_invisible(live: InProcessServer):
    alice, bob = live.add_client("alice"), live.add_client("bob")
    hers = live.svc.store.add(_job(alice.client_id))
    assert [j["id"] for j in live.get(JOBS, alice).json()["jobs"]] == [hers.id]
    assert live.get(JOBS, bob).json() == {"jobs": [], "next": None}
    hidden = live.get(f"{JOBS}/{hers.id}", bob)
    assert (hidden.status_code, hidden.json()["error_code"]) == (404, "not_found")
    assert live.get(f"{JOBS}/{hers.id}", alice).json()["id"] == hers.id


def test_a_real_job_links_its_input_and_result_and_a_failed_one_says_why(
    live: InProcessServer, source: ScriptedServer, photo: bytes,
):
    who = live.add_client("real")
    upload_id = live.upload(photo, "image/jpeg", who)
    accepted = live.post("/v2/remove-background",  # as the console sends it
                         {"image": {"source": {"uploadId": upload_id}},
                          "output": {"mediaType": "image/png"}}, who).json()
    live.wait(accepted["statusUrl"], who=who)
    job = live.get(f"{JOBS}/{accepted['jobId']}", who).json()
    assert (job["state"], job["progress"], job["statusUrl"]) == ("succeeded", 100,
                                                                 accepted["statusUrl"])
    assert job["settings"]["image"]["source"]["uploadId"] == upload_id
    assert live.download(job["inputs"][0]["url"]) == photo  # the upload, freshly signed
    output = job["outputs"][0]
    assert (output["mediaType"], output["width"], output["height"]) == ("image/png", 640, 480)
    assert_sane_cutout(live.download(output["url"]))

    source.objects["/crate.jpg"] = Blob(CORRUPT, "image/jpeg")
    failed = live.post("/v2/remove-background",
                       {"image": {"source": {"url": source.url("/crate.jpg")}}}, who).json()
    live.wait(failed["statusUrl"], who=who)
    listed = live.get(f"{JOBS}?state=failed", who).json()["jobs"]
    assert [j["id"] for j in listed] == [failed["jobId"]]
    assert listed[0]["error"]["code"] == "unsupported_image"
    assert "not a supported image" in listed[0]["error"]["message"]
    assert listed[0]["outputs"] == []


def test_server_numbers_count_the_last_hour_by_op(live: InProcessServer):
    who = live.add_client("stats")
    before = live.get("/lampyris/v1/server", who).json()
    live.svc.store.add(_job(who.client_id, op="expand", state="failed"))
    live.svc.store.add(_job(who.client_id, op="expand"))
    live.svc.store.add(_job(who.client_id, op="expand"))
    stats = live.get("/lampyris/v1/server", who).json()
    assert stats["version"] and stats["workers"] == 1 and stats["executor"] == "inline"
    assert {"busy", "ready", "pending", "running"} <= stats.keys()
    assert stats["engine"]["model"] == "u2netp" and stats["engine"]["runtime"]
    hour, was = stats["lastHour"], before["lastHour"]
    assert hour["byOp"]["expand"] == {"succeeded": 2, "failed": 1}
    assert (hour["succeeded"] - was["succeeded"], hour["failed"] - was["failed"]) == (2, 1)
    assert hour["jobsPerSecond"] == pytest.approx(
        (hour["succeeded"] + hour["failed"] + hour["cancelled"]) / 3600, abs=1e-3)


# --- batch reports ------------------------------------------------------------------------


def _report(live: InProcessServer, who: Credentials | None = None) -> dict[str, Any]:
    reports = live.get(REPORTS, who).json()["reports"]
    return next(r for r in reports if r["path"] == "catalog.ledger.db")


def test_reports_are_found_under_the_folders_with_opaque_ids(live: InProcessServer):
    reports = {r["path"]: r for r in live.get(REPORTS).json()["reports"]}
    assert set(reports) == {"catalog.ledger.db", "broken.ledger.db"}  # not the deep one
    broken = reports["broken.ledger.db"]
    assert broken["runs"] == [] and "not a lampyris ledger" in broken["error"]
    assert "\n" not in broken["error"]
    catalog = reports["catalog.ledger.db"]
    assert catalog["name"] == "catalog" and "/" not in catalog["id"]
    assert "catalog" not in catalog["id"]
    (run,) = catalog["runs"]
    assert (run["done"], run["failed"], run["skipped"]) == (2, 1, 0)
    assert run["started"].endswith("Z") and run["finished"].endswith("Z")
    items = live.get(f"{REPORTS}/{broken['id']}/items")
    assert items.status_code == 409 and "not a lampyris ledger" in items.json()["message"]
    assert live.get(f"{REPORTS}/../../etc/items").status_code == 404
    assert live.get(f"{REPORTS}/{'0' * 24}/items").status_code == 404


def test_report_items_list_the_failed_item_first_with_thumbnails(live: InProcessServer):
    report = _report(live)
    body = live.get(f"{REPORTS}/{report['id']}/items").json()
    items = body["items"]
    crate = items[0]
    assert crate["source"] == "crate.jpg"
    assert (crate["state"], crate["thumbAfter"]) == ("failed", None)
    assert crate["reason"].startswith("failed: ") and "\n" not in crate["reason"]
    done = items[1:]
    assert sorted((i["source"], i["output"]) for i in done) == [("apple.jpg", "apple.png"),
                                                               ("berry.jpg", "berry.png")]
    scores = [i["score"] for i in done]
    assert scores == sorted(scores, key=lambda s: (s is None, s or 0.0))  # lowest first
    for item in done:
        assert item["state"] == "done" and item["rejected"] is False
        for url in (item["thumbBefore"], item["thumbAfter"]):
            thumb = live.get(url)
            assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
            with Image.open(io.BytesIO(thumb.content)) as image:
                assert image.format == "JPEG" and max(image.size) > 16
    by_name = live.get(f"{REPORTS}/{report['id']}/items?sort=name").json()["items"]
    assert [i["source"] for i in by_name] == ["apple.jpg", "berry.jpg", "crate.jpg"]
    only_failed = live.get(f"{REPORTS}/{report['id']}/items?state=failed").json()["items"]
    assert [i["source"] for i in only_failed] == ["crate.jpg"]
    assert live.get(f"{REPORTS}/{report['id']}/items?sort=size").status_code == 400
    assert live.get(f"{REPORTS}/{report['id']}/items?run=99").status_code == 404
    for name in ("..%2Fcatalog.ledger.db", "nothing.jpg"):
        assert live.get(f"{REPORTS}/{report['id']}/thumbs/{name}").status_code == 404


def test_a_rejected_item_stays_rejected_after_the_server_restarts(
    live: InProcessServer, folders: dict[str, Path],
):
    report = _report(live)
    items = live.get(f"{REPORTS}/{report['id']}/items?sort=name").json()["items"]
    apple = items[0]
    marked = live.post(f"{REPORTS}/{report['id']}/items/{apple['key']}/reject",
                       {"rejected": True, "note": "stem cut off"}).json()
    assert (marked["state"], marked["rejected"], marked["reason"]) == (
        "rejected", True, "rejected: stem cut off")
    order = live.get(f"{REPORTS}/{report['id']}/items").json()["items"]
    assert [i["source"] for i in order][:2] == ["crate.jpg", "apple.jpg"]  # right after failed

    with inprocess_server(folders["root"] / "again", jobs=False,
                          console_reports=[folders["reports"]]) as again:
        reopened = again.get(f"{REPORTS}/{report['id']}/items?state=rejected").json()["items"]
        assert [(i["source"], i["note"]) for i in reopened] == [("apple.jpg", "stem cut off")]
    kept = json.loads((folders["reports"] / "catalog.ledger.db.review.json").read_text())
    assert kept["items"][apple["key"]]["rejected"] is True

    undone = live.post(f"{REPORTS}/{report['id']}/items/{apple['key']}/reject",
                       {"rejected": False}).json()
    assert (undone["state"], undone["rejected"]) == ("done", False)
    missing = live.post(f"{REPORTS}/{report['id']}/items/nope/reject", {"rejected": True})
    assert missing.status_code == 404


def test_an_items_input_uploads_and_runs_again_through_the_normal_route(
    live: InProcessServer, folders: dict[str, Path],
):
    report = _report(live)
    items = {i["source"]: i for i in
             live.get(f"{REPORTS}/{report['id']}/items").json()["items"]}
    answer = live.post(f"{REPORTS}/{report['id']}/items/{items['berry.jpg']['key']}/upload",
                       None)
    assert answer.status_code == 200, answer.text
    (image,) = answer.json()["images"]
    status = live.run("/v2/remove-background",
                      {"image": {"source": {"uploadId": image["id"]}}, "trim": True,
                       "output": {"mediaType": "image/png"}})
    assert status["status"] == "succeeded", status
    png = live.download(status["result"]["outputs"][0]["destination"]["url"])
    with Image.open(io.BytesIO(png)) as cut:
        alpha = np.asarray(cut.convert("RGBA"))[..., 3]
    assert alpha.max() == 255 and alpha.min() == 0  # a subject, on transparency

    corrupt = live.post(f"{REPORTS}/{report['id']}/items/{items['crate.jpg']['key']}/upload",
                        None)
    assert corrupt.status_code == 400 and "not a readable image" in corrupt.json()["message"]


# --- finding ledgers and what each run left (no server) -----------------------------------


def test_ledgers_are_found_three_folders_down_and_never_through_a_link_out(tmp_path: Path):
    folder, outside = tmp_path / "reports", tmp_path / "outside"
    (folder / "shop" / "cutouts" / ".lampyris").mkdir(parents=True)
    (folder / "x" / "y" / "z" / "w").mkdir(parents=True)
    outside.mkdir()
    for path in (folder / "shop" / "cutouts" / ".lampyris" / "ledger.db",
                 folder / "x" / "y" / "z" / "w" / "deep.ledger.db",
                 folder / "x" / "y" / "z" / "kept.ledger.db",
                 folder / "notes.db", outside / "secret.ledger.db"):
        Ledger(path).close()
    (folder / "link.ledger.db").symlink_to(outside / "secret.ledger.db")
    found = {f.rel: f for f in find_ledgers([folder, tmp_path / "missing"])}
    assert set(found) == {"shop/cutouts/.lampyris/ledger.db", "x/y/z/kept.ledger.db"}
    assert found["shop/cutouts/.lampyris/ledger.db"].name == "cutouts"
    assert found["x/y/z/kept.ledger.db"].name == "kept"


def test_each_run_counts_what_it_did_and_what_it_skipped(tmp_path: Path):
    with Ledger(tmp_path / "run.ledger.db") as ledger:
        first = ledger.start_run("/in", "/out", ["cutout"])
        for name, status in (("a", "done"), ("b", "done"), ("c", "failed")):
            ledger.put(LedgerItem(f"/in/{name}.jpg", "/out", f"{name}.jpg", "f", status,
                                  run_id=first))
        second = ledger.start_run("/in", "/out", ["cutout"])
        ledger.put(LedgerItem("/in/b.jpg", "/out", "b.jpg", "f", "done", run_id=second))
        ledger.put(LedgerItem("/in/d.jpg", "/out", "d.jpg", "f", "pending", run_id=second))
    found = Found(tmp_path, tmp_path / "run.ledger.db")
    with Ledger.reading(found.ledger) as ledger:
        runs = _runs(ledger)
        states = {item.rel: _state(item, second) for item in ledger.items()}
    assert [(r["runId"], r["done"], r["failed"], r["skipped"]) for r in runs] == [
        (first, 1, 1, 0), (second, 1, 1, 2)]  # b was redone by the second run
    assert states == {"a.jpg": "skipped", "b.jpg": "done", "c.jpg": "failed",
                      "d.jpg": "skipped"}


def test_report_folders_come_from_the_environment_as_a_list_or_commas(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("LAMPYRIS_CONSOLE_REPORTS", "/srv/a, /srv/b")
    assert ServerSettings().console_reports == [Path("/srv/a"), Path("/srv/b")]
    monkeypatch.setenv("LAMPYRIS_CONSOLE_REPORTS", '["/srv/with, comma"]')
    assert ServerSettings().console_reports == [Path("/srv/with, comma")]
    monkeypatch.setenv("LAMPYRIS_CONSOLE_REPORTS", "[not json")
    with pytest.raises(ValueError, match="JSON list"):
        ServerSettings()


# --- review fixes -------------------------------------------------------------------------


def test_only_the_listed_clients_may_use_the_reports(live: InProcessServer,
                                                     monkeypatch: pytest.MonkeyPatch):
    other = live.add_client("colleague")
    monkeypatch.setattr(live.svc.config.server, "console_report_clients", [live.client.client_id])
    assert live.get(REPORTS).status_code == 200
    report = _report(live)
    for answer in (live.get(REPORTS, other), live.get(f"{REPORTS}/{report['id']}/items", other)):
        assert (answer.status_code, answer.json()["error_code"]) == (403, "access_error")
        assert "LAMPYRIS_CONSOLE_REPORT_CLIENTS" in answer.json()["message"]
    monkeypatch.setenv("LAMPYRIS_CONSOLE_REPORT_CLIENTS", "ops-1, ops-2")
    assert ServerSettings().console_report_clients == ["ops-1", "ops-2"]


def test_a_runs_source_outside_the_report_folders_is_not_read(
    live: InProcessServer, folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(live.svc.config.server, "console_reports", [folders["reports"]])
    report = _report(live)
    items = {i["source"]: i for i in
             live.get(f"{REPORTS}/{report['id']}/items").json()["items"]}
    answer = live.post(f"{REPORTS}/{report['id']}/items/{items['berry.jpg']['key']}/upload",
                       None)
    assert (answer.status_code, answer.json()["error_code"]) == (403, "access_error")


def test_a_recorded_source_of_root_widens_nothing(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch):
    reports, outside = tmp_path / "reports", tmp_path / "outside"
    reports.mkdir()
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(product_photo())
    with Ledger(reports / "run.ledger.db") as ledger:
        run = ledger.start_run("/", str(reports), ["cutout"])
        ledger.put(LedgerItem(f"file://{outside}/secret.jpg", str(reports), "secret.jpg", "f",
                              "done", run_id=run))
    with inprocess_server(tmp_path / "data", jobs=False, console_reports=[reports]) as server:
        [report] = server.get(REPORTS).json()["reports"]
        [item] = server.get(f"{REPORTS}/{report['id']}/items").json()["items"]
        answer = server.post(f"{REPORTS}/{report['id']}/items/{item['key']}/upload", None)
        assert answer.status_code == 403, answer.text


def test_a_thumbnail_link_out_of_the_report_folder_is_not_served(tmp_path: Path):
    reports, outside = tmp_path / "reports", tmp_path / "outside"
    reports.mkdir()
    outside.mkdir()
    jpeg = io.BytesIO()
    Image.new("RGB", (4, 4)).save(jpeg, "JPEG")
    (outside / "secret.jpg").write_bytes(jpeg.getvalue())
    with Ledger(reports / "run.ledger.db") as ledger:
        ledger.start_run(str(reports), str(reports), ["cutout"])
    found = Found(reports.resolve(), reports.resolve() / "run.ledger.db")
    found.thumbs.mkdir(parents=True, exist_ok=True)
    (found.thumbs / "inside.jpg").write_bytes(jpeg.getvalue())
    (found.thumbs / "link.jpg").symlink_to(outside / "secret.jpg")
    with inprocess_server(tmp_path / "data", jobs=False, console_reports=[reports]) as server:
        [report] = server.get(REPORTS).json()["reports"]
        assert server.get(f"{REPORTS}/{report['id']}/thumbs/inside.jpg").status_code == 200
        assert server.get(f"{REPORTS}/{report['id']}/thumbs/link.jpg").status_code == 404


def test_odd_ledger_values_give_a_reason_never_a_500(tmp_path: Path):
    found = Found(tmp_path, tmp_path / "run.ledger.db")
    run = {"id": 1, "source": "/in", "dest": "/out"}
    failed = LedgerItem("/in/a.jpg", "/out", "a.jpg", "f", "failed", error="  \n ", run_id=1)
    assert _entry(found, failed, run, {})["reason"] == "failed: failed"
    flagged = LedgerItem("/in/b.jpg", "/out", "b.jpg", "f", "done", run_id=1,
                         review={"flag": True, "score": "high", "reasons": 5})
    entry = _entry(found, flagged, run, {_hash("/in/b.jpg", "/out"): "not a mark"})
    assert (entry["reason"], entry["score"], entry["rejected"]) == ("low confidence", None, False)


def test_the_csp_lets_the_page_show_results_from_an_s3_object_store():
    class Signed:
        def url(self, key: str, ttl: int, base_url: str = "") -> str:
            return f"https://shop.s3.eu-west-1.amazonaws.com/objects/{key}?X-Amz-Signature=x"

    class Unsigned:
        def url(self, key: str, ttl: int, base_url: str = "") -> str:
            raise RuntimeError("no credentials")

    def svc(objects: Any, **server: Any) -> Any:
        return SimpleNamespace(config=SimpleNamespace(server=ServerSettings(**server)),
                               objects=objects)

    assert objects_origin(svc(Signed())) is None  # the server's own objects
    origin = objects_origin(svc(Signed(), objects_url="s3://shop/objects"))
    assert origin == "https://shop.s3.eu-west-1.amazonaws.com"
    assert objects_origin(svc(Unsigned(), objects_url="s3://shop/objects",
                              objects_endpoint_url="http://127.0.0.1:7480/")
                          ) == "http://127.0.0.1:7480"
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(
        services=svc(Signed(), objects_url="s3://shop/objects"))))
    policy = headers_for(request)["Content-Security-Policy"]  # type: ignore[arg-type]
    assert f"img-src 'self' data: blob: {origin};" in policy
    assert f"connect-src 'self' {origin};" in policy
    assert policy.replace(f" {origin}", "") == CSP
