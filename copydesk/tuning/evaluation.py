"""Scoring generations against references with the pipeline's own measures.

- slot error rate: the E2E definition of `checks/slots.py`, corpus level;
- BLEU: sacrebleu's corpus BLEU against every reference of each input, on a 0-1 scale;
- `first_attempts`: what the generate stage's first attempt would write for each input
  (its greedy decoding, through the transformers backend's own batching), with the base
  model or with an adapter merged into it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copydesk.checks.slots import SlotErrors, slot_error_rate, slot_errors
from copydesk.content.types import ContentType
from copydesk.generation.base import Decoding, GenerationRequest, ModelIdentity
from copydesk.generation.device import dtype_name, select_device
from copydesk.generation.hf_text import HFTextGenerator, LoadedModel, library_versions
from copydesk.pipeline.types import GenerationOptions
from copydesk.tuning.artifacts import describe_artifact
from copydesk.tuning.base_model import BaseModelRef
from copydesk.tuning.examples import Example
from copydesk.tuning.precision import compute_dtype


@dataclass(frozen=True)
class EvalInput:
    """One input of an evaluation set: its record, prompt and every reference text."""

    record: dict[str, Any]
    prompt: str
    section: str
    references: tuple[str, ...]
    input_key: str = ""  # the record's sha256: the unit of a tune's held-out split
    # also scored: BLEU against references grouped otherwise (`eval --bleu-group`)
    bleu_references: tuple[str, ...] | None = None


def eval_inputs(examples: Sequence[Example], limit: int | None = None) -> list[EvalInput]:
    """Examples grouped by input (first appearance order), the first `limit` inputs."""
    grouped: dict[str, list[Example]] = {}
    for example in examples:
        if example.record is None:
            raise ValueError("evaluation needs records: examples from a reference file")
        if example.input_key not in grouped and limit is not None and len(grouped) >= limit:
            continue
        grouped.setdefault(example.input_key, []).append(example)
    return [
        EvalInput(
            group[0].record or {},
            group[0].prompt,
            group[0].section,
            tuple(e.completion for e in group),
            group[0].input_key,
        )
        for group in grouped.values()
    ]


def bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Corpus BLEU (0-1) against every reference of each hypothesis. Inputs with fewer
    references are padded with `None`, which sacrebleu skips (an empty string would count
    as a reference of length 0)."""
    import sacrebleu

    if not hypotheses:
        return 0.0
    width = max(len(refs) for refs in references)
    streams: list[list[str | None]] = [
        [refs[i] if i < len(refs) else None for refs in references] for i in range(width)
    ]
    score = sacrebleu.corpus_bleu(list(hypotheses), streams)  # type: ignore[arg-type]
    return float(score.score) / 100


def score_texts(
    content_type: ContentType, inputs: Sequence[EvalInput], texts: Sequence[str]
) -> dict[str, Any]:
    """Slot error rate (and its kinds) and BLEU of one text per input."""
    errors: list[SlotErrors] = [
        slot_errors(item.record, text, content_type)
        for item, text in zip(inputs, texts, strict=True)
    ]
    kinds: Counter[str] = Counter()
    for found in errors:
        for kind in ("missing", "added", "wrong", "repeated"):
            kinds[kind] += len(getattr(found, kind))
    return {
        "inputs": len(inputs),
        "slot_error_rate": round(slot_error_rate(errors), 4),
        "slot_errors": dict(kinds),
        "texts_with_slot_errors": sum(1 for found in errors if found.errors),
        "bleu": round(bleu(texts, [item.references for item in inputs]), 4),
        "bleu_grouped": round(
            bleu(texts, [item.bleu_references or item.references for item in inputs]), 4
        )
        if any(item.bleu_references for item in inputs)
        else None,
    }


class _LoadedTextGenerator(HFTextGenerator):
    """The transformers backend over a model already in memory (e.g. with an adapter)."""

    def __init__(self, loaded: LoadedModel, batch_size: int) -> None:
        self.loaded, self.batch_size = loaded, batch_size
        self.model_version_id = None


def load_generator(
    base: BaseModelRef,
    adapter: Path | None = None,
    *,
    device: str | None = None,
    dtype: str = "auto",
    batch_size: int = 32,
) -> HFTextGenerator:
    """A generator over the base model, with `adapter` (a peft folder) merged in if given."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    chosen = select_device(device)
    tokenizer = AutoTokenizer.from_pretrained(base.folder, local_files_only=True)  # nosec B615
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(  # nosec B615
        base.folder, dtype=torch.float32, local_files_only=True
    )
    model_id = base.model_id
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
        model_id = f"{base.model_id}+adapter:{describe_artifact(adapter)['sha256']}"
    computed = compute_dtype(chosen, dtype)
    model.to(device=chosen, dtype=computed).eval()
    identity = ModelIdentity(
        backend="transformers",
        model_id=model_id,
        revision=base.revision,
        device=chosen,
        dtype=dtype_name(computed),
        library_versions=library_versions(),
    )
    return _LoadedTextGenerator(LoadedModel(model, tokenizer, identity, "folder", 0.0), batch_size)


def first_attempts(
    generator: HFTextGenerator, content_type: ContentType, inputs: Sequence[EvalInput]
) -> list[str]:
    """The generate stage's first attempt for each input: greedy, its decoding settings."""
    options = GenerationOptions()
    requests = []
    for item in inputs:
        spec = content_type.section(item.section)
        decoding = Decoding(
            max_new_tokens=spec.max_new_tokens,
            temperature=options.temperature,
            top_k=options.top_k,
            top_p=options.top_p,
            repetition_penalty=options.repetition_penalty,
        )
        requests.append(GenerationRequest.chat(item.prompt, decoding=decoding))
    return [result.text for result in generator.generate(requests)]
