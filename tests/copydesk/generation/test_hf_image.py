"""The diffusers image backend on a tiny random Stable Diffusion pipeline saved to disk.

The pipeline is built from configs, saved with save_pretrained and loaded back through
`DiffusersImageGenerator`, the same path a user's real model folder takes.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from copydesk.errors import ConfigurationError
from copydesk.generation.hf_image import (
    DiffusersImageGenerator,
    ImageRequest,
    ImageResult,
    load_image_pipeline,
)
from tests.support.tiny_diffusion import build_tiny_pipeline

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_pipeline(tmp_path_factory.mktemp("models") / "tiny-sd")


def request(
    prompt: str = "a red cat", *, seed: int, width: int = 64, height: int = 64
) -> ImageRequest:
    return ImageRequest(
        prompt, seed=seed, negative_prompt="blurry", width=width, height=height, steps=2
    )


def decode(result: ImageResult) -> Image.Image:
    assert result.png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(result.png))
    image.load()
    return image


def test_images_have_the_requested_sizes_in_request_order(tiny_model: Path) -> None:
    generator = DiffusersImageGenerator(tiny_model, device="cpu")
    requests = [request(seed=1), request(seed=2, width=32), request(seed=3, height=32)]
    results = generator.generate(requests)

    sizes = [(decode(r).size, (r.width, r.height), r.seed) for r in results]
    assert sizes == [((64, 64), (64, 64), 1), ((32, 64), (32, 64), 2), ((64, 32), (64, 32), 3)]
    assert all(decode(r).mode == "RGB" for r in results)
    first = results[0]
    assert first.sha256.startswith("sha256:")
    assert first.duration_s > 0
    assert first.params["steps"] == 2
    assert first.params["negative_prompt"] == "blurry"
    assert first.params["scheduler"] == "DDIMScheduler"
    assert first.params["pipeline"] == "StableDiffusionPipeline"


def test_an_image_depends_only_on_its_own_seed(tiny_model: Path) -> None:
    one_at_a_time = DiffusersImageGenerator(tiny_model, device="cpu", batch_size=1)
    alone = one_at_a_time.generate([request(seed=1)])[0]
    again = one_at_a_time.generate([request(seed=1)])[0]
    among_others = one_at_a_time.generate(
        [request("a blue dog", seed=5), request(seed=1), request("the sea", seed=9)]
    )
    assert again.png == alone.png
    assert among_others[1].png == alone.png
    assert len({r.sha256 for r in among_others}) == 3

    # Batched: each image still has its own noise, but batch-shaped kernels may round
    # the last float bit differently, so compare pixels within one level.
    batched = DiffusersImageGenerator(tiny_model, device="cpu", batch_size=4)
    trio = [request("a blue dog", seed=5), request(seed=1), request("the sea", seed=9)]
    in_batch = batched.generate(trio)
    assert [r.png for r in batched.generate(trio)] == [r.png for r in in_batch]
    assert in_batch[1].params["batch_size"] == 3
    pixels, reference = decode(in_batch[1]).tobytes(), decode(alone).tobytes()
    assert max(abs(a - b) for a, b in zip(pixels, reference, strict=True)) <= 1


def test_different_seeds_give_different_images(tiny_model: Path) -> None:
    generator = DiffusersImageGenerator(tiny_model, device="cpu")
    first, second = generator.generate([request(seed=1), request(seed=2)])
    assert first.png != second.png


def test_identity_names_the_folder_and_hashes_its_files(tiny_model: Path) -> None:
    identity = DiffusersImageGenerator(tiny_model, device="cpu").identity
    assert identity.backend == "diffusers"
    assert identity.model_id == "tiny-sd"
    assert identity.revision is not None
    assert identity.revision.startswith("sha256:")
    assert (identity.device, identity.dtype) == ("cpu", "float32")
    assert set(identity.library_versions) == {"diffusers", "torch", "transformers"}


def test_a_folder_is_loaded_once_per_process(tiny_model: Path) -> None:
    first = DiffusersImageGenerator(tiny_model, device="cpu")
    hits = load_image_pipeline.cache_info().hits
    second = DiffusersImageGenerator(tiny_model, device="cpu", batch_size=2)
    assert second.pipeline is first.pipeline
    assert load_image_pipeline.cache_info().hits == hits + 1


def test_a_folder_without_model_index_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-pipeline"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(ConfigurationError, match="not-a-pipeline"):
        DiffusersImageGenerator(folder, device="cpu")


def test_a_broken_pipeline_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    with pytest.raises(ConfigurationError, match="broken"):
        DiffusersImageGenerator(folder, device="cpu")


def test_requests_are_validated() -> None:
    with pytest.raises(ValueError, match="multiples of 8"):
        ImageRequest("a cat", seed=1, width=100)
    with pytest.raises(ValueError, match="seed"):
        ImageRequest("a cat", seed=-1)
