"""A tune from start to model version: what `copydesk tune` and the `tune-model` flow run.

Examples come from the editors' approvals (filtered by content type and batches) or a
reference file (rendered through the content type's own plan); whole inputs are held
out for evaluation (seeded); the rest train the configured base model in a run folder
under `<home>/tunes/<version name>` (so `resume` finds an interrupted run's checkpoint);
the artifact is stored and registered as a version with its data, split and settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copydesk.content.types import load_content_type
from copydesk.hashing import sha256_file
from copydesk.settings import Settings
from copydesk.storage import ObjectStore
from copydesk.tuning.base_model import resolve_base_model
from copydesk.tuning.errors import NoTrainingDataError, TuningError
from copydesk.tuning.examples import (
    ExampleSet,
    Quarantined,
    data_digest,
    examples_from_feedback,
    examples_from_references,
    split_by_input,
)
from copydesk.tuning.hyperparameters import TuneSettings
from copydesk.tuning.loop import Progress
from copydesk.tuning.training import tune
from copydesk.tuning.versions import VersionInfo, register_version
from db import model_versions as versions_repo
from db.session import session_scope


@dataclass(frozen=True)
class TuneRequest:
    """What to tune on: approvals (optionally of some batches) or a reference file."""

    content_type: str
    reference: Path | None = None
    batch_ids: tuple[int, ...] | None = None
    include_template: bool = False
    text_column: str = "ref"
    section: str | None = None
    eval_fraction: float = 0.1
    name: str | None = None
    notes: str | None = None
    resume: bool = False
    only_new_data: bool = False  # skip when the latest version trained on the same data
    settings: TuneSettings = field(default_factory=TuneSettings)

    @classmethod
    def from_options(cls, content_type: str, options: dict[str, Any]) -> TuneRequest:
        """From plain options (a flow's parameters): the request's fields, and the
        TuneSettings fields under `settings`."""
        fields = dict(options)
        hyper = TuneSettings(**fields.pop("settings", {}))
        if fields.get("reference") is not None:
            fields["reference"] = Path(fields["reference"])
        if fields.get("batch_ids") is not None:
            fields["batch_ids"] = tuple(fields["batch_ids"])
        return cls(content_type, settings=hyper, **fields)


@dataclass(frozen=True)
class TuneOutcome:
    version: VersionInfo
    counts: dict[str, Any]
    quarantined: list[Quarantined]
    train_examples: int
    held_out_inputs: int
    loss_curve: list[list[float]]
    run_dir: Path


def gather_examples(url: str, request: TuneRequest) -> tuple[ExampleSet, dict[str, Any]]:
    """The examples of the request, and how the version records their source."""
    source: dict[str, Any]
    if request.reference is not None:
        content_type = load_content_type(request.content_type)
        found = examples_from_references(
            request.reference,
            content_type,
            text_column=request.text_column,
            section=request.section,
        )
        source = {
            "kind": "reference",
            "path": str(request.reference),
            "sha256": sha256_file(request.reference),
        }
    else:
        found = examples_from_feedback(
            url,
            content_type=request.content_type,
            batch_ids=request.batch_ids,
            include_template=request.include_template,
        )
        items = sorted({int(e.source.removeprefix("item ")) for e in found.examples})
        source = {
            "kind": "approvals",
            "batches": list(request.batch_ids or []),
            "include_template": request.include_template,
            "items": items,
        }
    if not found.examples:
        where = "the reference file" if request.reference else "approved sections"
        raise NoTrainingDataError(
            f"there is nothing to train on: no usable {where} for {request.content_type!r} "
            f"({len(found.quarantined)} rows quarantined, left out: {dict(found.left_out)}); "
            "approve some items, widen the filters, or give a reference file"
        )
    return found, source


def run_tune(
    settings: Settings,
    store: ObjectStore,
    request: TuneRequest,
    on_step: Callable[[Progress], None] | None = None,
) -> TuneOutcome | None:
    """Gather, split, train and register: the new model version (None: `only_new_data`
    and the latest version of the content type trained on the same data)."""
    url = settings.resolved_database_url
    found, source = gather_examples(url, request)
    split = split_by_input(
        found.examples, eval_fraction=request.eval_fraction, seed=request.settings.seed
    )
    if request.only_new_data and _latest_digest(url, request.content_type) == data_digest(
        split.train
    ):
        return None
    name = request.name or _next_name(url, request.content_type)
    run_dir = settings.home.resolve() / "tunes" / name
    if run_dir.exists() and not request.resume and (run_dir / "tune.json").exists():
        raise TuningError(f"{run_dir} holds a finished tune: give another --name")
    base = resolve_base_model(settings.text_model, settings.resolved_model_cache)
    result = tune(
        base, split.train, run_dir, request.settings, resume=request.resume, on_step=on_step
    )
    data = {
        "source": source,
        "counts": found.counts(),
        "split": {
            "seed": split.seed,
            "eval_fraction": request.eval_fraction,
            "train_examples": len(split.train),
            "held_out_examples": len(split.eval),
            "held_out_inputs": sorted({e.input_key for e in split.eval}),
        },
    }
    version = register_version(
        url,
        store,
        result,
        content_type=request.content_type,
        name=name,
        data=data,
        notes=request.notes,
    )
    return TuneOutcome(
        version,
        found.counts(),
        found.quarantined,
        len(split.train),
        len(data["split"]["held_out_inputs"]),
        result.metadata["loss_curve"],
        run_dir,
    )


def _latest_digest(url: str, content_type: str) -> str | None:
    with session_scope(url, readonly=True) as session:
        versions = versions_repo.list_model_versions(session=session, content_type=content_type)
        return versions[-1].data_digest if versions else None


def _next_name(url: str, content_type: str) -> str:
    with session_scope(url, readonly=True) as session:
        return versions_repo.next_version_name(session=session, prefix=content_type)
