"""PhotoshopClient: the bodies it sends, the job handles it reads, the routes it polls.

These unit tests script the Photoshop routes with ``httpx.MockTransport`` so each request
body and URL is asserted exactly and the polls run on a fake clock; the lead's end-to-end
tests run the same client against a live lampyris server.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lampyris.client import JobFailedError, PhotoshopClient, StaticToken

from .scripted import BASE, ScriptedServer, json_body

JOB = "e3a13d81-a462-4b71-9964-28b2ef34aca7"
URN = "urn:ff:jobs:eso851243:8d25eb96-bb4e-48cb-9656-3350ce1e29c7"
LINKED = (202, {"_links": {"self": {"href": f"{BASE}/sensei/status/{JOB}"}}})
SENSEI_DONE = {
    "jobID": JOB,
    "jobId": JOB,
    "status": "succeeded",
    "output": {"href": "https://dst.test/out.png", "storage": "external"},
}


def test_create_cutout_sends_the_sensei_body(
    server: ScriptedServer, client: PhotoshopClient
) -> None:
    server.add("POST", "/sensei/cutout", LINKED)
    ref = client.create_cutout(
        "https://src.test/in.jpg", "https://dst.test/out.png", mask_format="soft"
    )
    (request,) = server.calls("POST", "/sensei/cutout")
    assert json_body(request) == {
        "input": {"href": "https://src.test/in.jpg", "storage": "external"},
        "output": {
            "href": "https://dst.test/out.png",
            "storage": "external",
            "mask": {"format": "soft"},
        },
    }
    assert (ref.job_id, ref.status_url) == (JOB, f"{BASE}/sensei/status/{JOB}")


def test_create_mask_leaves_out_an_unset_mask_format(
    server: ScriptedServer, client: PhotoshopClient
) -> None:
    server.add("POST", "/sensei/mask", LINKED)
    client.create_mask(
        "/files/in.jpg", "/files/out.png", input_storage="adobe", output_storage="azure"
    )
    assert json_body(server.calls("POST", "/sensei/mask")[0]) == {
        "input": {"href": "/files/in.jpg", "storage": "adobe"},
        "output": {"href": "/files/out.png", "storage": "azure"},
    }


def test_cutout_takes_the_last_href_segment_and_polls_until_succeeded(
    server: ScriptedServer, client: PhotoshopClient
) -> None:
    server.add(
        "POST",
        "/sensei/cutout",
        (202, {"_links": {"self": {"href": f"{BASE}/a/b/sensei/status/{JOB}/"}}}),
    )
    server.add(
        "GET",
        f"/a/b/sensei/status/{JOB}/",  # polled as given
        (200, {"jobID": JOB, "status": "pending"}),
        (200, {"jobID": JOB, "status": "running"}),
        (200, SENSEI_DONE),
    )
    job = client.cutout("https://src.test/in.jpg", "https://dst.test/out.png")
    assert (job.job_id, job.status, job.outputs) == (
        JOB,
        "succeeded",
        ("https://dst.test/out.png",),
    )
    assert len(server.calls("GET", f"/a/b/sensei/status/{JOB}/")) == 3


def test_an_href_on_another_host_is_polled_through_base_url(
    server: ScriptedServer, client: PhotoshopClient
) -> None:
    inner = f"http://10.0.0.7:8080/sensei/status/{JOB}"  # a server behind a proxy
    server.add("POST", "/sensei/cutout", (202, {"_links": {"self": {"href": inner}}}))
    server.add("GET", f"/sensei/status/{JOB}", (200, SENSEI_DONE))
    job = client.cutout("https://src.test/in.jpg", "https://dst.test/out.png")
    assert job.succeeded
    polled = server.calls("GET", f"/sensei/status/{JOB}")
    assert [str(r.url) for r in polled] == [f"{BASE}/sensei/status/{JOB}"]


def test_failed_sensei_job_raises_with_its_errors(
    server: ScriptedServer, client: PhotoshopClient
) -> None:
    errors = {
        "type": "InputValidationError",
        "code": "400",
        "title": "input href unreachable",
        "details": [{"name": "input.href", "reason": "403 from storage"}],
    }
    server.add("POST", "/sensei/mask", LINKED)
    server.add(
        "GET", f"/sensei/status/{JOB}", (200, {"jobID": JOB, "status": "failed", "errors": errors})
    )
    with pytest.raises(JobFailedError) as caught:
        client.mask("https://src.test/in.jpg", "https://dst.test/out.png")
    assert (caught.value.code, caught.value.message) == ("400", "input href unreachable")
    assert caught.value.details == errors["details"]


def test_sensei_status_once(server: ScriptedServer, client: PhotoshopClient) -> None:
    server.add("GET", f"/sensei/status/{JOB}", (200, {"jobID": JOB, "status": "failed"}))
    assert client.sensei_status(JOB).failed  # returned, not raised


def test_remove_background_sends_only_given_fields(
    server: ScriptedServer, client: PhotoshopClient
) -> None:
    server.add(
        "POST",
        "/v2/remove-background",
        (202, {"jobId": URN, "statusUrl": f"{BASE}/v2/status/{URN}"}),
    )
    client.remove_background("https://bucket.s3.amazonaws.com/in.jpg")
    client.remove_background(
        "https://bucket.s3.amazonaws.com/in.jpg",
        mode="mask",
        media_type="image/png",
        trim=False,
        background_color=(255, 255, 255),
        color_decontamination=0,
    )
    minimal, full = (json_body(r) for r in server.calls("POST", "/v2/remove-background"))
    source = {"source": {"url": "https://bucket.s3.amazonaws.com/in.jpg"}}
    assert minimal == {"image": source, "mode": "cutout"}
    assert full == {
        "image": source,
        "mode": "mask",
        "output": {"mediaType": "image/png"},
        "trim": False,
        "backgroundColor": {"red": 255, "green": 255, "blue": 255, "alpha": 1},
        "colorDecontamination": 0,
    }


@pytest.mark.parametrize(
    "colour",
    [(1, 2, 3, 0.5), {"red": 1, "green": 2, "blue": 3, "alpha": 0.5}],
)
def test_background_colour_forms(
    server: ScriptedServer, client: PhotoshopClient, colour: object
) -> None:
    server.add("POST", "/v2/remove-background", (202, {"jobId": "j", "statusUrl": None}))
    client.remove_background("https://in.test/a.jpg", background_color=colour)  # type: ignore[arg-type]
    sent = json_body(server.calls("POST", "/v2/remove-background")[0])
    assert sent["backgroundColor"] == {"red": 1, "green": 2, "blue": 3, "alpha": 0.5}


def test_a_colour_missing_a_channel_is_refused(client: PhotoshopClient) -> None:
    with pytest.raises(ValueError, match="red, green and blue"):
        client.remove_background("https://in.test/a.jpg", background_color={"red": 1})


def test_v2_job_polls_its_status_url_and_lists_outputs(
    server: ScriptedServer, client: PhotoshopClient
) -> None:
    server.add(
        "POST",
        "/v2/remove-background",
        (202, {"jobId": URN, "statusUrl": f"{BASE}/v2/status/{URN}"}),
    )
    done = {
        "jobId": URN,
        "status": "succeeded",
        "result": {
            "outputs": [
                {"destination": {"url": "https://out.test/cut.png"}, "mediaType": "image/png"}
            ]
        },
    }
    server.add("GET", f"/v2/status/{URN}", (200, {"jobId": URN, "status": "running"}), (200, done))
    job = client.wait(client.remove_background("https://in.test/a.jpg"))
    assert (job.job_id, job.outputs) == (URN, ("https://out.test/cut.png",))
    assert len(server.calls("GET", f"/v2/status/{URN}")) == 2


def test_v2_status_by_id_keeps_colons(server: ScriptedServer, client: PhotoshopClient) -> None:
    server.add("GET", f"/v2/status/{URN}", (200, {"jobId": URN, "status": "pending"}))
    assert client.status(URN).status == "pending"
    assert server.requests[-1].url.raw_path.decode() == f"/v2/status/{URN}"


def test_a_static_token_needs_no_ims(
    server: ScriptedServer, make_client: Callable[..., PhotoshopClient]
) -> None:
    client = make_client(token_provider=StaticToken("given"))
    server.add("GET", "/v2/status/j", (200, {"jobId": "j", "status": "pending"}))
    client.status("j")
    assert server.tokens_issued == 0
    assert server.requests[0].headers["authorization"] == "Bearer given"


def test_credentials_are_required() -> None:
    with pytest.raises(ValueError, match="client_secret or token_provider"):
        PhotoshopClient("cid")


def test_closing_closes_the_http_client(make_client: Callable[..., PhotoshopClient]) -> None:
    with make_client() as client:
        assert client.base_url == BASE
    assert client._http.is_closed
