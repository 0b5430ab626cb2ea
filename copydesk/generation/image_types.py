"""What an image backend takes and gives back: plain types, without torch.

Kept apart from `hf_image` so the pipeline's processes import them without importing torch
(about a second per process); `hf_image` imports torch only when an image model is used.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ImageRequest:
    """One image: `ImageRequest("a lamp at dusk", seed=7, width=768)`."""

    prompt: str
    _: KW_ONLY
    negative_prompt: str | None = None
    width: int = 512
    height: int = 512
    steps: int = 30
    guidance_scale: float = 7.5
    seed: int

    def __post_init__(self) -> None:
        if self.width < 8 or self.height < 8 or self.width % 8 or self.height % 8:
            raise ValueError("width and height must be positive multiples of 8")
        if self.steps < 1:
            raise ValueError("steps must be at least 1")
        if self.guidance_scale < 0:
            raise ValueError("guidance_scale must be >= 0")
        if not 0 <= self.seed < 2**64:
            raise ValueError("seed must be in [0, 2**64)")


@dataclass(frozen=True)
class ImageResult:
    png: bytes
    sha256: str
    width: int
    height: int
    seed: int
    duration_s: float  # this image's share of its batch's wall time
    params: dict[str, Any] = field(default_factory=dict)  # for lineage
