"""Schedules as configuration: `copydesk.toml` (or the file COPYDESK_CONFIG names).

    [[schedules]]
    name = "products"                    # letters, digits, `-`, `_`, `.`
    content_type = "product_description"
    input = "inbox/products/*.csv"       # a folder, a glob, or store:inbox/products/
    cron = "0 * * * *"
    timezone = "Europe/Berlin"           # IANA name; default UTC
    limit = 1000                         # options: see BatchOptions
    max_attempts = 2

    [publish]                            # optional: publish-approved on a cron
    cron = "30 6 * * *"

    [regenerate]                         # optional: regenerate-requested on a cron
    cron = "*/15 * * * *"

    [tune]                               # optional: tune-model on a cron (`tune_schedule`)
    cron = "0 3 * * 0"
    content_type = "restaurant"

A local input is relative to the folder of the config file. Every problem is reported at
once, each naming its schedule, so `copydesk schedules validate` can list them all.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from copydesk.content.types import list_content_types, load_content_type
from copydesk.errors import ConfigurationError
from copydesk.inputs.sources import is_store_source, parse_source
from copydesk.inputs.tune_schedule import TUNE_FLOW, TuneSchedule, parse_tune
from copydesk.settings import Settings, get_settings

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
INBOX_FLOW = "process-inbox"  # a schedule's deployment: process-inbox/<name>
DESK_FLOWS = ("publish-approved", "regenerate-requested")  # their deployments' names, too
GLOB_CHARS = frozenset("*?[")
RANDOM_OR_HASHED = re.compile(r"^[HR](?![A-Z])", re.IGNORECASE)  # not JAN, THU, ...: H, R, H/5
SCHEDULE_KEYS = ("name", "content_type", "input", "cron", "timezone")
SECTIONS = {"schedules", "publish", "regenerate", "tune"}


class BatchOptions(BaseModel):
    """What each batch of a schedule is run with (as `copydesk run`'s options)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int | None = Field(default=None, ge=1)
    chunk_size: int | None = Field(default=None, ge=1)
    images: bool = False
    temperature: float | None = Field(default=None, ge=0)
    top_k: int | None = Field(default=None, ge=1)
    top_p: float | None = Field(default=None, gt=0, le=1)
    repetition_penalty: float | None = Field(default=None, gt=0)
    max_attempts: int | None = Field(default=None, ge=1)

    def generation(self) -> dict[str, Any]:
        """The decoding options set here (the rest keep GenerationOptions' defaults)."""
        keys = ("temperature", "top_k", "top_p", "repetition_penalty", "max_attempts")
        return {key: getattr(self, key) for key in keys if getattr(self, key) is not None}


@dataclass(frozen=True)
class Schedule:
    name: str
    content_type: str
    input: str  # as written in the file
    cron: str
    timezone: str
    options: BatchOptions
    base: Path  # the config file's folder: relative local inputs start there

    @property
    def is_store(self) -> bool:
        return is_store_source(self.input)

    def local_input(self) -> tuple[Path, str | None]:
        """(folder, glob pattern or None for "every input file in the folder")."""
        path = Path(self.input).expanduser()
        path = path if path.is_absolute() else self.base / path
        parts = path.parts
        magic = next((i for i, part in enumerate(parts) if GLOB_CHARS & set(part)), None)
        if magic is None:
            return path, None
        return Path(*parts[:magic]), "/".join(parts[magic:])


@dataclass(frozen=True)
class FlowSchedule:
    """An optional cron for one of the desk's flows (`[publish]`, `[regenerate]`)."""

    cron: str | None = None
    timezone: str = "UTC"


@dataclass(frozen=True)
class DeskConfig:
    path: Path
    schedules: tuple[Schedule, ...] = ()
    publish: FlowSchedule = field(default_factory=FlowSchedule)
    regenerate: FlowSchedule = field(default_factory=FlowSchedule)
    tune: TuneSchedule | None = None

    def schedule(self, name: str) -> Schedule:
        for schedule in self.schedules:
            if schedule.name == name:
                return schedule
        known = ", ".join(s.name for s in self.schedules) or "none"
        raise ConfigurationError(f"no schedule {name!r} in {self.path} (schedules: {known})")


def deployment_name(name: str) -> str:
    """`flow/deployment` for a schedule's name, a desk flow's name, or a full name."""
    if "/" in name:
        return name
    return f"{name}/{name}" if name in (*DESK_FLOWS, TUNE_FLOW) else f"{INBOX_FLOW}/{name}"


def config_path(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).config.expanduser().resolve()


def load_config(path: Path | None = None, settings: Settings | None = None) -> DeskConfig:
    """The config, checked; a ConfigurationError listing every problem otherwise."""
    config, problems = check_config(path, settings)
    if problems or config is None:
        where = path or config_path(settings)
        raise ConfigurationError(f"{where}: " + "; ".join(problems))
    return config


def check_config(
    path: Path | None = None, settings: Settings | None = None
) -> tuple[DeskConfig | None, list[str]]:
    """(the config, []) or (None, the problems: each a sentence naming its schedule)."""
    settings = settings or get_settings()
    path = (path or config_path(settings)).resolve()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, ["no such file (write one, or set COPYDESK_CONFIG to its path)"]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return None, [f"cannot read it: {exc}"]
    known = ", ".join(sorted(SECTIONS))
    problems = [f"unknown section {key!r} (known: {known})" for key in raw if key not in SECTIONS]
    entries = raw.get("schedules", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return None, [*problems, "`schedules` must be [[schedules]] tables"]
    schedules = []
    for number, entry in enumerate(entries, start=1):
        schedule, found = _parse_schedule(number, entry, path.parent, settings)
        problems += found
        if schedule is not None:
            schedules.append(schedule)
    names = [entry.get("name") for entry in entries if isinstance(entry.get("name"), str)]
    for name in sorted({name for name in names if names.count(name) > 1}):
        problems.append(f"schedule {name!r}: duplicate name ({names.count(name)} schedules)")
    publish = _parse_flow("publish", raw.get("publish"), problems)
    regenerate = _parse_flow("regenerate", raw.get("regenerate"), problems)
    tune = parse_tune(
        raw.get("tune"), list_content_types(settings.templates_dir), problems, _timing_problems
    )
    if problems:
        return None, problems
    return DeskConfig(path, tuple(schedules), publish, regenerate, tune), []


def _parse_schedule(
    number: int, entry: dict[str, Any], base: Path, settings: Settings
) -> tuple[Schedule | None, list[str]]:
    name = entry.get("name")
    label = f"schedule {name!r}" if isinstance(name, str) else f"schedule #{number} (no name)"
    problems = [f"{label}: missing `{key}`" for key in SCHEDULE_KEYS[:4] if key not in entry]
    if isinstance(name, str) and not NAME_PATTERN.match(name):
        problems.append(f"{label}: bad name (letters, digits, '-', '_', '.'; at most 100)")
    elif name in DESK_FLOWS:
        problems.append(f"{label}: the name is reserved for the desk's own flow")
    for key in SCHEDULE_KEYS:
        if key in entry and not isinstance(entry[key], str):
            problems.append(f"{label}: `{key}` must be a string")
    options: dict[str, Any] = {k: v for k, v in entry.items() if k not in SCHEDULE_KEYS}
    try:
        batch_options = BatchOptions(**options)
    except ValidationError as exc:
        problems += [f"{label}: {_option_problem(error)}" for error in exc.errors()]
        batch_options = BatchOptions()
    strings = {key: entry.get(key) for key in SCHEDULE_KEYS}
    if not all(isinstance(strings[key], str) for key in SCHEDULE_KEYS[:4]):
        return None, problems  # nothing more to check without them
    schedule = Schedule(
        name=entry["name"],
        content_type=entry["content_type"],
        input=entry["input"],
        cron=entry["cron"],
        timezone=entry.get("timezone", "UTC"),
        options=batch_options,
        base=base,
    )
    problems += [f"{label}: {p}" for p in _schedule_problems(schedule, settings)]
    return (None if problems else schedule), problems


def _option_problem(error: Any) -> str:
    key = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        known = ", ".join([*SCHEDULE_KEYS, *BatchOptions.model_fields])
        return f"unknown option {key!r} (known: {known})"
    return f"option {key!r}: {error['msg']}"


def _schedule_problems(schedule: Schedule, settings: Settings) -> list[str]:
    problems = [p for p in (cron_problem(schedule.cron), timezone_problem(schedule.timezone)) if p]
    if schedule.content_type not in list_content_types(settings.templates_dir):
        known = ", ".join(list_content_types(settings.templates_dir))
        problems.append(f"unknown content type {schedule.content_type!r} (known: {known})")
    else:
        try:
            content_type = load_content_type(schedule.content_type, settings.templates_dir)
            if schedule.options.images:
                from copydesk.content.images import image_spec

                image_spec(content_type, settings.image_model)
        except ConfigurationError as exc:
            problems.append(str(exc))
    if schedule.is_store:
        try:
            parse_source(schedule.input, settings)
        except ConfigurationError as exc:
            problems.append(f"input: {exc}")
    else:
        folder, _ = schedule.local_input()
        if not folder.is_dir():
            problems.append(
                f"input folder {str(folder)!r} does not exist (input {schedule.input!r})"
            )
    return problems


def _parse_flow(section: str, raw: Any, problems: list[str]) -> FlowSchedule:
    if raw is None:
        return FlowSchedule()
    label = f"[{section}]"
    if not isinstance(raw, dict):
        problems.append(f"{label}: must be a table with `cron` and `timezone`")
        return FlowSchedule()
    unknown = [key for key in raw if key not in ("cron", "timezone")]
    problems += [f"{label}: unknown option {key!r} (known: cron, timezone)" for key in unknown]
    cron, timezone = raw.get("cron"), raw.get("timezone", "UTC")
    if cron is not None and (problem := cron_problem(cron)):
        problems.append(f"{label}: {problem}")
    if problem := timezone_problem(timezone):
        problems.append(f"{label}: {problem}")
    return FlowSchedule(cron, timezone)


def _timing_problems(cron: Any, timezone: Any) -> list[str]:
    return [p for p in (cron_problem(cron), timezone_problem(timezone)) if p]


def cron_problem(cron: Any) -> str | None:
    """Why `cron` is not a five-field cron expression Prefect accepts, or None."""
    fields = "five fields: minute hour day-of-month month day-of-week"
    if not isinstance(cron, str):
        return f"bad cron {cron!r}: give a string of {fields}"
    if not cron.startswith("@") and len(cron.split()) != 5:
        return f"bad cron {cron!r}: give {fields} (no seconds, no years)"
    if any(RANDOM_OR_HASHED.match(part) for part in cron.split()):
        return f"bad cron {cron!r}: random (R) and hashed (H) fields are not supported"
    try:
        croniter.expand(cron)
    except ValueError as exc:  # croniter's errors are ValueErrors
        return f"bad cron {cron!r}: {exc}"
    return None


def timezone_problem(timezone: Any) -> str | None:
    if not isinstance(timezone, str) or timezone not in available_timezones():
        return f"unknown timezone {timezone!r} (an IANA name such as UTC or Europe/Berlin)"
    return None


def next_run(cron: str, timezone: str, after: datetime) -> datetime:
    """The first time after `after` that the cron fires, in the schedule's timezone."""
    start = after.astimezone(ZoneInfo(timezone))
    fired: datetime = croniter(cron, start).get_next(datetime)
    return fired
