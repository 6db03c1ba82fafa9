"""Job status bodies of every flavour, and the poll loop's waits, failures and timeout.

These unit tests script the status route with ``httpx.MockTransport`` and a fake clock, so
every wait the loop takes is asserted exactly and nothing really sleeps; the end-to-end
tests against a live lampyris server are separate.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lampyris.client import (
    Backoff,
    Job,
    JobFailedError,
    JobRef,
    JobTimeoutError,
    PhotoshopClient,
    ServerError,
)

from .scripted import BASE, FakeTime, ScriptedServer

REF = JobRef("j1", f"{BASE}/v2/status/j1")
PENDING = (200, {"jobId": "j1", "status": "pending"})
RUNNING = (200, {"jobId": "j1", "status": "running"})
SUCCEEDED = (
    200,
    {
        "jobId": "j1",
        "status": "succeeded",
        "result": {
            "outputs": [
                {"destination": {"url": "https://out.test/1.png"}, "mediaType": "image/png"}
            ]
        },
    },
)


def test_v2_outputs_are_the_destination_urls() -> None:
    body = {
        "jobId": "urn:ff:jobs:e:1",
        "status": "succeeded",
        "result": {
            "outputs": [
                {
                    "destination": {"url": "https://out.test/a.png"},
                    "url": "https://out.test/a.png",
                    "mediaType": "image/png",
                },
                {"url": "https://out.test/b.png", "mediaType": "image/png"},
            ]
        },
        "url": "https://out.test/a.png",
    }
    job = Job.from_body(body)
    assert (job.job_id, job.succeeded, job.done) == ("urn:ff:jobs:e:1", True, True)
    assert job.outputs == ("https://out.test/a.png", "https://out.test/b.png")


def test_sensei_and_firefly_bodies_parse_too() -> None:
    sensei = Job.from_body(
        {
            "jobID": "s1",
            "status": "succeeded",
            "output": {"href": "https://dst.test/o.png", "storage": "external"},
        }
    )
    assert (sensei.job_id, sensei.outputs) == ("s1", ("https://dst.test/o.png",))
    firefly = Job.from_body(
        {
            "jobId": "f1",
            "status": "succeeded",
            "result": {"outputs": [{"seed": 1, "image": {"url": "https://f/1"}}]},
        }
    )
    assert firefly.outputs == ("https://f/1",)
    assert Job.from_body({"status": "RUNNING"}, job_id="given").job_id == "given"


@pytest.mark.parametrize(
    ("body", "code", "message", "details"),
    [
        (
            {
                "jobID": "s1",
                "status": "failed",
                "errors": {
                    "type": "InputValidationError",
                    "code": "400",
                    "title": "bad input",
                    "details": [{"name": "input.href", "reason": "unreachable"}],
                },
            },
            "400",
            "bad input",
            [{"name": "input.href", "reason": "unreachable"}],
        ),
        (
            {
                "jobId": "v1",
                "status": "failed",
                "errorDetails": [
                    {"errorCode": "400401", "message": "The value provided is not valid."}
                ],
            },
            "400401",
            "The value provided is not valid.",
            [{"errorCode": "400401", "message": "The value provided is not valid."}],
        ),
        (
            {
                "jobId": "f1",
                "status": "failed",
                "error_code": "some_error_code",
                "message": "some_message",
            },
            "some_error_code",
            "some_message",
            None,
        ),
        ({"jobId": "v2", "status": "failed"}, None, "job v2 failed", None),
    ],
)
def test_failure_details_from_each_shape(
    body: dict, code: str | None, message: str, details: object
) -> None:
    job = Job.from_body(body)
    assert job.failed
    with pytest.raises(JobFailedError) as caught:
        job.raise_for_status()
    error = caught.value
    assert (error.code, error.message, error.details) == (code, message, details)
    assert error.body == body
    assert error.job is job


def test_polls_with_growing_waits_until_succeeded(
    server: ScriptedServer, client: PhotoshopClient, fake_time: FakeTime
) -> None:
    server.add("GET", "/v2/status/j1", PENDING, RUNNING, RUNNING, SUCCEEDED)
    job = client.wait(REF)
    assert job.outputs == ("https://out.test/1.png",)
    assert fake_time.sleeps == [0.5, 0.75, 1.125]


def test_waits_are_capped(
    server: ScriptedServer, client: PhotoshopClient, fake_time: FakeTime
) -> None:
    server.add("GET", "/v2/status/j1", *[RUNNING] * 10, SUCCEEDED)
    client.wait(REF, poll=Backoff(1.0, 2.0, 5.0))
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0]


def test_retry_after_is_honoured_while_polling(
    server: ScriptedServer, client: PhotoshopClient, fake_time: FakeTime
) -> None:
    server.add(
        "GET",
        "/v2/status/j1",
        PENDING,
        (429, {"error_code": "rate_limited"}, {"Retry-After": "4"}),
        SUCCEEDED,
    )
    client.wait(REF)
    assert fake_time.sleeps == [0.5, 4.0]


def test_gateway_errors_while_polling_are_retried_then_raised(
    server: ScriptedServer, client: PhotoshopClient, fake_time: FakeTime
) -> None:
    server.add("GET", "/v2/status/j1", (503, None), (502, None), SUCCEEDED)
    assert client.wait(REF).succeeded
    server.add("GET", "/v2/status/j1", (503, None))
    with pytest.raises(ServerError):
        client.wait(REF)


def test_failed_job_raises_with_details(server: ScriptedServer, client: PhotoshopClient) -> None:
    failed = {
        "jobId": "j1",
        "status": "failed",
        "error_code": "input_media_unsafe",
        "message": "The input image did not pass content policy checks.",
    }
    server.add("GET", "/v2/status/j1", RUNNING, (200, failed))
    with pytest.raises(JobFailedError) as caught:
        client.wait(REF)
    assert caught.value.code == "input_media_unsafe"
    assert caught.value.job.job_id == "j1"


def test_timeout_stops_at_the_deadline(
    server: ScriptedServer, make_client: Callable[..., PhotoshopClient], fake_time: FakeTime
) -> None:
    client = make_client(poll=Backoff(1.0, 2.0, 5.0))
    server.add("GET", "/v2/status/j1", RUNNING)
    with pytest.raises(JobTimeoutError) as caught:
        client.wait(REF, timeout=10)
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 3.0]  # the last wait ends at the deadline
    assert len(server.calls("GET", "/v2/status/j1")) == 5  # the last poll is at the deadline
    assert caught.value.job_id == "j1"
    assert caught.value.body == RUNNING[1]
