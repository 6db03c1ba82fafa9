"""lampyris' Python ``FireflyClient`` against a live ``lampyris serve``: uploads, fill, expand,
object composite with a mask, generate and generate-similar on a tiny text-to-image model in
the server's worker processes, status, cancel, wait and downloads; and, on a server without a
text-to-image model, generate's 501 as the client raises it.

Outputs are checked by pixel: outside a fill's mask and under an expand's placed image the
PNG extension returns the input exactly; a composite with a mask keeps the product the mask
marks and nothing else of the photo."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from lampyris.client import FireflyClient, JobFailedError, ServerError, ServiceError, source
from lampyris.imaging.fill.text_to_image import SETTING
from support import fill_scenes
from support.fill_scenes import decoded, is_jpeg, png
from support.lampyris_server import LampyrisServer, running_server

PNG = {"format": "png"}


def _client(live: LampyrisServer) -> FireflyClient:
    return FireflyClient(live.client.client_id, live.client.client_secret,
                         base_url=live.url, ims_url=live.url)


@pytest.fixture(scope="module")
def generating(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LampyrisServer]:
    """A server with one worker process and a tiny random text-to-image model of its own."""
    pytest.importorskip("diffusers", reason="the diffusion extra (lampyris[diffusion]) is "
                                            "not installed; `make install` installs it")
    from support.tiny_diffusion import build_tiny_text_to_image_pipeline

    model = build_tiny_text_to_image_pipeline(tmp_path_factory.mktemp("t2i") / "tiny-t2i")
    with running_server("lampyris-generate-", workers=1, env={
            SETTING: str(model), "LAMPYRIS_DIFFUSION_STEPS": "2"}) as live:
        yield live


@pytest.fixture(scope="module")
def ff(generating: LampyrisServer) -> Iterator[FireflyClient]:
    with _client(generating) as client:
        yield client


def _disc_mask() -> np.ndarray:
    """Black on the scene's red disc (the product kept), white elsewhere (generated)."""
    rows, cols = np.mgrid[0:240, 0:320]
    mask = np.full((240, 320), 255, np.uint8)
    mask[(rows - 110) ** 2 + (cols - 190) ** 2 <= 65**2] = 0
    return mask


def test_fill_and_expand_keep_the_input_exactly_with_the_png_extension(
    ff: FireflyClient
) -> None:
    scene, hole = fill_scenes.scene(1), fill_scenes.hole_mask(1)
    photo, mask = ff.upload(png(scene), "image/png"), ff.upload(png(hole), "image/png")
    filled = ff.wait(ff.fill(source(upload_id=photo), source(upload_id=mask), prompt="floor",
                             seeds=[3], size=(320, 240), extensions=PNG))
    assert filled.succeeded and filled.body["result"]["outputs"][0]["seed"] == 3
    out = decoded(ff.download(filled.outputs[0]))
    assert np.array_equal(out[hole == 0], scene[hole == 0])
    assert not np.array_equal(out[hole > 0], scene[hole > 0])

    expanded = ff.wait(ff.expand(source(upload_id=photo), size=(480, 360), seeds=[1],
                                 extensions=PNG))
    wide = decoded(ff.download(expanded.outputs[0]))
    assert wide.shape == (360, 480, 3)
    assert np.array_equal(wide[60:300, 80:400], scene), "centred, pixel for pixel"

    jpeg = ff.wait(ff.expand(source(upload_id=photo), size=(480, 360), seeds=[1]))
    assert is_jpeg(ff.download(jpeg.outputs[0])), "Adobe's JPEG without the extension"


def test_object_composite_keeps_what_the_mask_marks(ff: FireflyClient) -> None:
    scene = fill_scenes.scene(1)
    photo = ff.upload(png(scene), "image/png")
    mask = ff.upload(png(_disc_mask()), "image/png")
    job = ff.wait(ff.object_composite(source(upload_id=photo), "on a wooden table",
                                      mask=source(upload_id=mask), size=(320, 240), seeds=[2],
                                      extensions=PNG))
    out = decoded(ff.download(job.outputs[0])).astype(int)
    assert out.shape == (240, 320, 3)
    red = (out[..., 0] > 150) & (out[..., 1] < 80) & (out[..., 2] < 80)
    blue = (out[..., 2] > 150) & (out[..., 0] < 80)
    assert red.sum() > 0.5 * (_disc_mask() == 0).sum(), "the product the mask marks"
    assert blue.sum() < 20, "the photo's blue box is not part of the product"


def test_generate_and_generate_similar_in_the_workers(ff: FireflyClient) -> None:
    ref = ff.generate("a lighthouse at dusk", content_class="art", seeds=[5, 6],
                      size=(96, 64), extensions=PNG)
    job = ff.wait(ref)
    assert ff.status(ref.job_id).status == "succeeded"
    assert [o["seed"] for o in job.body["result"]["outputs"]] == [5, 6]
    first, second = (decoded(ff.download(url)) for url in job.outputs)
    assert first.shape == second.shape == (64, 96, 3)
    assert first.std() > 1 and not np.array_equal(first, second)
    again = ff.wait(ff.generate("a lighthouse at dusk", content_class="art", seeds=[5],
                                size=(96, 64), extensions=PNG))
    assert np.array_equal(decoded(ff.download(again.outputs[0])), first), "seeds reproduce"

    reference = ff.upload(png(first), "image/png")
    similar = ff.wait(ff.generate_similar(source(upload_id=reference), num_variations=2,
                                          size=(80, 60)))
    assert len(similar.outputs) == 2
    for url in similar.outputs:
        data = ff.download(url)
        assert is_jpeg(data) and decoded(data).shape == (60, 80, 3)


def test_cancel_stops_a_job_or_says_it_had_finished(ff: FireflyClient) -> None:
    ref = ff.generate("a field of poppies", num_variations=4, size=(1024, 1024))
    try:
        answer = ff.cancel(ref)
    except ServiceError as exc:  # it finished first: the 409 says so and the job stands
        assert exc.status == 409 and exc.code == "job_completed"
        assert ff.status(ref.job_id).succeeded
        return
    assert answer["status"] in ("cancelled", "cancel_pending")
    with pytest.raises(JobFailedError) as stopped:
        ff.wait(ref)
    assert stopped.value.job.status == "cancelled"


def test_generate_without_a_model_raises_the_servers_501(server: LampyrisServer) -> None:
    with _client(server) as client, pytest.raises(ServerError) as refused:
        client.generate("a red bicycle")
    assert refused.value.status == 501 and refused.value.code == "not_implemented"
    assert SETTING in refused.value.message

