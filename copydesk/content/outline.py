"""Outline: render a content type's section prompts for one record into an outline.

Templates run in Jinja2's immutable sandbox with strict undefined names. Record values
are data handed to the template, never template source, so `{{ 7*7 }}` in a product name
reaches the prompt as it was written. Any template problem (syntax, undefined name,
unsafe attribute, missing file) becomes a `PlanError` naming the template."""

from __future__ import annotations

import operator
import re
import traceback
import types
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path, PurePath
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel

from copydesk.content.types import ContentType
from copydesk.errors import CopydeskError

MAX_POWER, MAX_POWER_BITS = 100, 4096  # `**` in a template: largest exponent and result
MAX_REPEAT = 100_000  # longest string or list `*` may build in a template
SAFE_ATTRIBUTE_MEMO = 4096  # the sandbox's decisions on attributes it keeps
_BLANK_LINES = re.compile(r"\n{3,}")


class PlanError(CopydeskError):
    """A content type's template could not be rendered for a record."""


def _small_power(base: int, exponent: int) -> bool:
    return abs(exponent) <= MAX_POWER and base.bit_length() * exponent <= MAX_POWER_BITS


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, also closed to paths, modules and pydantic's own methods,
    and to `**` / `*` results large enough to stall the process."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._safe: dict[tuple[type, str, type], bool] = {}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Jinja's rules and ours look only at the types of the object and the value and
        at the name, so each decision is kept (templates ask for the same few attributes
        of every record; a template making up names cannot grow the memo without bound)."""
        key = (type(obj), attr, type(value))
        if (safe := self._safe.get(key)) is None:
            if len(self._safe) >= SAFE_ATTRIBUTE_MEMO:
                self._safe.clear()
            safe = self._safe[key] = self._is_safe_attribute(obj, attr, value)
        return safe

    def _is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if isinstance(obj, PurePath | types.ModuleType):
            return False
        if isinstance(value, PurePath | types.ModuleType):
            return False  # e.g. `content_type.folder.joinpath('/etc/passwd').read_text()`
        if isinstance(obj, BaseModel):  # our fields and methods, not model_copy & co.
            return attr in type(obj).model_fields or not hasattr(BaseModel, attr)
        return True

    def call_binop(self, context: Context, operator_: str, left: Any, right: Any) -> Any:
        integers = isinstance(left, int) and isinstance(right, int)
        if operator_ == "**" and integers and not _small_power(left, right):
            raise SecurityError("a power too large for a template")
        if operator_ == "*":
            for sequence, times in ((left, right), (right, left)):
                sized = isinstance(sequence, str | list | tuple) and isinstance(times, int)
                if sized and len(sequence) * times > MAX_REPEAT:
                    raise SecurityError(f"repetition longer than {MAX_REPEAT} items")
        return operator.pow(left, right) if operator_ == "**" else operator.mul(left, right)


@lru_cache(maxsize=64)
def sandboxed_environment(folder: Path, *, autoescape: bool = False) -> _Sandbox:
    """The environment for one content-type folder (per process, per escaping mode)."""
    return _Sandbox(
        loader=FileSystemLoader(folder),
        undefined=StrictUndefined,
        autoescape=autoescape,
    )


def render_template(
    content_type: ContentType,
    template: str,
    context: dict[str, Any],
    *,
    autoescape: bool = False,
    error: type[CopydeskError] = PlanError,
) -> str:
    """Render one template of the content type; any failure becomes `error`, naming it."""
    environment = sandboxed_environment(content_type.folder, autoescape=autoescape)
    try:
        return environment.get_template(template).render(context)
    except Exception as exc:  # a template is code written elsewhere: report, never crash
        where = f"template {template!r}{_template_line(exc, content_type.folder)}"
        message = f"content type {content_type.name!r}, {where}: {type(exc).__name__}: {exc}"
        raise error(message) from exc


def _template_line(exc: Exception, folder: Path) -> str:
    """`, line N` of the template where `exc` happened, when the traceback says."""
    line = getattr(exc, "lineno", None)  # syntax errors carry it
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).parent == folder:  # Jinja maps frames to template lines
            line = frame.lineno
    return f", line {line}" if line else ""


def tidy_text(text: str) -> str:
    """Trailing spaces off every line, runs of blank lines down to one, ends stripped."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines))


def _is_empty(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


@dataclass(frozen=True)
class SectionPlan:
    """One section to write: its prompt, the facts it must carry, its targets."""

    name: str
    prompt: str
    facts: dict[str, Any]  # field -> value, the section's facts that the record has
    format: str
    min_words: int | None
    max_words: int | None
    min_sentences: int | None
    max_sentences: int | None
    min_items: int | None
    max_items: int | None
    max_new_tokens: int
    tone: str | None
    candidates: int = 1  # texts per attempt; the checks choose among them
    beams: int = 1  # beam search for the first attempt's first candidate (1: greedy)


@dataclass(frozen=True)
class Outline:
    """The outline for one record: every section, in manifest order."""

    content_type: str
    template_sha256: str
    sections: tuple[SectionPlan, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-able (the `plans.outline` column); shares the facts' values (`asdict`'s
        deep copy cost more than rendering the prompts)."""
        sections = [
            {f.name: getattr(section, f.name) for f in _SECTION_FIELDS} for section in self.sections
        ]
        return {
            "content_type": self.content_type,
            "template_sha256": self.template_sha256,
            "sections": sections,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outline:
        try:
            sections = tuple(SectionPlan(**section) for section in data["sections"])
            return cls(data["content_type"], data["template_sha256"], sections)
        except (KeyError, TypeError) as exc:
            raise PlanError(f"stored plan is not readable: {type(exc).__name__}: {exc}") from None


_SECTION_FIELDS = fields(SectionPlan)
_TARGETS = [f.name for f in _SECTION_FIELDS if f.name not in {"name", "prompt", "facts"}]


def render_plan(content_type: ContentType, record: dict[str, Any]) -> Outline:
    """Render every section's prompt for `record` (a validated record, every field present)."""
    context = {"record": record, "content_type": content_type}
    sections = []
    for spec in content_type.sections:
        prompt = tidy_text(render_template(content_type, spec.prompt, context))
        facts = {name: record[name] for name in spec.facts if not _is_empty(record.get(name))}
        targets = {key: getattr(spec, key) for key in _TARGETS}
        sections.append(SectionPlan(name=spec.name, prompt=prompt, facts=facts, **targets))
    return Outline(content_type.name, content_type.template_sha256, tuple(sections))
