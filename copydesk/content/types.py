"""Content types: `templates/<name>/manifest.yaml` (record schema, sections, outputs, checks)
plus Jinja2 templates. `template_sha256` is the template version recorded in lineage."""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, model_validator

from copydesk.content.characters import refused_character, shown
from copydesk.errors import ConfigurationError
from copydesk.hashing import sha256_bytes, sha256_json
from copydesk.settings import get_settings

MANIFEST = "manifest.yaml"


STRING_MAX_LENGTH = 1000  # `string` fields and list items without their own max_length


TEXT_MAX_LENGTH = 100_000  # `text` fields without their own max_length (it all goes in prompts)


# Options that only some types take, and which:
_OPTIONS = {"max_length", "min", "max", "decimals", "values", "max_items", "known_values"}


_OPTIONS_BY_TYPE = dict(string="max_length known_values", text="max_length", integer="min max")


_OPTIONS_BY_TYPE |= dict(boolean="", decimal="min max decimals", enum="values known_values")


_OPTIONS_BY_TYPE |= dict(list="max_items max_length known_values")


_BOOLEANS = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}


_NUMBER = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+")  # thousands commas allowed


_LIST_SEPARATOR = re.compile(r"[;|]")


# The checks a manifest may list (see copydesk/checks); `leftovers` always runs.
CHECKS = (
    "facts_present",
    "no_invented_values",
    "facts_once",
    "length",
    "repetition",
    "unfinished",
    "grammar",
    "forbidden_phrases",
    "grounding",
    "subject",
    "claims",
    "leftovers",
)


def _as_text(value: Any, *, keep_newlines: bool = False) -> str:
    """NFC, whitespace runs collapsed to one space, stripped (`text` keeps paragraph breaks)."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__} {shown(value)}")
    if problem := refused_character(value):
        raise ValueError(problem)
    value = unicodedata.normalize("NFC", value)
    if not keep_newlines:
        return " ".join(value.split())
    lines = [" ".join(line.split()) for line in value.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _as_number(value: Any, *, currency: bool) -> Decimal:
    """A number from JSON, or from text with thousands commas (and a $ € £ prefix)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)  # any size: math.isfinite() would overflow on a 400-digit one
    if isinstance(value, float) and math.isfinite(value):
        return Decimal(str(value))
    text = _as_text(value)
    sign, body = ("-", text[1:].strip()) if text.startswith("-") else ("", text.lstrip("+ "))
    if currency and body.startswith(("$", "€", "£")):
        body = body[1:].strip()
    if _NUMBER.fullmatch(body):
        return Decimal(sign + body.replace(",", ""))
    symbols = ", a leading $ € £" if currency else ""
    raise ValueError(f"{shown(text)} is not a number (digits, a point, thousands commas{symbols})")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Strict):
    """One field of the record schema; `parse` turns an input value into its canonical form."""

    type: Literal["string", "text", "integer", "decimal", "boolean", "enum", "list"] = "string"
    required: bool = False
    default: Any = None
    description: str = ""
    aliases: list[str] = []  # other input column / MR attribute names, e.g. `customer rating`
    max_length: PositiveInt | None = None
    min: float | None = None
    max: float | None = None
    decimals: int | None = Field(default=None, ge=0, le=10)  # decimal: places kept, default 2
    values: list[str] | None = None
    max_items: PositiveInt | None = None
    synonyms: dict[str, list[str]] = {}  # accepted wordings of a value, for the fact checks
    # Other values the field can take, never checked on input: the vocabulary the
    # no_invented_values check looks for ("Italian" when the record's food is English).
    known_values: list[str] = []

    @model_validator(mode="after")
    def _options_fit_type(self) -> FieldSpec:
        for option in sorted(_OPTIONS & self.model_fields_set):
            if option not in _OPTIONS_BY_TYPE[self.type].split():
                raise ValueError(f"option {option!r} does not apply to type {self.type!r}")
        if self.type == "enum" and not self.values:
            raise ValueError("type 'enum' needs a non-empty 'values' list")
        return self

    def parse(self, value: Any) -> Any:
        """The canonical value, None when blank; ValueError(reason) when it does not fit."""
        if value is None or value == [] or (isinstance(value, str) and not value.strip()):
            return None
        if self.type == "string":
            return self._check_length(_as_text(value), self.max_length or STRING_MAX_LENGTH)
        if self.type == "text":
            text = _as_text(value, keep_newlines=True)
            return self._check_length(text, self.max_length or TEXT_MAX_LENGTH)
        if self.type == "integer":
            return self._parse_integer(value)
        if self.type == "decimal":
            return self._parse_decimal(value)
        if self.type == "boolean":
            if isinstance(value, bool):
                return value
            if (key := _as_text(value).casefold()) not in _BOOLEANS:
                raise ValueError(
                    f"{shown(value)} is not a yes/no value (yes, no, true, false, 1, 0)"
                )
            return _BOOLEANS[key]
        if self.type == "enum":
            text = _as_text(value)
            for allowed in self.values or []:
                if text.casefold() == allowed.casefold():
                    return allowed
            raise ValueError(f"{shown(text)} is not one of {', '.join(self.values or [])}")
        return self._parse_list(value)

    def _check_length(self, text: str, limit: int | None) -> str:
        if limit and len(text) > limit:
            raise ValueError(f"{len(text)} characters long, at most {limit} allowed")
        return text

    def _check_range(self, number: Decimal, shown: str) -> None:
        if self.min is not None and number < Decimal(str(self.min)):
            raise ValueError(f"{shown} is below the minimum {self.min:g}")
        if self.max is not None and number > Decimal(str(self.max)):
            raise ValueError(f"{shown} is above the maximum {self.max:g}")

    def _parse_integer(self, value: Any) -> int:
        number = _as_number(value, currency=False)
        if number != number.to_integral_value():
            raise ValueError(f"{shown(value)} is not a whole number")
        self._check_range(number, str(int(number)))
        return int(number)

    def _parse_decimal(self, value: Any) -> str:
        number = _as_number(value, currency=True)
        places = 2 if self.decimals is None else self.decimals
        try:
            rounded = number.quantize(Decimal(1).scaleb(-places))
        except InvalidOperation:
            raise ValueError(f"{shown(value)} is too large") from None
        if rounded != number:
            raise ValueError(f"{shown(value)} has more than {places} decimal places")
        self._check_range(rounded, f"{rounded:f}")
        return f"{rounded:f}"

    def _parse_list(self, value: Any) -> list[str] | None:
        """A JSON list, or text split on `;` or `|` ("cotton; linen", "red|blue")."""
        parts = value if isinstance(value, list) else _LIST_SEPARATOR.split(_as_text(value))
        items = [item for item in map(_as_text, parts) if item]
        if self.max_items is not None and len(items) > self.max_items:
            raise ValueError(f"{len(items)} items, at most {self.max_items} allowed")
        for item in items:
            self._check_length(item, self.max_length or STRING_MAX_LENGTH)
        return items or None


class InputSpec(_Strict):
    """How raw rows become records: as they are, or parsed from an E2E meaning representation."""

    format: Literal["records", "e2e_mr"] = "records"
    column: str = "mr"  # e2e_mr: the column holding the MR (matched case-insensitively)


class SectionSpec(_Strict):
    """A section the planner asks the model to write, with its length and style targets."""

    name: str
    prompt: str  # the section's prompt template, `<section>.prompt.j2`
    facts: list[str] = []  # the fields the section must carry
    # text: sentences (checked for an unfinished last one); bullets: one item a line;
    # line: a single line such as a title or a headline (no sentence end is wanted)
    format: Literal["text", "bullets", "line"] = "text"
    min_words: PositiveInt | None = None
    max_words: PositiveInt | None = None
    min_sentences: PositiveInt | None = None
    max_sentences: PositiveInt | None = None
    min_items: PositiveInt | None = None  # bullets
    max_items: PositiveInt | None = None
    max_new_tokens: PositiveInt = 256
    tone: str | None = None
    # texts the model writes per attempt (the greedy one, then seeded samples, in one
    # batched call); the checks choose among them
    candidates: int = Field(default=1, ge=1, le=16)
    # the first attempt's first candidate by beam search of this many beams (1: greedy);
    # a tuned model's beam text is closer to its references, at ~beams times the compute
    beams: int = Field(default=1, ge=1, le=16)

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> SectionSpec:
        for unit in ("words", "sentences", "items"):
            low, high = getattr(self, f"min_{unit}"), getattr(self, f"max_{unit}")
            if low is not None and high is not None and low > high:
                raise ValueError(f"min_{unit} ({low}) is greater than max_{unit} ({high})")
        return self


class OutputsSpec(_Strict):
    """Output templates per format; JSON is built in. Markdown is required: it is each
    revision's text, what the review app shows and editors edit."""

    markdown: str
    html: str | None = None


class ImageSpec(_Strict):
    """An image per item (`copydesk run --images`): its prompt template and diffusion settings."""

    prompt: str  # the image's prompt template, `image.prompt.j2`
    negative_prompt: str | None = None
    width: PositiveInt = 512  # pixels, a multiple of 8
    height: PositiveInt = 512
    steps: PositiveInt = 30
    guidance_scale: float = Field(default=7.5, ge=0)

    @model_validator(mode="after")
    def _size_fits_the_latents(self) -> ImageSpec:
        if self.width % 8 or self.height % 8:
            size = f"{self.width}x{self.height}"
            raise ValueError(f"width and height must be multiples of 8, not {size}")
        return self


class GroundingSpec(_Strict):
    """The grounding check's options."""

    allow: list[str] = []  # names, words and numbers any text of this type may use


class ClaimsSpec(_Strict):
    """The claims check's options: how severe a finding is, and the claims of this type
    besides the language's defaults (`copydesk/checks/claim_phrases.py`)."""

    severity: Literal["warning", "error"] = "warning"
    phrases: list[str] = []  # claims flagged besides the defaults
    allow: list[str] = []  # default claims this type may make


class Manifest(_Strict):
    """The contents of `manifest.yaml`."""

    name: str
    title: str
    description: str = ""
    language: str = "en-US"
    input: InputSpec = InputSpec()
    fields: dict[str, FieldSpec] = Field(min_length=1)
    sections: list[SectionSpec] = Field(min_length=1)
    outputs: OutputsSpec
    image: ImageSpec | None = None
    checks: list[str] = []  # which of CHECKS run on every section (leftovers always do)
    forbidden_phrases: list[str] = []  # the forbidden_phrases check: phrases never to use
    grounding: GroundingSpec = GroundingSpec()
    claims: ClaimsSpec = ClaimsSpec()

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        for key, spec in self.fields.items():
            if not key.isidentifier():
                raise ValueError(f"fields.{key}: not an identifier (letters, digits, _)")
            try:
                spec.parse(spec.default)
            except ValueError as exc:
                raise ValueError(f"fields.{key}.default: {exc}") from None
        if unknown_checks := sorted(set(self.checks) - set(CHECKS)):
            raise ValueError(f"checks: unknown {unknown_checks}; known: {', '.join(CHECKS)}")
        names = [section.name for section in self.sections]
        if len(set(names)) != len(names):
            raise ValueError(f"sections: names repeat: {names}")
        for section in self.sections:
            if unknown := [fact for fact in section.facts if fact not in self.fields]:
                raise ValueError(f"sections.{section.name}.facts: unknown fields {unknown}")
        return self


class ContentType(Manifest):
    """A loaded content type: its manifest, folder and template version hash."""

    folder: Path
    template_sha256: str

    @cached_property
    def key_to_field(self) -> dict[str, str]:
        """Input column or MR attribute, casefolded → field name (names and aliases)."""
        lookup = {name.casefold(): name for name in self.fields}
        for name, spec in self.fields.items():
            lookup.update({alias.casefold(): name for alias in spec.aliases})
        return lookup

    @property
    def template_files(self) -> list[str]:
        """Every template the manifest names: prompts, then outputs, then the image prompt."""
        outputs = [self.outputs.markdown, self.outputs.html]
        image = [self.image.prompt] if self.image else []
        return [section.prompt for section in self.sections] + [o for o in outputs if o] + image

    def section(self, name: str) -> SectionSpec:
        return next(section for section in self.sections if section.name == name)


def list_content_types(templates_dir: Path | None = None) -> list[str]:
    """Names of the folders under `templates_dir` that hold a manifest."""
    root = templates_dir or get_settings().templates_dir
    return sorted(path.parent.name for path in root.glob(f"*/{MANIFEST}") if path.is_file())


def template_sha256(folder: Path) -> str:
    """Hash of the manifest and every `*.j2` file in the folder (names and contents)."""
    files = [folder / MANIFEST, *sorted(folder.glob("*.j2"))]
    return sha256_json({path.name: sha256_bytes(path.read_bytes()) for path in files})


def _describe(error: ValidationError) -> str:
    """`fields.price.tpye: Extra inputs are not permitted` (the path of each bad key)."""
    where = [".".join(map(str, item["loc"])) for item in error.errors()]
    messages = [item["msg"].removeprefix("Value error, ") for item in error.errors()]
    return "; ".join(f"{w}: {m}" if w else m for w, m in zip(where, messages, strict=True))


def _invalid(path: Path, problem: object) -> ConfigurationError:
    return ConfigurationError(f"invalid content type manifest {path}: {problem}")


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise _invalid(path, exc) from exc
    if not isinstance(data, dict):
        raise _invalid(path, "expected a mapping of keys to values")
    return data


def load_content_type(name: str, templates_dir: Path | None = None) -> ContentType:
    """Load and check `templates_dir/<name>/manifest.yaml` and the templates it names."""
    root = templates_dir or get_settings().templates_dir
    available = list_content_types(root)
    if name not in available:
        listed = ", ".join(available) or "none"
        raise ConfigurationError(f"unknown content type {name!r}; available in {root}: {listed}")
    folder, path = root / name, root / name / MANIFEST
    try:
        manifest = Manifest.model_validate(_read_manifest(path))
    except ValidationError as exc:
        raise _invalid(path, _describe(exc)) from exc
    if manifest.name != name:
        raise _invalid(path, f"name: {manifest.name!r} does not match its folder {name!r}")
    digest = template_sha256(folder)
    content_type = ContentType(**dict(manifest), folder=folder, template_sha256=digest)
    if missing := [t for t in content_type.template_files if not (folder / t).is_file()]:
        raise _invalid(path, f"templates not found in {folder}: {missing}")
    return content_type
