"""The transformers backend with the real bundled model (SmolLM2-135M-Instruct), on CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from copydesk.errors import ConfigurationError
from copydesk.generation.base import Decoding, GenerationRequest, TextGenerator
from copydesk.generation.bundled import BundledModel, find_bundled_gguf
from copydesk.generation.device import select_dtype
from copydesk.generation.hf_text import HFTextGenerator, load_text_model, weights_sha256
from copydesk.generation.logits import logits_processors
from copydesk.hashing import sha256_file

pytestmark = pytest.mark.slow

PRODUCTS = [
    "a desk lamp by Lumo, 45 dollars",
    "a 40 litre hiking backpack by Summit with a rain cover and padded hip belt",
    "espresso beans",
    "a red wool scarf, hand-woven in Scotland, 180 cm long, dry clean only",
    "noise-cancelling earbuds with 30 hours of battery",
    "a cast iron skillet",
]
GREEDY = Decoding(max_new_tokens=24)
SAMPLED = Decoding(max_new_tokens=24, temperature=0.9, top_k=50, top_p=0.95)


def requests(decoding: Decoding, seeds: list[int | None] | None = None) -> list[GenerationRequest]:
    seeds = seeds or [None] * len(PRODUCTS)
    return [
        GenerationRequest.chat(f"Describe {p} in one sentence.", decoding=decoding, seed=s)
        for p, s in zip(PRODUCTS, seeds, strict=True)
    ]


@pytest.fixture(scope="module")
def generator(model_cache: Path) -> HFTextGenerator:
    """fp32: the dtype in which a batch's greedy text equals the text alone."""
    return HFTextGenerator(cache_dir=model_cache, batch_size=4, dtype="float32")


def test_gguf_is_converted_once_then_read_from_the_cache(
    bundled_conversions: tuple[BundledModel, BundledModel],
) -> None:
    first, second = bundled_conversions
    assert (first.source, second.source) == ("converted", "cache")
    assert first.folder == second.folder
    assert (first.folder / "model.safetensors").is_file()
    assert first.sha256 == sha256_file(find_bundled_gguf())


def test_identity_records_the_gguf_sha256(generator: HFTextGenerator) -> None:
    identity = generator.identity
    assert isinstance(generator, TextGenerator)
    assert identity.model_id == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert identity.revision == sha256_file(find_bundled_gguf())
    assert (identity.device, identity.dtype) == ("cpu", "float32")
    assert set(identity.library_versions) == {"torch", "transformers", "tokenizers"}


def test_auto_dtype_generates_in_bf16_where_native_and_repeats_a_batch(
    model_cache: Path,
) -> None:
    auto = HFTextGenerator(cache_dir=model_cache, batch_size=4)
    expected = str(select_dtype("cpu")).removeprefix("torch.")  # bf16 on avx512_bf16 / AMX
    assert auto.identity.dtype == expected
    first = [r.text for r in auto.generate(requests(GREEDY))]
    assert first == [r.text for r in auto.generate(requests(GREEDY))]  # the same batch again
    assert all(first)


def test_model_is_loaded_once_per_process(generator: HFTextGenerator, model_cache: Path) -> None:
    again = HFTextGenerator(cache_dir=model_cache, batch_size=2, dtype="float32")
    assert again.loaded is generator.loaded
    assert load_text_model.cache_info().hits >= 1


def test_batched_greedy_equals_one_at_a_time(generator: HFTextGenerator) -> None:
    batched = generator.generate(requests(GREEDY))  # 6 prompts of different lengths, 2 buckets
    alone = [generator.generate([r])[0] for r in requests(GREEDY)]
    assert [r.text for r in batched] == [r.text for r in alone]
    assert [r.tokens_out for r in batched] == [r.tokens_out for r in alone]
    assert all(r.text for r in batched)
    assert all(0 < r.tokens_out <= 24 and r.tokens_in > 10 for r in batched)
    assert "<|im_start|>user" in batched[0].prompt_text  # the chat template was applied


def test_seed_makes_sampling_reproducible_alone_and_in_a_batch(generator: HFTextGenerator) -> None:
    seeds: list[int | None] = [11, 22, 33, 44, 55, 66]
    batched = generator.generate(requests(SAMPLED, seeds))
    again = generator.generate(requests(SAMPLED, seeds))
    alone = generator.generate([requests(SAMPLED, seeds)[3]])[0]
    assert [r.text for r in batched] == [r.text for r in again]
    assert alone.text == batched[3].text
    reseeded = generator.generate(requests(SAMPLED, [s + 1 for s in seeds if s is not None]))  # type: ignore[misc]
    assert sum(a.text != b.text for a, b in zip(batched, reseeded, strict=True)) >= 5
    assert [r.seed for r in batched] == seeds


def test_unseeded_sampling_records_the_seed_it_drew(generator: HFTextGenerator) -> None:
    (first,) = generator.generate([requests(SAMPLED)[0]])
    assert first.seed is not None
    (replay,) = generator.generate([requests(SAMPLED, [first.seed] * 6)[0]])
    assert replay.text == first.text


def test_stop_strings_and_finish_reasons(generator: HFTextGenerator) -> None:
    count = GenerationRequest.chat(
        "Count from 1 to 20, one number per line.",
        decoding=Decoding(max_new_tokens=80, stop=("7",)),
    )
    short = GenerationRequest.chat(
        "Write a long essay about lamps.", decoding=Decoding(max_new_tokens=5)
    )
    stopped, cut = generator.generate([count, short])
    assert (
        stopped.finish_reason == "stop_string" and "7" not in stopped.text and "6" in stopped.text
    )
    assert (cut.finish_reason, cut.tokens_out) == ("length", 5)


def test_plain_prompts_skip_the_chat_template(generator: HFTextGenerator) -> None:
    (result,) = generator.generate(
        [GenerationRequest(prompt="The capital of France is", decoding=GREEDY)]
    )
    assert result.prompt_text == "The capital of France is"
    assert "Paris" in result.text


def test_out_of_memory_halves_the_batch_and_retries(
    generator: HFTextGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_run = generator._run_bucket
    sizes: list[int] = []

    def tight_memory(prompts: list[str], *args: object) -> object:
        sizes.append(len(prompts))
        if len(prompts) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_run(prompts, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(generator, "_run_bucket", tight_memory)
    results = generator.generate(requests(GREEDY))
    monkeypatch.undo()
    assert sizes == [4, 2, 2, 2]
    assert [r.text for r in results] == [r.text for r in generator.generate(requests(GREEDY))]


def test_other_runtime_errors_are_not_swallowed(
    generator: HFTextGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> object:
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(generator, "_run_bucket", broken)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        generator.generate(requests(GREEDY))


def test_a_local_model_folder_loads_through_the_same_path(
    model_cache: Path, generator: HFTextGenerator
) -> None:
    folder = generator.loaded.identity and next(model_cache.glob("smollm2-*"))
    local = HFTextGenerator(str(folder), cache_dir=model_cache)
    assert local.loaded.source == "folder"
    assert local.identity.revision == weights_sha256(folder)
    (result,) = local.generate(requests(GREEDY)[:1])
    assert result.text == generator.generate(requests(GREEDY)[:1])[0].text


def test_a_folder_without_a_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not a transformers model folder"):
        HFTextGenerator(str(tmp_path), cache_dir=tmp_path)


def test_repetition_penalty_spares_the_prompt_and_counts_the_text() -> None:
    # ids 0-2: the left-padded prompt (it names token 5, a fact to copy); ids 3-4: the text
    input_ids = torch.tensor([[1, 5, 6, 7, 8]])
    scores = torch.full((1, 10), 2.0)
    processors = logits_processors(
        Decoding(repetition_penalty=1.25), prompt_width=3, seeds=[None], device="cpu"
    )
    out = processors(input_ids, scores.clone())
    assert out[0, 5] == 2.0  # a prompt token is not penalised
    assert out[0, 7] == pytest.approx(2.0 / 1.25)  # a generated one is
    assert out[0, 9] == 2.0
    assert len(logits_processors(Decoding(), 3, [None], "cpu")) == 1  # the log-prob recorder


def test_results_carry_the_mean_token_logprob(generator: HFTextGenerator) -> None:
    from copydesk.generation.meter import METER

    before = METER.read()
    greedy, sampled = generator.generate(requests(GREEDY)[:1] + requests(SAMPLED, [7] * 6)[:1])
    after = METER.read()  # what `copydesk run`'s bar shows inside a chunk
    assert after[0] - before[0] == 2 and after[1] - before[1] >= greedy.tokens_out
    for result in (greedy, sampled):
        assert result.mean_logprob is not None and -20 < result.mean_logprob < 0
    # greedy picks the likeliest token at every step: on average likelier than a sample's
    assert greedy.mean_logprob > sampled.mean_logprob


def test_beam_search_is_deterministic_scored_and_batched(
    generator: HFTextGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    beams = Decoding(max_new_tokens=24, num_beams=2)
    buckets: list[int] = []
    run_bucket = generator._run_bucket

    def counted(prompts: list[str], *args: object) -> object:
        buckets.append(len(prompts))
        return run_bucket(prompts, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(generator, "_run_bucket", counted)
    batched = generator.generate(requests(beams)[:4])
    assert buckets == [2, 2]  # batch size 4 rows: 2 prompts of 2 beams a bucket
    again = generator.generate(requests(beams)[:4])
    alone = generator.generate(requests(beams)[2:3])[0]
    greedy = generator.generate(requests(GREEDY)[:4])
    assert [r.text for r in batched] == [r.text for r in again]
    assert alone.text == batched[2].text
    assert all(r.text and 0 < r.tokens_out <= 24 for r in batched)
    # its own search, not greedy decoding under another name
    assert any(b.text != g.text for b, g in zip(batched, greedy, strict=True))
    # the beam's score: a log-probability per token, on the scale of greedy's
    for result in batched:
        assert result.mean_logprob is not None and -20 < result.mean_logprob < 0
    # no log-prob recorder (beam search reorders its rows); the penalty stays
    assert len(logits_processors(beams, 3, [None], "cpu")) == 0
    assert (
        len(logits_processors(Decoding(num_beams=4, repetition_penalty=1.1), 3, [None], "cpu")) == 1
    )


def test_beam_search_needs_deterministic_decoding() -> None:
    with pytest.raises(ValueError, match="temperature 0"):
        Decoding(num_beams=4, temperature=0.7)
    with pytest.raises(ValueError, match="num_beams"):
        Decoding(num_beams=0)
    assert "num_beams" not in Decoding().as_dict()  # lineage as before beams
    assert Decoding(num_beams=4).as_dict()["num_beams"] == 4
