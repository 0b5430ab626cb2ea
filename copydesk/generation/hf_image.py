"""Text-to-image generation with a local diffusers pipeline folder.

Any folder written by `DiffusionPipeline.save_pretrained` (or a hub snapshot) whose
pipeline takes a prompt, a size and generators works: Stable Diffusion 1.x/2.x, SDXL,
SD3, Flux, PixArt... Nothing is downloaded. Each image gets its own seeded
`torch.Generator`, so its starting noise depends only on its seed, never on its batch.

Bitwise reproducibility: with `batch_size=1` an image's PNG bytes depend only on the
model, its request and its seed. Larger batches are faster on a GPU, but CPU and GPU
kernels (oneDNN convolutions, small-batch matmuls, cuDNN algorithm choice) round
differently for different batch shapes, so a few pixels can differ by one level from the
same request generated alone; `params["batch_size"]` records the batch an image came from.
"""

from __future__ import annotations

import functools
import inspect
import io
import json
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from copydesk.chunking import chunked
from copydesk.errors import ConfigurationError
from copydesk.generation.base import ModelIdentity
from copydesk.generation.device import select_device, select_dtype
from copydesk.generation.image_types import ImageRequest, ImageResult
from copydesk.hashing import sha256_bytes, sha256_file, sha256_json

REQUIRED_CALL_PARAMETERS = ("prompt", "height", "width", "num_inference_steps", "generator")
PNG_COMPRESS_LEVEL = 6


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


@functools.lru_cache(maxsize=2)
def load_image_pipeline(model_dir: Path, device: str, dtype: torch.dtype) -> Any:
    """Load a diffusers text-to-image pipeline folder once per process."""
    if not (model_dir / "model_index.json").is_file():
        raise ConfigurationError(
            f"{model_dir} is not a diffusers pipeline folder (no model_index.json); "
            "point the image model setting at a folder saved with save_pretrained"
        )
    from diffusers import DiffusionPipeline  # slow import: only when a model is used

    try:
        pipe = DiffusionPipeline.from_pretrained(model_dir, dtype=dtype, local_files_only=True)
    except Exception as exc:
        raise ConfigurationError(
            f"the diffusers pipeline in {model_dir} could not be loaded: {_one_line(exc)}"
        ) from exc
    accepted = inspect.signature(pipe.__call__).parameters
    missing = [name for name in REQUIRED_CALL_PARAMETERS if name not in accepted]
    if missing:
        raise ConfigurationError(
            f"{model_dir} holds a {type(pipe).__name__}, not a text-to-image pipeline "
            f"(its call lacks {', '.join(missing)})"
        )
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


@functools.cache
def hash_pipeline_folder(model_dir: Path) -> str:
    """`sha256:` over model_index.json and every file of the pipeline's components.

    Components are the sub-folders named in model_index.json (weights, configs,
    tokenizer files); READMEs, sample images and hidden folders are left out.
    """
    index = model_dir / "model_index.json"
    components = [key for key in json.loads(index.read_text("utf-8")) if not key.startswith("_")]
    files = {"model_index.json": sha256_file(index)}
    for name in sorted(components):
        for path in sorted((model_dir / name).rglob("*")):
            relative = path.relative_to(model_dir)
            if path.is_file() and not any(part.startswith(".") for part in relative.parts):
                files[relative.as_posix()] = sha256_file(path)
    return sha256_json(files)


def encode_png(image: Image.Image) -> bytes:
    """PNG bytes that depend only on the pixels: RGB, no metadata, fixed compression."""
    rgb = image.convert("RGB")
    clean = Image.frombytes("RGB", rgb.size, rgb.tobytes())
    buffer = io.BytesIO()
    clean.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def _library_versions() -> dict[str, str]:
    versions = {}
    for name in ("diffusers", "torch", "transformers"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


class DiffusersImageGenerator:
    """Images from a local diffusers pipeline folder, in request order."""

    def __init__(
        self, model_dir: Path, *, device: str | None = None, batch_size: int | None = None
    ) -> None:
        # Default: batches of 4 on a GPU (throughput), 1 elsewhere (bit-exact re-runs).
        if batch_size is None:
            batch_size = 4 if select_device(device) == "cuda" else 1
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.model_dir = Path(model_dir).expanduser().resolve()
        self.device = select_device(device)
        # images stay fp32 on CPU: bf16 there is measured for text only
        self.dtype = select_dtype(self.device, "float32" if self.device == "cpu" else None)
        self.batch_size = batch_size
        self._pipe = load_image_pipeline(self.model_dir, self.device, self.dtype)
        self._accepted = frozenset(inspect.signature(self._pipe.__call__).parameters)

    @property
    def pipeline(self) -> Any:
        """The loaded diffusers pipeline (shared by every generator for the same folder)."""
        return self._pipe

    @property
    def identity(self) -> ModelIdentity:
        return ModelIdentity(
            backend="diffusers",
            model_id=self.model_dir.name,
            revision=hash_pipeline_folder(self.model_dir),
            device=self.device,
            dtype=str(self.dtype).removeprefix("torch."),
            library_versions=_library_versions(),
        )

    def generate(self, requests: Sequence[ImageRequest]) -> list[ImageResult]:
        """One image per request, in the order of `requests`."""
        done: dict[int, ImageResult] = {}
        for indices in self._batches(requests):
            batch = [requests[i] for i in indices]
            done.update(zip(indices, self._generate_batch(batch), strict=True))
        return [done[i] for i in range(len(requests))]

    def _batches(self, requests: Sequence[ImageRequest]) -> list[list[int]]:
        """Indices of requests that can share a pipeline call, at most batch_size each."""
        groups: dict[tuple[Any, ...], list[int]] = {}
        for index, r in enumerate(requests):
            key = (r.width, r.height, r.steps, r.guidance_scale, r.negative_prompt)
            groups.setdefault(key, []).append(index)
        size = self.batch_size
        return [chunk for g in groups.values() for chunk in chunked(g, size)]

    def _generate_batch(self, batch: Sequence[ImageRequest]) -> list[ImageResult]:
        first = batch[0]
        kwargs: dict[str, Any] = {
            "prompt": [r.prompt for r in batch],
            "width": first.width,
            "height": first.height,
            "num_inference_steps": first.steps,
            "generator": [torch.Generator(self.device).manual_seed(r.seed) for r in batch],
            "output_type": "pil",
        }
        if "guidance_scale" in self._accepted:
            kwargs["guidance_scale"] = first.guidance_scale
        if first.negative_prompt is not None:
            if "negative_prompt" not in self._accepted:
                raise ConfigurationError(
                    f"{type(self._pipe).__name__} in {self.model_dir} takes no negative prompt"
                )
            kwargs["negative_prompt"] = [first.negative_prompt] * len(batch)
        start = time.perf_counter()
        with torch.inference_mode():
            images = self._pipe(**kwargs).images
        share = (time.perf_counter() - start) / len(batch)
        params = {
            "pipeline": type(self._pipe).__name__,
            "scheduler": type(self._pipe.scheduler).__name__,
            "steps": first.steps,
            "guidance_scale": first.guidance_scale,
            "negative_prompt": first.negative_prompt,
            "batch_size": len(batch),
        }
        results = []
        for request, image in zip(batch, images, strict=True):
            png = encode_png(image)
            width, height = image.size
            results.append(
                ImageResult(
                    png, sha256_bytes(png), width, height, request.seed, share, dict(params)
                )
            )
        return results
