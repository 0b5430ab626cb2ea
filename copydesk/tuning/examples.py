"""Training examples: a section's prompt, exactly as the pipeline sends it, and a text.

Two sources:
- a reference file (CSV/JSONL/JSON) of records with human texts, e.g. the E2E `mr,ref`
  columns: each record is validated against the content type's schema and rendered
  through its own plan, so the prompt is the one a batch would send. A row that fails
  (unreadable, schema, plan, no text) is quarantined with its row number and reason;
  the others go on.
- editors' approvals: the `sft` records of `export-feedback` (`copydesk.desk.feedback`),
  with who wrote each text (`provenance`). Template text is kept only on request: it
  would teach the model the template's style.

`split_by_input` holds out whole inputs (all references of one record go to the same
side), chosen by a seeded hash of the input, so the split is the same whatever the
order of the rows. `data_digest` names the training data in a model version.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from copydesk.content.outline import PlanError, render_plan
from copydesk.content.types import ContentType
from copydesk.desk.feedback import export_feedback
from copydesk.hashing import sha256_json
from copydesk.inputs.readers import read_records
from copydesk.inputs.records import FieldError, validate_record
from copydesk.tuning.errors import TooFewExamplesError, TuningError
from copydesk.tuning.provenance import author_of, load_provenance

Author = Literal["editor", "model", "template", "reference"]
AUTHORS: tuple[Author, ...] = ("editor", "model", "template", "reference")
FEEDBACK_CHUNK = 200  # sft records whose provenance is read in one query


@dataclass(frozen=True)
class Example:
    """One training pair. `input_key` (the record's sha256) is the unit of the split."""

    prompt: str  # the user message, as the pipeline sends it
    completion: str
    author: Author
    input_key: str
    content_type: str
    section: str
    source: str  # `file.csv:12` or `item 7`
    record: dict[str, Any] | None = field(default=None, compare=False)  # reference files


@dataclass(frozen=True)
class Quarantined:
    source: str
    row_number: int | None
    reason: str


@dataclass
class ExampleSet:
    examples: list[Example] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    left_out: Counter[str] = field(default_factory=Counter)  # e.g. {"template": 3}

    def counts(self) -> dict[str, Any]:
        """JSON-able: examples, distinct inputs, examples by author, quarantined, left out."""
        return {
            "examples": len(self.examples),
            "inputs": len({e.input_key for e in self.examples}),
            "by_author": dict(sorted(Counter(e.author for e in self.examples).items())),
            "quarantined": len(self.quarantined),
            "left_out": dict(sorted(self.left_out.items())),
        }


@dataclass(frozen=True)
class Split:
    train: list[Example]
    eval: list[Example]
    seed: int


def section_of(content_type: ContentType, section: str | None) -> str:
    """`section`, or the content type's only one."""
    names = [s.name for s in content_type.sections]
    if section is None:
        if len(names) != 1:
            raise TuningError(
                f"content type {content_type.name!r} has sections {', '.join(names)}: "
                "name the one the file's texts are for"
            )
        return names[0]
    if section not in names:
        raise TuningError(f"content type {content_type.name!r} has no section {section!r}")
    return section


def examples_from_references(
    path: Path,
    content_type: ContentType,
    *,
    text_column: str = "ref",
    section: str | None = None,
) -> ExampleSet:
    """One example per row of `path` whose record fits the content type and has a text."""
    name = section_of(content_type, section)
    found = ExampleSet()
    prompts: dict[str, str | PlanError] = {}  # input key -> prompt (references share it)
    for row in read_records(path):
        where = f"{path.name}:{row.row_number}"
        if row.data is None:
            found.quarantined.append(Quarantined(str(path), row.row_number, f"{row.error}"))
            continue
        columns = {key.strip().casefold(): key for key in row.data}
        text = row.data.get(columns.get(text_column.casefold(), text_column))
        if not isinstance(text, str) or not text.strip():
            reason = f"no text in column {text_column!r}"
            found.quarantined.append(Quarantined(str(path), row.row_number, reason))
            continue
        raw = {k: v for k, v in row.data.items() if k.strip().casefold() != text_column.casefold()}
        validated = validate_record(raw, content_type)
        if isinstance(validated, FieldError):
            found.quarantined.append(Quarantined(str(path), row.row_number, str(validated)))
            continue
        key = sha256_json(validated.record)
        if key not in prompts:
            prompts[key] = _section_prompt(content_type, validated.record, name)
        prompt = prompts[key]
        if isinstance(prompt, PlanError):
            found.quarantined.append(Quarantined(str(path), row.row_number, f"plan: {prompt}"))
            continue
        found.examples.append(
            Example(
                prompt,
                text.strip(),
                "reference",
                key,
                content_type.name,
                name,
                where,
                validated.record,
            )
        )
    return found


def _section_prompt(
    content_type: ContentType, record: dict[str, Any], name: str
) -> str | PlanError:
    try:
        plan = render_plan(content_type, record)
    except PlanError as exc:
        return exc
    return next(s.prompt for s in plan.sections if s.name == name)


def examples_from_feedback(
    url: str,
    *,
    content_type: str | None = None,
    batch_ids: Iterable[int] | None = None,
    include_template: bool = False,
) -> ExampleSet:
    """The approved sections of `export-feedback --format sft`, with who wrote each text."""
    wanted = set(batch_ids) if batch_ids is not None else None
    only = next(iter(wanted)) if wanted is not None and len(wanted) == 1 else None
    records = (
        r
        for r in export_feedback(url, "sft", batch_id=only)
        if (wanted is None or r["batch_id"] in wanted)
        and (content_type is None or r["content_type"] == content_type)
    )
    found = ExampleSet()
    for chunk in _chunks(records, FEEDBACK_CHUNK):
        provenance = load_provenance(url, {r["item_id"] for r in chunk})
        for record in chunk:
            item = provenance.get(record["item_id"])
            author = author_of(record, item)
            if not record["completion"].strip() or not record["prompt"].strip():
                found.left_out["empty"] += 1
            elif author == "template" and not include_template:
                found.left_out["template"] += 1
            else:
                found.examples.append(
                    Example(
                        record["prompt"],
                        record["completion"].strip(),
                        author,
                        item.input_sha256 if item else f"item:{record['item_id']}",
                        record["content_type"],
                        record["section"],
                        f"item {record['item_id']}",
                    )
                )
    return found


def _chunks(records: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    while chunk := list(islice(records, size)):
        yield chunk


def split_by_input(
    examples: list[Example],
    *,
    eval_inputs: int | None = None,
    eval_fraction: float = 0.1,
    seed: int = 0,
) -> Split:
    """Hold out `eval_inputs` inputs (else `eval_fraction` of them, at least one) with every
    example of each; the rest train. The order of the examples is kept on each side."""
    keys = sorted({e.input_key for e in examples})
    if eval_inputs is None:
        eval_inputs = max(1, round(eval_fraction * len(keys))) if eval_fraction > 0 else 0
    if eval_inputs < 0 or eval_inputs >= len(keys):
        raise TooFewExamplesError(
            f"{len(keys)} distinct inputs cannot give {eval_inputs} to evaluation and "
            "still leave some to train on: add data or hold out fewer"
        )
    ranked = sorted(keys, key=lambda key: hashlib.sha256(f"{seed}:{key}".encode()).digest())
    held = set(ranked[:eval_inputs])
    train = [e for e in examples if e.input_key not in held]
    return Split(train, [e for e in examples if e.input_key in held], seed)


def data_digest(examples: Iterable[Example]) -> str:
    """sha256 of the training data: every example's prompt, text and author, in order."""
    return sha256_json([[e.prompt, e.completion, e.author] for e in examples])
