"""`copydesk eval`: a model (a tuned version, the base model, or none: the fallback alone)
scored on a reference file with the pipeline's own stages and checks.

The reference records go through plan → generate → refine → output in this process
(`pipeline.inline.run_stages`) into a throw-away SQLite database and local store, so the
figures are those of a real batch:
- `model_written`: the share of items whose final text the model wrote (refinement
  passed it, or fixed it safely), not the fallback and not flagged;
- slot error rate (E2E definition) and BLEU against every reference of the record, of
  the final text and of the first (greedy) attempt; with `bleu_group`, BLEU also against
  the references grouped by that column (`bleu_grouped`: E2E's original MRs);
- grammar lints per 100 words and length compliance (the quality report's), and time.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from copydesk.content.types import ContentType
from copydesk.errors import ConfigurationError
from copydesk.generation.base import (
    GenerationRequest,
    GenerationResult,
    ModelIdentity,
    TextGenerator,
)
from copydesk.hashing import sha256_file, sha256_json
from copydesk.inputs.readers import read_records
from copydesk.pipeline.inline import run_stages
from copydesk.pipeline.types import GenerationOptions
from copydesk.reports.quality import batch_quality
from copydesk.storage import LocalStore
from copydesk.tuning.evaluation import EvalInput, eval_inputs, score_texts
from copydesk.tuning.examples import Example, examples_from_references
from db import migrate
from db import repository as repo
from db.models import Generation, RefineDecision
from db.session import session_scope

MODEL_WRITTEN = (RefineDecision.PASSED, RefineDecision.FIXED)


class SilentGenerator:
    """A model that writes nothing: every section ends on the fallback (or flagged)."""

    identity = ModelIdentity("none", "fallback-only", None, "cpu", "none")

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        return [GenerationResult("", "", 0, 0, "stop", 0.0, r.seed) for r in requests]


class _Unversioned:
    """A generator whose rows name no version: the throw-away database has no versions
    (the version is the evaluation's subject, recorded on the version itself)."""

    def __init__(self, generator: TextGenerator) -> None:
        self.generator = generator

    @property
    def identity(self) -> ModelIdentity:
        return dataclasses.replace(self.generator.identity, model_version_id=None)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        return self.generator.generate(requests)


@dataclass(frozen=True)
class Reference:
    """An evaluation set: the inputs of a reference file, and its quarantined rows."""

    path: Path
    sha256: str
    inputs: list[EvalInput]
    quarantined: int
    bleu_group: str | None = None  # the column BLEU's references are grouped by


def load_reference(
    path: Path,
    content_type: ContentType,
    *,
    limit: int | None = None,
    text_column: str = "ref",
    only_inputs: frozenset[str] | None = None,
    bleu_group: str | None = None,
) -> Reference:
    """The inputs of a reference file (only those whose record sha256 is in `only_inputs`,
    if given: a version's held-out inputs), the first `limit` of them; with `bleu_group`,
    BLEU's references are grouped by that column instead of by record."""
    found = examples_from_references(path, content_type, text_column=text_column)
    examples = found.examples
    if only_inputs is not None:
        examples = [e for e in examples if e.input_key in only_inputs]
    inputs = eval_inputs(examples, limit)
    if bleu_group is not None:
        inputs = _grouped_for_bleu(path, inputs, examples, bleu_group, text_column)
    return Reference(path, sha256_file(path), inputs, len(found.quarantined), bleu_group)


def _grouped_for_bleu(
    path: Path, inputs: list[EvalInput], examples: list[Example], column: str, text_column: str
) -> list[EvalInput]:
    """Each input's BLEU references: every text of the file whose `column` value is one of
    its rows' (E2E's `orig_mr`: the original MR, whose references the challenge scores
    against; the cleaned MRs split them)."""
    groups: dict[int, str] = {}
    texts: dict[str, list[str]] = {}
    for row in read_records(path):
        if row.data is None:
            continue
        columns = {key.strip().casefold(): key for key in row.data}
        if column.casefold() not in columns:
            raise ConfigurationError(f"{path} has no column {column!r} to group references by")
        group = str(row.data[columns[column.casefold()]])
        text = row.data.get(columns.get(text_column.casefold(), text_column))
        groups[row.row_number] = group
        if isinstance(text, str) and text.strip():
            texts.setdefault(group, []).append(text.strip())
    of_input: dict[str, set[str]] = {}
    for example in examples:
        row_number = int(example.source.rsplit(":", 1)[1])
        of_input.setdefault(example.input_key, set()).add(groups[row_number])
    return [
        dataclasses.replace(
            item,
            bleu_references=tuple(
                dict.fromkeys(t for g in sorted(of_input[item.input_key]) for t in texts[g])
            ),
        )
        for item in inputs
    ]


def score_model(
    content_type: ContentType,
    reference: Reference,
    generator: TextGenerator,
    *,
    label: str,
    options: GenerationOptions | None = None,
    keep_database: str | None = None,
) -> dict[str, Any]:
    """Run the pipeline over the reference inputs with `generator` and score the result
    (in a throw-away SQLite database, or in `keep_database`, a new SQLite URL, to read
    the lineage afterwards)."""
    options = dataclasses.replace(options or GenerationOptions(), model_version_id=None)
    generator = _Unversioned(generator)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="copydesk-eval-") as folder:
        url = keep_database or f"sqlite:///{Path(folder) / 'eval.db'}"
        migrate.upgrade(url)
        batch_id, item_ids = _ingest(url, content_type.name, reference)
        run_stages(
            url, item_ids, content_type, generator, LocalStore(Path(folder) / "objects"), options
        )
        finals, firsts = _texts(url, item_ids, reference.inputs)
        quality = batch_quality(url, batch_id)
    seconds = time.perf_counter() - started
    final = score_texts(content_type, reference.inputs, [text for text, _ in finals])
    first = score_texts(content_type, reference.inputs, firsts)
    written = sum(1 for _, by_model in finals if by_model)
    count = len(reference.inputs)
    return {
        "system": label,
        "reference": {
            "path": str(reference.path),
            "sha256": reference.sha256,
            "bleu_group": reference.bleu_group,
        },
        "items": count,
        "quarantined": reference.quarantined,
        "model_written": round(written / count, 4) if count else None,
        "slot_error_rate": final["slot_error_rate"],
        "bleu": final["bleu"],
        "bleu_grouped": final["bleu_grouped"],
        "first_attempt": {
            "slot_error_rate": first["slot_error_rate"],
            "bleu": first["bleu"],
            "bleu_grouped": first["bleu_grouped"],
        },
        "lints_per_100_words": quality.lints_per_100_words,
        "length_compliance": quality.length_compliance,
        "seconds": round(seconds, 2),
        "items_per_s": round(count / seconds, 3) if seconds else None,
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _ingest(url: str, content_type: str, reference: Reference) -> tuple[int, list[int]]:
    with session_scope(url) as session:
        batch = repo.create_batch(
            session=session, content_type=content_type, source=str(reference.path)
        )
        rows = [
            repo.NewItem(str(reference.path), number, item.record, sha256_json(item.record))
            for number, item in enumerate(reference.inputs, start=1)
        ]
        repo.add_items(session=session, batch_id=batch.id, items=rows)
        ids = repo.item_ids(session=session, batch_id=batch.id, statuses=("ingested",))
        return batch.id, list(ids)


def _texts(
    url: str, item_ids: list[int], inputs: Sequence[EvalInput]
) -> tuple[list[tuple[str, bool]], list[str]]:
    """Per input (in order): the evaluated section's final text and whether the model
    wrote it, and its first attempt's text ("" where there is none)."""
    finals: list[tuple[str, bool]] = []
    firsts: list[str] = []
    with session_scope(url, readonly=True) as session:
        refined = repo.refinements_by_item(session=session, item_ids=item_ids)
        first_rows = session.execute(
            select(Generation.item_id, Generation.section, Generation.output).where(
                Generation.item_id.in_(item_ids),
                Generation.attempt == 1,
                Generation.candidate == 0,  # the greedy one
            )
        )
        first_texts = {(item_id, section): text for item_id, section, text in first_rows}
        for item_id, item in zip(item_ids, inputs, strict=True):
            mine = [r for r in refined.get(item_id, []) if r.section == item.section]
            last = mine[-1] if mine else None
            finals.append(
                (last.text, last.decision in MODEL_WRITTEN) if last is not None else ("", False)
            )
            firsts.append(first_texts.get((item_id, item.section), ""))
    return finals, firsts
