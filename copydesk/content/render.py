"""Output: the final documents for one item, from the content type's output templates.

Markdown (required) and HTML come from the manifest's `outputs` templates, rendered in the same
sandbox as the prompts (HTML with autoescaping, so markup in a record or a model's text
shows as text); JSON is always built in. The same inputs give the same bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from copydesk.content.outline import render_template, tidy_text
from copydesk.content.types import ContentType
from copydesk.errors import CopydeskError
from copydesk.hashing import canonical_json


class RenderError(CopydeskError):
    """A content type's output template could not be rendered for an item."""


@dataclass(frozen=True)
class RenderedDocument:
    """One output file: its format, file extension, media type and content."""

    format: str  # "markdown" | "html" | "json"
    extension: str  # "md" | "html" | "json"
    media_type: str
    data: bytes


def _document(format: str, extension: str, media_type: str, text: str) -> RenderedDocument:
    return RenderedDocument(format, extension, media_type, text.encode("utf-8"))


def render_markdown(
    content_type: ContentType, record: dict[str, Any], sections: dict[str, str]
) -> str:
    """The Markdown document alone (a revision's text)."""
    context = {"record": record, "sections": sections, "content_type": content_type}
    text = render_template(content_type, content_type.outputs.markdown, context, error=RenderError)
    return tidy_text(text) + "\n"


def render_outputs(
    content_type: ContentType, record: dict[str, Any], sections: dict[str, str]
) -> list[RenderedDocument]:
    """Markdown, HTML where the manifest names a template, then JSON."""
    context = {"record": record, "sections": sections, "content_type": content_type}
    markdown = render_markdown(content_type, record, sections)
    documents = [_document("markdown", "md", "text/markdown; charset=utf-8", markdown)]
    if template := content_type.outputs.html:
        text = render_template(content_type, template, context, autoescape=True, error=RenderError)
        html = text.strip() + "\n"
        documents.append(_document("html", "html", "text/html; charset=utf-8", html))
    payload = {
        "content_type": content_type.name,
        "template_sha256": content_type.template_sha256,
        "record": record,
        "sections": sections,
    }
    try:
        text = canonical_json(payload)
    except (TypeError, ValueError) as exc:
        raise RenderError(f"content type {content_type.name!r}: JSON output: {exc}") from exc
    documents.append(_document("json", "json", "application/json", text))
    return documents
