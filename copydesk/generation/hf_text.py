"""Text generation with transformers: the default backend.

- Models load once per process (`load_text_model` is cached by model, device, dtype and
  the tuned version's adapter sha256, if any: a LoRA adapter is merged into a fresh copy
  of the base weights, so the base model stays as it was).
- Device auto-selection (cuda → mps → cpu); bf16/fp16 on GPU; bf16 on CPUs with native bf16, else fp32.
- Real batching: requests are grouped by decoding settings, sorted by prompt length,
  left-padded, and run with one `generate` (KV cache) per bucket; on CUDA out-of-memory
  the bucket is retried at half the batch size.
- The repetition penalty counts the generated tokens only, not the prompt's: a text
  that names the record's facts copies them from the prompt, and penalising that
  (transformers' default) makes the model drop or mangle facts.
- Greedy decoding gives the same text batched as alone (tested). Sampling draws each
  row's tokens from its own seeded `torch.Generator` (`logits.SeededSampler`), so a request
  re-generated alone with its seed repeats its text; the caveat is floating point: a
  batch can shift a probability in the last bits, which changes a draw only when the
  random number falls exactly on that boundary.
"""

from __future__ import annotations

import dataclasses
import functools
import secrets
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig
from transformers.utils import logging as transformers_logging

from copydesk.errors import ConfigurationError
from copydesk.generation.adapters import Adapter, merge_adapter
from copydesk.generation.base import (
    Decoding,
    FinishReason,
    GenerationRequest,
    GenerationResult,
    ModelIdentity,
    apply_stop_strings,
)
from copydesk.generation.bundled import BUNDLED_MODEL_ID, prepare_bundled_model
from copydesk.generation.device import dtype_name, select_device, select_dtype
from copydesk.generation.logits import logits_processors, mean_logprob
from copydesk.generation.meter import METER
from copydesk.hashing import sha256_file, sha256_json

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf")


@dataclass(frozen=True)
class LoadedModel:
    model: Any
    tokenizer: Any
    identity: ModelIdentity
    source: Literal["converted", "cache", "folder"]
    load_s: float


def library_versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in ("torch", "transformers", "tokenizers")}


def weights_sha256(folder: Path) -> str:
    """One digest over every weights file of a model folder (names and contents)."""
    files = sorted(p for p in folder.iterdir() if p.suffix in WEIGHT_SUFFIXES)
    if not files:
        raise ConfigurationError(f"{folder} has no weights files ({', '.join(WEIGHT_SUFFIXES)})")
    return sha256_json({p.name: sha256_file(p) for p in files})


@functools.lru_cache(maxsize=4)
def load_text_model(
    spec: str, cache_root: Path, device: str, dtype: str, adapter: Adapter | None = None
) -> LoadedModel:
    """Load `spec` ("bundled" or a local model folder) once per process; with `adapter`,
    the tuned version: its LoRA adapter merged in (or its fully tuned weights)."""
    started = time.perf_counter()
    if adapter is not None and adapter.method == "full":
        loaded = load_text_model(str(adapter.folder), cache_root, device, dtype)
        base = load_text_model(spec, cache_root, device, dtype).identity
        identity = dataclasses.replace(base, adapter_sha256=adapter.sha256)
        return dataclasses.replace(loaded, identity=identity)
    source: Literal["converted", "cache", "folder"]
    if spec == "bundled":
        bundled = prepare_bundled_model(cache_root)
        folder, model_id, revision, source = (
            bundled.folder,
            BUNDLED_MODEL_ID,
            bundled.sha256,
            bundled.source,
        )
    else:
        folder = Path(spec).expanduser()
        if not (folder / "config.json").is_file():
            raise ConfigurationError(
                f"{folder} is not a transformers model folder (no config.json); "
                "set COPYDESK_TEXT_MODEL to `bundled` or to a local model folder"
            )
        model_id, revision, source = folder.name, weights_sha256(folder), "folder"
    # Copydesk shows its own progress; transformers' "Loading weights" bars only add noise.
    transformers_logging.disable_progress_bar()
    # Both from a local folder with local_files_only: the Hub is never asked (bandit B615)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)  # nosec B615
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    computed = select_dtype(device, dtype)
    # An adapter is merged into fp32 weights, then the whole cast: merging in bf16 would
    # round the update into the weights' coarser grid.
    model = AutoModelForCausalLM.from_pretrained(  # nosec B615
        folder,
        dtype=torch.float32 if adapter is not None else computed,
        local_files_only=True,
        attn_implementation="sdpa",
    )
    if adapter is not None:
        model = merge_adapter(model, adapter.folder)
    model.to(device=device, dtype=computed).eval()
    identity = ModelIdentity(
        backend="transformers",
        model_id=model_id,
        revision=revision,
        device=device,
        dtype=dtype,
        library_versions=library_versions(),
        adapter_sha256=adapter.sha256 if adapter is not None else None,
    )
    return LoadedModel(model, tokenizer, identity, source, time.perf_counter() - started)


def _is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


class HFTextGenerator:
    """`TextGenerator` over a local transformers causal LM."""

    def __init__(
        self,
        model: str = "bundled",
        *,
        cache_dir: Path,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int = 64,
        adapter: Adapter | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        chosen = select_device(device)
        self.loaded = load_text_model(
            model, cache_dir.resolve(), chosen, dtype_name(select_dtype(chosen, dtype)), adapter
        )
        self.batch_size = batch_size
        self.model_version_id = adapter.model_version_id if adapter is not None else None

    @property
    def identity(self) -> ModelIdentity:
        if self.model_version_id is None:
            return self.loaded.identity
        return dataclasses.replace(self.loaded.identity, model_version_id=self.model_version_id)

    def render(self, request: GenerationRequest) -> str:
        """The exact text the model sees: the chat template applied to messages."""
        if request.prompt is not None:
            return request.prompt
        tokenizer = self.loaded.tokenizer
        if not tokenizer.chat_template:
            raise ConfigurationError(
                f"{self.identity.model_id} has no chat template; send plain prompts"
            )
        messages = [{"role": m.role, "content": m.content} for m in request.messages or ()]
        return str(
            tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        if not requests:
            return []
        prompts = [self.render(r) for r in requests]
        seeds = [
            r.seed if r.seed is not None or r.decoding.greedy else secrets.randbits(63)
            for r in requests
        ]
        lengths = [
            len(ids) for ids in self.loaded.tokenizer(prompts, add_special_tokens=False).input_ids
        ]
        groups: dict[Decoding, list[int]] = defaultdict(list)
        for index, request in enumerate(requests):
            groups[request.decoding].append(index)
        results: list[GenerationResult | None] = [None] * len(requests)
        for decoding, members in groups.items():
            members.sort(key=lambda i: lengths[i])
            # a beam search runs num_beams rows per prompt, and keeps every step's scores
            # (for its final score): the same rows per bucket as any other decoding
            size, position = max(1, self.batch_size // decoding.num_beams), 0
            while position < len(members):
                bucket = members[position : position + size]
                try:
                    outputs = self._run_bucket(
                        [prompts[i] for i in bucket], [seeds[i] for i in bucket], decoding
                    )
                except (torch.OutOfMemoryError, RuntimeError) as exc:
                    if not _is_out_of_memory(exc) or size == 1:
                        raise
                    size //= 2  # retry this bucket at half the batch size
                    if torch.cuda.is_available():
                        torch.cuda.empty_cache()
                    continue
                for index, result in zip(bucket, outputs, strict=True):
                    results[index] = result
                position += len(bucket)
        return [r for r in results if r is not None]

    def _run_bucket(
        self, prompts: list[str], seeds: list[int | None], decoding: Decoding
    ) -> list[GenerationResult]:
        model, tokenizer = self.loaded.model, self.loaded.tokenizer
        device = self.identity.device
        encoded = tokenizer(
            prompts, return_tensors="pt", padding=True, add_special_tokens=False
        ).to(device)
        beams = decoding.num_beams > 1
        config = GenerationConfig(
            max_new_tokens=decoding.max_new_tokens,
            do_sample=False,
            num_beams=decoding.num_beams,
            early_stopping=beams,
            length_penalty=1.0,
            return_dict_in_generate=beams,
            output_scores=beams,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=model.generation_config.eos_token_id or tokenizer.eos_token_id,
            bos_token_id=model.generation_config.bos_token_id,
            stop_strings=list(decoding.stop) or None,
        )
        width = int(encoded["input_ids"].shape[1])
        processors = logits_processors(decoding, width, seeds, device)
        started = time.perf_counter()
        with torch.inference_mode():
            output = model.generate(
                **encoded,
                generation_config=config,
                logits_processor=processors,
                tokenizer=tokenizer,
            )
        elapsed = time.perf_counter() - started
        sequences = output.sequences if beams else output
        generated = sequences[:, width:]
        new_tokens = generated.tolist()
        prompt_tokens = encoded["attention_mask"].sum(dim=1).tolist()
        eos_ids = _as_set(config.eos_token_id)
        if beams:
            # the beam's score: its log-probability per token (length penalty 1), after
            # the repetition penalty; one value per row, repeated to fit `mean_logprob`
            logprobs = [
                [float(score)] * len(ids)
                for score, ids in zip(output.sequences_scores.tolist(), new_tokens, strict=True)
            ]
        else:
            recorder = processors[0]
            if generated.shape[1]:
                recorder.finish(generated[:, -1])
            logprobs = recorder.per_row or [[] for _ in prompts]
        METER.add(len(prompts), sum(len(ids) for ids in new_tokens))
        return [
            self._result(
                prompt, ids, int(n_in), seed, decoding, eos_ids, elapsed / len(prompts), scores
            )
            for prompt, ids, n_in, seed, scores in zip(
                prompts, new_tokens, prompt_tokens, seeds, logprobs, strict=True
            )
        ]

    def _result(
        self,
        prompt: str,
        ids: list[int],
        tokens_in: int,
        seed: int | None,
        decoding: Decoding,
        eos_ids: set[int],
        duration: float,
        logprobs: Sequence[float] = (),
    ) -> GenerationResult:
        end = next((i for i, token in enumerate(ids) if token in eos_ids), None)
        kept = ids if end is None else ids[:end]
        text, stopped = apply_stop_strings(
            self.loaded.tokenizer.decode(kept, skip_special_tokens=True), decoding.stop
        )
        finish: FinishReason = (
            "stop_string" if stopped else ("stop" if end is not None else "length")
        )
        return GenerationResult(
            text=text.strip(),
            prompt_text=prompt,
            tokens_in=tokens_in,
            tokens_out=len(kept) + (1 if end is not None else 0),
            finish_reason=finish,
            duration_s=duration,
            seed=seed,
            mean_logprob=mean_logprob(logprobs, len(kept)),
        )


def _as_set(value: int | list[int] | None) -> set[int]:
    if value is None:
        return set()
    return {value} if isinstance(value, int) else set(value)
