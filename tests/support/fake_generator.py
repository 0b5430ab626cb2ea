"""A fake text generator for tests about something else (the pipeline, not the model).

By default it echoes the facts of its prompt back, so checks pass; give `responder` to
answer otherwise, or `fail_when` to raise for some requests. `history` keeps every request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from copydesk.generation.base import GenerationRequest, GenerationResult, ModelIdentity


def echo_facts(request: GenerationRequest) -> str:
    prompt = request.messages[-1].content if request.messages else request.prompt or ""
    facts = [line.split(":", 1)[1].strip() for line in prompt.splitlines() if ":" in line]
    return "This item: " + "; ".join(facts) + "."


@dataclass
class FakeGenerator:
    responder: Callable[[GenerationRequest], str] = echo_facts
    fail_when: Callable[[GenerationRequest], bool] | None = None
    history: list[GenerationRequest] = field(default_factory=list)
    calls: int = 0

    @property
    def identity(self) -> ModelIdentity:
        return ModelIdentity("fake", "fake-model", "sha256:fake", "cpu", "float32", {})

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        self.calls += 1
        if self.fail_when and any(self.fail_when(r) for r in requests):
            raise ConnectionError("fake model server unavailable")
        self.history.extend(requests)
        results = []
        for request in requests:
            text = self.responder(request)
            prompt = request.messages[-1].content if request.messages else request.prompt or ""
            results.append(
                GenerationResult(
                    text,
                    prompt,
                    len(prompt.split()),
                    len(text.split()),
                    "stop",
                    0.001,
                    request.seed,
                )
            )
        return results
