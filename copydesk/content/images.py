"""A content type's image spec: whether its items can have an image (`image_spec`), and
the image prompt rendered in the planner's sandbox (`render_image_prompt`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from copydesk.content.outline import render_template
from copydesk.content.types import ContentType, ImageSpec
from copydesk.errors import ConfigurationError

NO_IMAGE_MODEL = (
    "images need an image model: set COPYDESK_IMAGE_MODEL to a local diffusers pipeline folder"
)


def image_spec(content_type: ContentType, image_model: Path | None) -> ImageSpec:
    """The content type's `image:` spec; a ConfigurationError when images cannot be made."""
    if content_type.image is None:
        raise ConfigurationError(
            f"content type {content_type.name!r} makes no images: its manifest has no "
            "`image:` section (see templates/product_description/manifest.yaml)"
        )
    if image_model is None:
        raise ConfigurationError(NO_IMAGE_MODEL)
    if not (image_model / "model_index.json").is_file():
        raise ConfigurationError(
            f"COPYDESK_IMAGE_MODEL={image_model} is not a diffusers pipeline folder "
            "(no model_index.json)"
        )
    return content_type.image


def render_image_prompt(content_type: ContentType, spec: ImageSpec, record: dict[str, Any]) -> str:
    """The item's image prompt, on one line (PlanError naming the template if it fails)."""
    context = {"record": record, "content_type": content_type}
    return " ".join(render_template(content_type, spec.prompt, context).split())
