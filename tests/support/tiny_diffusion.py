"""A tiny, randomly initialised Stable Diffusion pipeline folder for fast offline tests.

Built from configs (as in diffusers' own `get_dummy_components()`), seeded, and saved with
`save_pretrained`, so tests load it back through the same code path a real model takes.
The images are noise, but their size, determinism and seeding behave like a real model's.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace
from tokenizers.processors import TemplateProcessing
from transformers import CLIPTextConfig, CLIPTextModel, PreTrainedTokenizerFast

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "<|startoftext|>", "<|endoftext|>")
WORDS_TEXT = (
    "a an the of in on with and at by photo painting drawing render portrait landscape "
    "red orange yellow green blue purple black white grey golden silver bright dark "
    "cat dog bird fish horse lamp chair table house tree flower mountain river sea sky "
    "city street forest desert snow rain sun moon star cloud night morning evening "
    "small large old new soft sharp warm cold quiet busy calm wild blurry detailed"
)
WORDS = tuple(WORDS_TEXT.split())


def build_tokenizer() -> PreTrainedTokenizerFast:
    """A word-level tokenizer that wraps text in start/end tokens like CLIP's."""
    vocab = {token: index for index, token in enumerate(SPECIAL_TOKENS + WORDS)}
    tokenizer = Tokenizer(WordLevel(vocab=vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.post_processor = TemplateProcessing(
        single="<|startoftext|> $A <|endoftext|>",
        special_tokens=[(t, vocab[t]) for t in ("<|startoftext|>", "<|endoftext|>")],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="[PAD]",
        unk_token="[UNK]",
        bos_token="<|startoftext|>",
        eos_token="<|endoftext|>",
        model_max_length=77,
    )


def build_tiny_pipeline(directory: Path) -> Path:
    """Save a tiny Stable Diffusion pipeline (~1 MB; 64x64 images by default) to `directory`."""
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=2,
    )
    vae = AutoencoderKL(
        block_out_channels=[4, 8],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=4,
        norm_num_groups=2,
    )
    tokenizer = build_tokenizer()
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=1000,
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=5,
            num_attention_heads=4,
            max_position_embeddings=77,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
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
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(directory)
    return directory
