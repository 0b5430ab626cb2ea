"""CLI commands that close the loop: `tune` (approvals or references → a model version)
and `eval` (versions, the base model or the fallback scored side by side)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from copydesk.cli.home import ready_home
from copydesk.errors import ConfigurationError
from copydesk.settings import get_settings

if TYPE_CHECKING:
    from copydesk.generation.base import TextGenerator
    from copydesk.tuning.jobs import TuneOutcome

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def tune(
    content_type: Annotated[str, typer.Option("--type", "-t", help="Content type to tune for.")],
    from_approvals: Annotated[
        bool, typer.Option("--from-approvals", help="Train on the editors' approved text.")
    ] = False,
    batch: Annotated[
        list[int] | None, typer.Option("--batch", help="Only approvals of these batches.")
    ] = None,
    include_template: Annotated[
        bool, typer.Option("--include-template", help="Also approved fallback (template) text.")
    ] = False,
    reference: Annotated[
        Path | None, typer.Option(help="A reference file of records with human texts.")
    ] = None,
    text_column: Annotated[str, typer.Option(help="The reference file's text column.")] = "ref",
    steps: Annotated[int, typer.Option(min=1, help="Optimizer steps.")] = 60,
    batch_size: Annotated[int, typer.Option(min=1, help="Examples per forward pass.")] = 4,
    accumulation: Annotated[int, typer.Option(min=1, help="Forward passes per step.")] = 4,
    lr: Annotated[float | None, typer.Option(help="Learning rate (2e-4 LoRA, 2e-5 full).")] = None,
    rank: Annotated[int, typer.Option(min=1, help="LoRA rank.")] = 16,
    method: Annotated[str, typer.Option(help="lora or full.")] = "lora",
    seed: Annotated[int, typer.Option(help="Seed of the weights, batches and split.")] = 0,
    eval_fraction: Annotated[
        float, typer.Option(min=0.0, max=0.9, help="Share of inputs held out.")
    ] = 0.1,
    max_length: Annotated[int, typer.Option(min=16, help="Tokens per example, at most.")] = 512,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted tune.")] = False,
    name: Annotated[str | None, typer.Option(help="Version name (default: TYPE-vN).")] = None,
    notes: Annotated[str | None, typer.Option(help="Notes kept with the version.")] = None,
) -> None:
    """Fine-tune the configured base model (LoRA) into a new model version."""
    from copydesk.storage import create_store
    from copydesk.tuning.hyperparameters import TuneSettings
    from copydesk.tuning.jobs import TuneRequest, run_tune

    if from_approvals == (reference is not None):
        raise ConfigurationError("give --from-approvals or --reference FILE (one of them)")
    if method not in ("lora", "full"):
        raise ConfigurationError(f"--method is lora or full, not {method!r}")
    if reference is not None and not reference.is_file():
        raise ConfigurationError(f"cannot read {reference}: no such file")
    settings = get_settings()
    ready_home()
    hyper = TuneSettings(
        method=method,  # type: ignore[arg-type]  # checked above
        steps=steps,
        batch_size=batch_size,
        gradient_accumulation=accumulation,
        learning_rate=lr,
        lora_r=rank,
        lora_alpha=2 * rank,
        seed=seed,
        max_length=max_length,
        device=None if settings.text_device == "auto" else settings.text_device,
    )
    request = TuneRequest(
        content_type,
        reference=reference,
        batch_ids=tuple(batch) if batch else None,
        include_template=include_template,
        text_column=text_column,
        eval_fraction=eval_fraction,
        name=name,
        notes=notes,
        resume=resume,
        settings=hyper,
    )
    with TuneProgress(steps) as on_step:
        outcome = run_tune(settings, create_store(settings), request, on_step=on_step)
    if outcome is not None:  # None only when asked to skip unchanged data
        _print_outcome(outcome)


class TuneProgress:
    """Rich progress of the steps on stderr: step, loss, time left."""

    def __init__(self, steps: int) -> None:
        self.bar = Progress(
            TextColumn("tune"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeRemainingColumn(),
            console=err,
        )
        self.task = self.bar.add_task("tune", total=steps, loss="-")

    def __enter__(self) -> Any:
        self.bar.start()

        def on_step(progress: Any) -> None:
            self.bar.update(self.task, completed=progress.step, loss=f"{progress.loss:.3f}")

        return on_step

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


def _print_outcome(outcome: TuneOutcome) -> None:
    version, losses = outcome.version, outcome.loss_curve
    if outcome.quarantined:
        err.print(f"{len(outcome.quarantined)} reference row(s) quarantined:", highlight=False)
        for row in outcome.quarantined[:10]:
            err.print(f"  row {row.row_number}: {row.reason}", highlight=False, markup=False)
    out.print(
        f"model version {version.name} ({version.method} on {version.base_model_id})\n"
        f"examples: {outcome.counts['examples']} from {outcome.counts['inputs']} inputs "
        f"{outcome.counts['by_author']}; trained on {outcome.train_examples}, "
        f"{outcome.held_out_inputs} inputs held out; quarantined {len(outcome.quarantined)}\n"
        f"loss {losses[0][1]:.3f} → {losses[-1][1]:.3f} over {len(losses)} steps in "
        f"{version.duration_s} s\n"
        f"adapter {version.artifact_sha256} ({version.artifact_bytes} bytes) at "
        f"{version.artifact_key}\n"
        f"next: copydesk eval --type {version.content_type} --reference FILE "
        f"--model-version {version.name} --store; "
        f"copydesk models promote {version.name} --type {version.content_type}",
        highlight=False,
        markup=False,
    )


System = tuple[str, Literal["version", "base", "fallback"], int | None]


def evaluate(
    content_type: Annotated[str, typer.Option("--type", "-t", help="Content type.")],
    reference: Annotated[Path, typer.Option(help="Reference file (records + texts).")],
    model_version: Annotated[
        str | None, typer.Option("--model-version", help="Version to score (name or id).")
    ] = None,
    base: Annotated[bool, typer.Option("--base", help="Score the base model.")] = False,
    fallback: Annotated[
        bool, typer.Option("--fallback", help="Score the fallback alone (no model).")
    ] = False,
    compare: Annotated[
        list[str] | None,
        typer.Option(help="Also score this version (or `base`, `fallback`), side by side."),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N inputs.")] = None,
    held_out: Annotated[
        bool,
        typer.Option(
            "--held-out",
            help="Only the inputs the (first) version's tune held out: never trained on.",
        ),
    ] = False,
    max_attempts: Annotated[
        int, typer.Option(min=1, help="Generation attempts per section, as in `run`.")
    ] = 3,
    candidates: Annotated[
        int | None,
        typer.Option(min=1, max=16, help="Texts per attempt, as in `run` (default: manifest)."),
    ] = None,
    beams: Annotated[
        int | None,
        typer.Option(
            min=1, max=16, help="Beams of the first text, as in `run` (default: manifest)."
        ),
    ] = None,
    text_column: Annotated[str, typer.Option(help="The reference file's text column.")] = "ref",
    bleu_group: Annotated[
        str | None,
        typer.Option(
            help="Also score BLEU against references grouped by this column (E2E: "
            "orig_mr, the original MR the challenge scores against)."
        ),
    ] = None,
    store: Annotated[
        bool, typer.Option("--store", help="Keep the scores as the versions' evaluation.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
) -> None:
    """Score a model version, the base model or the fallback on a reference file with the
    pipeline's own stages and checks (default: the promoted version, else the base model)."""
    from copydesk.content.types import load_content_type
    from copydesk.tuning.scorecard import load_reference

    if sum([model_version is not None, base, fallback]) > 1:
        raise ConfigurationError("give one of --model-version, --base and --fallback")
    if not reference.is_file():
        raise ConfigurationError(f"cannot read {reference}: no such file")
    ready_home()
    first = "base" if base else "fallback" if fallback else model_version
    systems = [_system(content_type, first)] + [_system(content_type, c) for c in compare or []]
    kind = load_content_type(content_type)
    only = _held_out_inputs(systems) if held_out else None
    refs = load_reference(
        reference,
        kind,
        limit=limit,
        text_column=text_column,
        only_inputs=only,
        bleu_group=bleu_group,
    )
    if not refs.inputs:
        raise ConfigurationError(
            f"{reference} has no usable reference rows for {content_type!r} "
            f"({refs.quarantined} quarantined)"
        )
    scores = [_score(kind, refs, system, max_attempts, candidates, beams) for system in systems]
    if store:
        _store(systems, scores)
    if as_json:
        print(json.dumps(scores))
    else:
        out.print(score_table(scores))
        if refs.quarantined:
            err.print(f"{refs.quarantined} reference row(s) quarantined", highlight=False)


def _held_out_inputs(systems: list[System]) -> frozenset[str]:
    """The inputs the first version among `systems` was not trained on."""
    from copydesk.tuning.versions import get_version

    url = get_settings().resolved_database_url
    for label, what, version_id in systems:
        if what == "version" and version_id is not None:
            split = get_version(url, version_id).data.get("split") or {}
            if "held_out_inputs" not in split:
                raise ConfigurationError(f"{label} records no held-out inputs (not a split tune)")
            return frozenset(split["held_out_inputs"])
    raise ConfigurationError("--held-out needs a model version to take its held-out inputs from")


def _system(content_type: str, requested: str | None) -> System:
    """(label, kind, version id) of `requested`: a version, `base` or `fallback`; None is
    the content type's promoted version, else the base model."""
    from copydesk.tuning.versions import resolve_version

    if requested == "fallback":
        return ("fallback", "fallback", None)
    version = resolve_version(get_settings().resolved_database_url, content_type, requested)
    if version is None:
        return ("base", "base", None)
    return (version.name, "version", version.id)


def _score(
    kind: Any,
    refs: Any,
    system: System,
    max_attempts: int,
    candidates: int | None = None,
    beams: int | None = None,
) -> dict[str, Any]:
    from copydesk.pipeline.types import GenerationOptions
    from copydesk.tuning.scorecard import SilentGenerator, score_model

    label, what, version_id = system
    err.print(f"scoring {label} on {len(refs.inputs)} inputs …", highlight=False)
    generator: TextGenerator
    if what == "fallback":
        generator, options = SilentGenerator(), GenerationOptions(max_attempts=1)
    else:
        from copydesk.tuning.serving import version_generator

        generator = version_generator(get_settings(), version_id)
        options = GenerationOptions(
            max_attempts=max_attempts,
            model_version_id=version_id,
            candidates=candidates,
            beams=beams,
        )
    return score_model(kind, refs, generator, label=label, options=options)


def _store(systems: list[System], scores: list[dict[str, Any]]) -> None:
    from copydesk.tuning.versions import store_evaluation

    url = get_settings().resolved_database_url
    for (label, what, version_id), score in zip(systems, scores, strict=True):
        if what == "version" and version_id is not None:
            store_evaluation(url, version_id, score)
            err.print(f"stored the evaluation of {label}", highlight=False)


ROWS = (
    ("items", "items"),
    ("model-written", "model_written"),
    ("slot error rate", "slot_error_rate"),
    ("BLEU", "bleu"),
    ("BLEU (references grouped)", "bleu_grouped"),
    ("first attempt: slot error", "first_attempt.slot_error_rate"),
    ("first attempt: BLEU", "first_attempt.bleu"),
    ("first attempt: BLEU (grouped)", "first_attempt.bleu_grouped"),
    ("lints / 100 words", "lints_per_100_words"),
    ("length compliance", "length_compliance"),
    ("seconds", "seconds"),
)


def score_table(scores: list[dict[str, Any]]) -> Table:
    table = Table("measure", *(score["system"] for score in scores))
    for label, path in ROWS:
        values = []
        for score in scores:
            value: Any = score
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            values.append("-" if value is None else str(value))
        table.add_row(label, *values)
    return table
