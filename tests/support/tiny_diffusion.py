"""Tiny, randomly initialised SD-1.5-style pipelines (inpainting, text-to-image) on disk.

The diffusion engine is tested through its real loading code (``from_pretrained`` on a
directory), so the tests need a diffusers directory without a download: this builds one in a
few hundred kilobytes — a 9-channel UNet, a small VAE, a CLIP text encoder and a byte-level
tokenizer whose vocab and merges are generated here. The weights are random; the pixels it
paints are noise, which is all the engine's plumbing (crop, resize, seed, guard) needs.

Usage::

    path = build_tiny_inpaint_pipeline(tmp_path / "tiny-inpaint")
    rgb, info = diffusion_fill(pixels, mask, "a cat", config=DiffusionConfig(model=str(path)))
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

HIDDEN = 32  # text width = UNet cross-attention width


def _byte_tokens() -> list[str]:
    """GPT-2's printable stand-ins for the 256 byte values, the base alphabet of CLIP's BPE."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    extra = [b for b in range(256) if b not in printable]
    codes = printable + [256 + i for i in range(len(extra))]
    return [chr(c) for c in codes]


def _write_tokenizer(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    letters = _byte_tokens()
    tokens = letters + [t + "</w>" for t in letters] + ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    # No merges: every word is spelt letter by letter, which is plenty for random weights.
    (folder / "merges.txt").write_text("#version: 0.2\n")


def build_tiny_inpaint_pipeline(folder: Path, *, seed: int = 0) -> Path:
    """Save a tiny ``StableDiffusionInpaintPipeline`` under ``folder`` and return ``folder``."""
    from diffusers import StableDiffusionInpaintPipeline

    # noisy latents 4 + masked-image latents 4 + mask 1
    StableDiffusionInpaintPipeline(**_parts(seed, in_channels=9)).save_pretrained(folder)
    return folder


def build_tiny_text_to_image_pipeline(folder: Path, *, seed: int = 0) -> Path:
    """Save a tiny text-to-image ``StableDiffusionPipeline`` under ``folder``, return it."""
    from diffusers import StableDiffusionPipeline

    StableDiffusionPipeline(**_parts(seed, in_channels=4)).save_pretrained(folder)
    return folder


def _parts(seed: int, *, in_channels: int) -> dict[str, Any]:
    """The pipeline's components, random but the same for a seed."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=32,
        in_channels=in_channels,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=HIDDEN,
        attention_head_dim=8,
        norm_num_groups=16,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(16, 32),
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=32,
    )
    with tempfile.TemporaryDirectory() as source:
        _write_tokenizer(Path(source))
        tokenizer = CLIPTokenizer.from_pretrained(source, model_max_length=16)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=HIDDEN,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=16,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    return {
        "vae": vae,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "unet": unet,
        "scheduler": scheduler,
        "safety_checker": None,
        "feature_extractor": None,
        "requires_safety_checker": False,
    }
