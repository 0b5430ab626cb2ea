"""The text generator interface: requests in, results plus the model's identity out.

Backends (transformers, OpenAI-compatible servers) implement `TextGenerator`; the
pipeline only sees these types, and records `ModelIdentity` and each result in lineage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

FinishReason = Literal["stop", "length", "stop_string"]


@dataclass(frozen=True)
class Decoding:
    """How to pick tokens. `temperature == 0` (the default) means greedy decoding.

    Sampling uses `temperature` > 0 with optional `top_k` and nucleus `top_p`;
    `repetition_penalty` > 1 discourages repeating the text's own tokens (not the
    prompt's: a text copies its facts from there); `stop` strings end a generation
    (the stop string itself is not part of the text). `num_beams` > 1 decodes greedily
    by beam search (the most likely text of `num_beams` hypotheses, length-normalised):
    for a tuned model, closer to its references than greedy, at about `num_beams` times
    the compute. Backends that cannot search beams decode greedily.
    """

    max_new_tokens: int = 128
    temperature: float = 0.0
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float = 1.0
    stop: tuple[str, ...] = ()
    num_beams: int = 1

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be at least 1")
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0 (0 = greedy)")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError("top_k must be at least 1")
        if self.repetition_penalty <= 0:
            raise ValueError("repetition_penalty must be > 0")
        if self.num_beams < 1:
            raise ValueError("num_beams must be at least 1")
        if self.num_beams > 1 and self.temperature > 0:
            raise ValueError("beam search is deterministic: num_beams > 1 needs temperature 0")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stop"] = list(self.stop)
        if self.num_beams == 1:
            del data["num_beams"]  # lineage as before beams existed
        return data


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt (plain text) or one chat (messages, rendered with the model's chat template)."""

    prompt: str | None = None
    messages: tuple[ChatMessage, ...] | None = None
    decoding: Decoding = field(default_factory=Decoding)
    seed: int | None = None

    def __post_init__(self) -> None:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of prompt or messages")

    @classmethod
    def chat(
        cls,
        user: str,
        *,
        system: str | None = None,
        decoding: Decoding | None = None,
        seed: int | None = None,
    ) -> GenerationRequest:
        messages = ((ChatMessage("system", system),) if system else ()) + (
            ChatMessage("user", user),
        )
        return cls(messages=messages, decoding=decoding or Decoding(), seed=seed)


@dataclass(frozen=True)
class GenerationResult:
    text: str
    prompt_text: str  # exactly what the model saw (after the chat template)
    tokens_in: int
    tokens_out: int
    finish_reason: FinishReason
    duration_s: float  # this request's share of its batch's wall time
    seed: int | None = None  # the seed actually used (drawn at random if none was given)
    # the mean log-probability of the text's tokens under the model (None: not known)
    mean_logprob: float | None = None


@dataclass(frozen=True)
class ModelIdentity:
    """Everything lineage needs to say which model produced a text, and how."""

    backend: str
    model_id: str
    revision: str | None  # a hub revision, or the `sha256:` of the weights file
    device: str
    dtype: str
    library_versions: dict[str, str] = field(default_factory=dict)
    adapter_sha256: str | None = None  # a tuned version's adapter (or weights) on the base
    model_version_id: int | None = None  # that version's row (None: the base model)


@runtime_checkable
class TextGenerator(Protocol):
    @property
    def identity(self) -> ModelIdentity: ...

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """Results in the order of `requests`."""
        ...


def apply_stop_strings(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut `text` at the earliest stop string; say whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
