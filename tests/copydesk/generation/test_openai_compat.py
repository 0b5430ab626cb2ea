"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from copydesk.generation.base import Decoding, GenerationRequest, TextGenerator
from copydesk.generation.openai_compat import (
    GenerationServerError,
    OpenAICompatibleGenerator,
    ServerOptions,
)
from tests.support.openai_server import openai_server


def echo(body: dict[str, Any]) -> str:
    if "messages" in body:
        return "Echo: " + body["messages"][-1]["content"] + " END more"
    return "Completion of " + body["prompt"]


def generator(url: str, **options: Any) -> OpenAICompatibleGenerator:
    return OpenAICompatibleGenerator(
        ServerOptions(base_url=url, model="smollm2", backoff_s=0.01, **options)
    )


def test_chat_and_completion_requests() -> None:
    with openai_server(echo) as server:
        backend = generator(server.url)
        assert isinstance(backend, TextGenerator)
        decoding = Decoding(max_new_tokens=32, temperature=0.7, top_p=0.9, top_k=40, stop=(" END",))
        chat, plain = backend.generate(
            [
                GenerationRequest.chat("a lamp", system="Be brief.", decoding=decoding, seed=7),
                GenerationRequest(prompt="Once upon"),
            ]
        )
    assert chat.text == "Echo: a lamp"  # cut at the stop string
    assert chat.finish_reason == "stop_string"
    assert plain.text == "Completion of Once upon"
    assert chat.tokens_out == 5 and chat.tokens_in > 0
    sent_chat, sent_plain = sorted(server.state.history, key=lambda b: "prompt" in b)
    assert sent_chat["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "a lamp"},
    ]
    assert (sent_chat["seed"], sent_chat["top_k"], sent_chat["top_p"], sent_chat["max_tokens"]) == (
        7,
        40,
        0.9,
        32,
    )
    assert sent_chat["stop"] == [" END"]
    assert sent_plain["prompt"] == "Once upon" and "seed" not in sent_plain
    assert backend.identity.model_id == "smollm2"


def test_503_then_success_is_retried() -> None:
    with openai_server(echo) as server:
        server.state.fail_next = [503, 429]
        (result,) = generator(server.url).generate([GenerationRequest.chat("retry me")])
    assert result.text.startswith("Echo: retry me")
    assert server.state.statuses == [503, 429, 200]


def test_gives_up_after_the_retry_budget() -> None:
    with openai_server(echo) as server:
        server.state.fail_next = [503] * 10
        with pytest.raises(GenerationServerError, match=r"answered 503 \(attempt 3/3\)"):
            generator(server.url, max_retries=2).generate([GenerationRequest.chat("x")])
    assert server.state.statuses == [503, 503, 503]


def test_client_errors_are_not_retried() -> None:
    with openai_server(echo) as server:
        server.state.fail_next = [400]
        with pytest.raises(GenerationServerError, match="answered 400"):
            generator(server.url).generate([GenerationRequest.chat("x")])
    assert server.state.statuses == [400]


def test_unreachable_server_is_a_clear_error() -> None:
    with openai_server(echo) as server:
        url = server.url
    with pytest.raises(GenerationServerError, match="ConnectError after 2 attempts"):
        generator(url, max_retries=1).generate([GenerationRequest.chat("x")])


def test_concurrency_keeps_order() -> None:
    with openai_server(echo) as server:
        prompts = [f"item {i}" for i in range(20)]
        results = generator(server.url, concurrency=4).generate(
            [GenerationRequest.chat(p) for p in prompts]
        )
    assert [r.text for r in results] == [f"Echo: item {i} END more" for i in range(20)]


@pytest.mark.slow
def test_server_answering_from_the_transformers_backend(model_cache: Path) -> None:
    """End to end over HTTP: the server side is the real bundled model."""
    from copydesk.generation.base import ChatMessage
    from copydesk.generation.hf_text import HFTextGenerator

    local = HFTextGenerator(cache_dir=model_cache)

    def answer(body: dict[str, Any]) -> str:
        messages = tuple(ChatMessage(m["role"], m["content"]) for m in body["messages"])
        decoding = Decoding(max_new_tokens=body["max_tokens"])
        return local.generate([GenerationRequest(messages=messages, decoding=decoding)])[0].text

    request = GenerationRequest.chat("Name three colours.", decoding=Decoding(max_new_tokens=16))
    with openai_server(answer) as server:
        server.state.fail_next = [503]
        (remote,) = generator(server.url).generate([request])
    assert remote.text == local.generate([request])[0].text
    assert server.state.statuses == [503, 200]
