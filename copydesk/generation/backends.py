"""Choose and build the generation backends the settings name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from copydesk.errors import ConfigurationError
from copydesk.generation.adapters import Adapter
from copydesk.generation.base import TextGenerator
from copydesk.settings import Settings

if TYPE_CHECKING:
    from copydesk.generation.hf_image import DiffusersImageGenerator


def create_text_generator(settings: Settings, adapter: Adapter | None = None) -> TextGenerator:
    """The configured text generator; with `adapter` (a verified model version), the
    transformers backend with it on the base model."""
    if adapter is not None and settings.text_backend != "transformers":
        raise ConfigurationError("a tuned model version needs COPYDESK_TEXT_BACKEND=transformers")
    if settings.text_backend == "openai":
        from copydesk.generation.openai_compat import OpenAICompatibleGenerator, ServerOptions

        if not settings.openai_base_url or not settings.openai_model:
            raise ConfigurationError(
                "COPYDESK_TEXT_BACKEND=openai needs COPYDESK_OPENAI_BASE_URL and COPYDESK_OPENAI_MODEL"
            )
        return OpenAICompatibleGenerator(
            ServerOptions(
                base_url=settings.openai_base_url,
                model=settings.openai_model,
                api_key=settings.openai_api_key.get_secret_value() or None,
                concurrency=settings.openai_concurrency,
            )
        )
    from copydesk.generation.hf_text import HFTextGenerator

    return HFTextGenerator(
        settings.text_model,
        cache_dir=settings.resolved_model_cache,
        device=settings.text_device,
        dtype=settings.text_dtype,
        batch_size=settings.text_batch_size,
        adapter=adapter,
    )


def create_image_generator(settings: Settings) -> DiffusersImageGenerator | None:
    """The configured image generator, or None when images are off."""
    if settings.image_model is None:
        return None
    from copydesk.generation.hf_image import DiffusersImageGenerator  # imports torch

    return DiffusersImageGenerator(
        settings.image_model, device=settings.text_device, batch_size=settings.image_batch_size
    )
