"""A text generator for OpenAI-compatible servers (vLLM, TGI, llama.cpp server, Ollama).

Chats go to `/v1/chat/completions`, plain prompts to `/v1/completions`. Requests run
concurrently up to a limit; 429 and 5xx answers and dropped connections are retried with
exponential backoff (honouring `Retry-After`); token counts come from the `usage` field.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import httpx

from copydesk.errors import CopydeskError
from copydesk.generation.base import (
    FinishReason,
    GenerationRequest,
    GenerationResult,
    ModelIdentity,
    apply_stop_strings,
)

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class GenerationServerError(CopydeskError):
    """The server refused a request or kept failing after every retry."""


@dataclass(frozen=True)
class ServerOptions:
    base_url: str  # e.g. http://127.0.0.1:8000 (with or without /v1)
    model: str
    api_key: str | None = None
    concurrency: int = 8
    timeout_s: float = 120.0
    max_retries: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 20.0


class OpenAICompatibleGenerator:
    """`TextGenerator` over HTTP."""

    def __init__(self, options: ServerOptions, client: httpx.Client | None = None) -> None:
        self.options = options
        root = options.base_url.rstrip("/")
        self._root = root if root.endswith("/v1") else f"{root}/v1"
        headers = {"Authorization": f"Bearer {options.api_key}"} if options.api_key else {}
        self._client = client or httpx.Client(
            timeout=options.timeout_s,
            headers=headers,
            limits=httpx.Limits(max_connections=options.concurrency),
        )
        self._identity = ModelIdentity(
            backend="openai-compatible",
            model_id=options.model,
            revision=None,
            device=f"remote:{self._root}",
            dtype="unknown",
            library_versions={"httpx": version("httpx")},
        )

    @property
    def identity(self) -> ModelIdentity:
        return self._identity

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        if not requests:
            return []
        workers = min(self.options.concurrency, len(requests))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai")
        try:
            return list(pool.map(self._one, requests))
        finally:
            # all done, or interrupted (Ctrl-C, SIGTERM): never wait for calls in flight
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._client.close()

    # -- one request -----------------------------------------------------------------
    def _one(self, request: GenerationRequest) -> GenerationResult:
        path, body, prompt_text = self._body(request)
        started = time.perf_counter()
        data = self._post_with_retries(path, body)
        choice = data["choices"][0]
        text = choice["message"]["content"] if "message" in choice else choice["text"]
        text, stopped = apply_stop_strings(text or "", request.decoding.stop)
        usage = data.get("usage") or {}
        finish: FinishReason = "length" if choice.get("finish_reason") == "length" else "stop"
        return GenerationResult(
            text=text,
            prompt_text=prompt_text,
            tokens_in=int(usage.get("prompt_tokens", 0)),
            tokens_out=int(usage.get("completion_tokens", 0)),
            finish_reason="stop_string" if stopped else finish,
            duration_s=time.perf_counter() - started,
        )

    def _body(self, request: GenerationRequest) -> tuple[str, dict[str, Any], str]:
        decoding = request.decoding
        body: dict[str, Any] = {
            "model": self.options.model,
            "max_tokens": decoding.max_new_tokens,
            "temperature": decoding.temperature,
        }
        if decoding.top_p is not None:
            body["top_p"] = decoding.top_p
        if decoding.top_k is not None:
            body["top_k"] = decoding.top_k  # vLLM / llama.cpp / TGI extension
        if decoding.repetition_penalty != 1.0:
            body["repetition_penalty"] = decoding.repetition_penalty  # vLLM / TGI extension
        if decoding.stop:
            body["stop"] = list(decoding.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        if request.messages is not None:
            body["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
            prompt_text = "\n".join(f"{m.role}: {m.content}" for m in request.messages)
            return "/chat/completions", body, prompt_text
        body["prompt"] = request.prompt
        return "/completions", body, request.prompt or ""

    def _post_with_retries(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self._root + path
        attempts = self.options.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                response = self._client.post(url, json=body)
            except httpx.TransportError as exc:  # refused, reset, timed out
                if attempt == attempts:
                    raise GenerationServerError(
                        f"{url}: {exc.__class__.__name__} after {attempts} attempts"
                    ) from exc
                self._sleep(attempt, None)
                continue
            if response.status_code < 400:
                result: dict[str, Any] = response.json()
                return result
            if response.status_code not in RETRY_STATUS or attempt == attempts:
                raise GenerationServerError(
                    f"{url} answered {response.status_code} (attempt {attempt}/{attempts}): "
                    f"{response.text[:300]}"
                )
            self._sleep(attempt, response.headers.get("retry-after"))
        raise AssertionError("unreachable")

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.options.backoff_s * 2 ** (attempt - 1)
        if retry_after is not None:
            with contextlib.suppress(ValueError):
                delay = float(retry_after)
        time.sleep(min(delay, self.options.max_backoff_s))
