"""PhotoshopClient's masking v1 calls on a scripted server: the exact bodies of
``/v1/refine-mask`` and ``/v1/fill-masked-areas`` (only the options given), the status route
they poll, and the hosted result read into ``Job.outputs``. The same calls against a live
lampyris server, pixels checked: tests/integration/server/test_masking_client.py."""

from __future__ import annotations

import pytest

from lampyris.client import JobFailedError, PhotoshopClient
from lampyris.client.jobs import Job

from .scripted import BASE, ScriptedServer, json_body

JOB = "7f1c2d3e-0000-4000-8000-00000000abcd"
ACCEPTED = (202, {"jobId": JOB, "statusUrl": f"{BASE}/v1/status/{JOB}",
                  "_links": {"self": {"href": f"{BASE}/v1/status/{JOB}"}}})
MASK_URL = "https://out.test/refined.png"


def test_refine_mask_sends_only_the_given_options(server: ScriptedServer,
                                                  client: PhotoshopClient) -> None:
    server.add("POST", "/v1/refine-mask", ACCEPTED)
    ref = client.refine_mask("https://in.test/photo.jpg", "https://in.test/rough.png")
    client.refine_mask(image_upload_id="up-1", mask_upload_id="up-2",
                       color_decontamination=True, extensions={"radius": 12})
    minimal, full = (json_body(r) for r in server.calls("POST", "/v1/refine-mask"))
    assert minimal == {"image": {"source": {"url": "https://in.test/photo.jpg"}},
                       "mask": {"source": {"url": "https://in.test/rough.png"}}}
    assert full == {"image": {"source": {"uploadId": "up-1"}},
                    "mask": {"source": {"uploadId": "up-2"}},
                    "colorDecontamination": True, "lampyris": {"radius": 12}}
    assert (ref.job_id, ref.status_url) == (JOB, f"{BASE}/v1/status/{JOB}")


def test_fill_masked_areas_sends_every_mask(server: ScriptedServer,
                                            client: PhotoshopClient) -> None:
    server.add("POST", "/v1/fill-masked-areas", ACCEPTED)
    client.fill_masked_areas("https://in.test/photo.png", ["https://in.test/a.png"],
                             mask_upload_ids=["up-b"], extensions={"seed": 4})
    assert json_body(server.calls("POST", "/v1/fill-masked-areas")[0]) == {
        "image": {"source": {"url": "https://in.test/photo.png"}},
        "masks": [{"source": {"url": "https://in.test/a.png"}},
                  {"source": {"uploadId": "up-b"}}],
        "lampyris": {"seed": 4},
    }


def test_a_source_needs_exactly_one_form(client: PhotoshopClient) -> None:
    with pytest.raises(ValueError, match="mask_url and mask_upload_id"):
        client.refine_mask("https://in.test/photo.jpg")
    with pytest.raises(ValueError, match="image_url and image_upload_id"):
        client.fill_masked_areas("https://in.test/p.png", ["https://in.test/m.png"],
                                 image_upload_id="up")
    with pytest.raises(ValueError, match="lists"):
        client.fill_masked_areas("https://in.test/p.png", "https://in.test/m.png")


def test_a_job_behind_a_proxy_is_polled_at_v1_status(server: ScriptedServer,
                                                     client: PhotoshopClient) -> None:
    inner = f"http://10.0.0.7:8080/v1/status/{JOB}"
    server.add("POST", "/v1/refine-mask", (202, {"jobId": JOB, "statusUrl": inner}))
    done = {"jobId": JOB, "status": "succeeded",
            "mask": {"destination": {"url": MASK_URL}, "mediaType": "image/png",
                     "boundingBox": {"x": 1, "y": 2, "width": 3, "height": 4}}}
    server.add("GET", f"/v1/status/{JOB}", (200, {"jobId": JOB, "status": "not_started"}),
               (200, {"jobId": JOB, "status": "running"}), (200, done))
    job = client.wait(client.refine_mask("https://in.test/p.jpg", "https://in.test/m.png"))
    assert (job.job_id, job.status, job.outputs) == (JOB, "succeeded", (MASK_URL,))
    assert len(server.calls("GET", f"/v1/status/{JOB}")) == 3


def test_masking_status_once_and_a_failed_job(server: ScriptedServer,
                                              client: PhotoshopClient) -> None:
    failed = {"jobId": JOB, "status": "failed", "error_code": "input_unreadable",
              "message": "mask.source could not be read"}
    server.add("GET", f"/v1/status/{JOB}", (200, failed))
    assert client.masking_status(JOB).failed  # returned, not raised
    server.add("POST", "/v1/fill-masked-areas", ACCEPTED)
    with pytest.raises(JobFailedError) as caught:
        client.wait(client.fill_masked_areas("https://in.test/p.png", ["https://in.test/m"]))
    assert (caught.value.code, caught.value.message) == (
        "input_unreadable", "mask.source could not be read")


def test_a_fill_and_a_decontaminated_refine_are_read_from_image() -> None:
    body = {"jobId": JOB, "status": "succeeded",
            "image": {"destination": {"url": "https://out.test/filled.png"},
                      "mediaType": "image/png"}}
    assert Job.from_body(body).outputs == ("https://out.test/filled.png",)
