"""The optional `[tune]` table of copydesk.toml: re-tune a content type's model from new
approvals on a cron (the `tune-model` flow, served by `copydesk serve`).

    [tune]
    cron = "0 3 * * 0"              # Sundays at 03:00
    timezone = "Europe/Berlin"      # default UTC
    content_type = "restaurant"
    include_template = false        # also approved fallback text (off by default)
    steps = 60                      # TuneSettings: steps, batch_size, gradient_accumulation,
    lora_r = 16                     #   learning_rate, lora_r, seed, max_length, method

A run trains only when something was approved since the content type's last version
(`only_new_data`); promoting the new version stays a person's decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TUNE_FLOW = "tune-model"
REQUEST_KEYS = ("include_template", "eval_fraction")
SETTING_KEYS = (
    "steps",
    "batch_size",
    "gradient_accumulation",
    "learning_rate",
    "lora_r",
    "seed",
    "max_length",
    "method",
)


@dataclass(frozen=True)
class TuneSchedule:
    cron: str
    content_type: str
    timezone: str = "UTC"
    request: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def parameters(self) -> dict[str, Any]:
        """The `tune-model` flow's parameters."""
        return {
            "content_type": self.content_type,
            "only_new_data": True,
            "settings": self.settings,
            **self.request,
        }


def parse_tune(
    raw: Any, content_types: list[str], problems: list[str], timing: Callable[[Any, Any], list[str]]
) -> TuneSchedule | None:
    """The `[tune]` table (None when absent); its problems appended to `problems`
    (`timing` says what is wrong with a cron and a timezone)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append("[tune]: must be a table with `cron` and `content_type`")
        return None
    known = ("cron", "timezone", "content_type", *REQUEST_KEYS, *SETTING_KEYS)
    found = [
        f"[tune]: unknown option {k!r} (known: {', '.join(known)})" for k in raw if k not in known
    ]
    found += [f"[tune]: missing `{key}`" for key in ("cron", "content_type") if key not in raw]
    if "cron" in raw:
        found += [
            f"[tune]: {problem}" for problem in timing(raw["cron"], raw.get("timezone", "UTC"))
        ]
    if "content_type" in raw and raw["content_type"] not in content_types:
        found.append(
            f"[tune]: unknown content type {raw['content_type']!r} "
            f"(known: {', '.join(content_types)})"
        )
    problems += found
    if found:
        return None
    return TuneSchedule(
        raw["cron"],
        raw["content_type"],
        raw.get("timezone", "UTC"),
        {k: raw[k] for k in REQUEST_KEYS if k in raw},
        {k: raw[k] for k in SETTING_KEYS if k in raw},
    )
