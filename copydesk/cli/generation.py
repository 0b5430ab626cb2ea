"""CLI commands for the generation engine: `copydesk generate` and `copydesk models`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from copydesk.errors import ConfigurationError
from copydesk.generation.base import Decoding, GenerationRequest
from copydesk.settings import get_settings

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def generate(
    prompt: Annotated[str | None, typer.Argument(help="The prompt (or use --file).")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="A text file with one prompt per line.", exists=True),
    ] = None,
    max_new_tokens: Annotated[int, typer.Option(help="Most tokens to generate per prompt.")] = 128,
    temperature: Annotated[float, typer.Option(help="0 = greedy; > 0 samples.")] = 0.0,
    top_k: Annotated[int | None, typer.Option(help="Sample from the k likeliest tokens.")] = None,
    top_p: Annotated[
        float | None, typer.Option(help="Nucleus sampling: the smallest set with this mass.")
    ] = None,
    repetition_penalty: Annotated[float, typer.Option(help="> 1 discourages repeats.")] = 1.0,
    seed: Annotated[
        int | None, typer.Option(help="Seed for sampling (prompt i gets seed + i).")
    ] = None,
    stop: Annotated[list[str] | None, typer.Option(help="Stop string (repeatable).")] = None,
    raw: Annotated[
        bool, typer.Option(help="Send prompts as plain text, without the chat template.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON Lines: one object per prompt.")
    ] = False,
) -> None:
    """Generate text for one prompt or a file of prompts with the configured model."""
    from copydesk.generation.backends import create_text_generator

    prompts = _read_prompts(prompt, file)
    decoding = Decoding(
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        repetition_penalty=repetition_penalty,
        stop=tuple(stop or ()),
    )
    requests = [
        GenerationRequest(prompt=p, decoding=decoding, seed=_seed(seed, i))
        if raw
        else GenerationRequest.chat(p, decoding=decoding, seed=_seed(seed, i))
        for i, p in enumerate(prompts)
    ]
    with err.status("loading the model…"):
        started = time.perf_counter()
        generator = create_text_generator(get_settings())
        loaded_s = time.perf_counter() - started
    with err.status(f"generating {len(requests)} text(s)…"):
        started = time.perf_counter()
        results = generator.generate(requests)
        elapsed = time.perf_counter() - started
    for prompt_text, result in zip(prompts, results, strict=True):
        if as_json:
            print(json.dumps({"prompt": prompt_text, **result.__dict__}, ensure_ascii=False))
            continue
        out.print(f"[bold]> {escape(prompt_text)}[/bold]", highlight=False)
        out.print(result.text, highlight=False, markup=False)
        out.print(
            f"[dim]{result.tokens_in} → {result.tokens_out} tokens, {result.finish_reason}, seed {result.seed}[/dim]\n"
        )
    tokens = sum(r.tokens_out for r in results)
    identity = generator.identity
    err.print(
        f"{identity.model_id} on {identity.device} ({identity.dtype}): loaded in {loaded_s:.1f}s, "
        f"{tokens} tokens in {elapsed:.1f}s ({tokens / max(elapsed, 1e-9):.1f} tok/s)",
        highlight=False,
    )


def models() -> None:
    """List the configured text and image models, where their weights are, and their sha256."""
    from copydesk.generation.bundled import (
        BUNDLED_MODEL_ID,
        MARKER,
        cached_folder,
        find_bundled_gguf,
    )
    from copydesk.hashing import sha256_file

    settings = get_settings()
    if settings.text_backend == "openai":
        out.print(
            f"text   openai-compatible server {settings.openai_base_url}, model {settings.openai_model}"
        )
    elif settings.text_model == "bundled":
        gguf = find_bundled_gguf()
        digest = sha256_file(gguf)
        folder = cached_folder(settings.resolved_model_cache, digest)
        state = (
            f"converted copy in {folder}"
            if (folder / MARKER).is_file()
            else "not converted yet (first use: ~30 s)"
        )
        out.print(
            f"text   {BUNDLED_MODEL_ID} (bundled)\n       weights {gguf}\n       {digest}\n       {state}"
        )
    else:
        from copydesk.generation.hf_text import weights_sha256

        folder = Path(settings.text_model)
        out.print(f"text   {folder.name}\n       weights {folder}\n       {weights_sha256(folder)}")
    out.print(
        f"       device {settings.text_device}, dtype {settings.text_dtype}, batch {settings.text_batch_size}"
    )
    if settings.image_model is None:
        out.print("image  off (set COPYDESK_IMAGE_MODEL to a diffusers pipeline folder)")
    else:
        from copydesk.generation.hf_image import hash_pipeline_folder

        out.print(
            f"image  {settings.image_model}\n       {hash_pipeline_folder(settings.image_model)}"
        )


def _read_prompts(prompt: str | None, file: Path | None) -> list[str]:
    if (prompt is None) == (file is None):
        raise ConfigurationError(
            "give a prompt or --file PROMPTS.txt (one prompt per line), not both"
        )
    if file is not None:
        prompts = [
            line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
        if not prompts:
            raise ConfigurationError(f"{file} has no prompts (one per line)")
        return prompts
    return [prompt or ""]


def _seed(seed: int | None, index: int) -> int | None:
    return None if seed is None else seed + index
