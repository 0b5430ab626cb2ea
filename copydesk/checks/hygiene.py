"""Hygiene: length targets (words, sentences, bullet items) and leftovers of the chat
template or the prompt in a model's reply."""

from __future__ import annotations

import re

from copydesk.checks.findings import CheckFinding
from copydesk.content.outline import SectionPlan

LENGTH, LEFTOVERS = "length", "leftovers"
ECHO_MIN_WORDS = 5  # a prompt sentence this long, found in the text, is an echo
_WORD = re.compile(r"[^\W_]+(?:['\u2019.,\-][^\W_]+)*")  # don't, 49.00, family-friendly: one each
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s|$)")
_CHAT_TOKEN = re.compile(r"<\|[^|<>\s]{1,40}\|>|\[/?INST\]|<</?SYS>>|</s>|<s>")
_ROLE = re.compile(r"^[ \t]*(?:assistant|user|system)[ \t]*:", re.IGNORECASE | re.MULTILINE)
_FACT_LINE = re.compile(r"^\S+(?: \S+){0,2}: ")  # `Price: 49.00 USD` in a prompt is data


def count_words(text: str) -> int:
    """Words as the length targets count them (don't, 49.00, family-friendly: one each)."""
    return len(_WORD.findall(text))


def _sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: up to . ! ? before a space or the end, or the rest."""
    spans, start = [], 0
    for end in [match.end() for match in _SENTENCE_END.finditer(text)] + [len(text)]:
        piece = text[start:end]
        if _WORD.search(piece):
            offset = len(piece) - len(piece.lstrip())
            spans.append((start + offset, start + len(piece.rstrip())))
        start = end
    return spans


def _items(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank line: the bullet items as the outputs render them."""
    return [match.span() for match in re.finditer(r"[^\n]*\S[^\n]*", text)]


def _count(
    unit: str, spans: list[tuple[int, int]], low: int | None, high: int | None
) -> list[CheckFinding]:
    count = len(spans)
    if low is not None and count < low:
        message = f"{count} {unit}, at least {low} wanted"
        return [CheckFinding(LENGTH, "warning", message, suggestion=f"write at least {low} {unit}")]
    if high is not None and count > high:
        start, end = spans[high][0], spans[-1][1]  # from the first one too many
        message = f"{count} {unit}, at most {high} wanted"
        return [
            CheckFinding(LENGTH, "warning", message, start, end, f"cut to at most {high} {unit}")
        ]
    return []


def check_length(section: SectionPlan, text: str) -> list[CheckFinding]:
    """Warnings for words, sentences and (bullets) items outside the section's targets."""
    words = [match.span() for match in _WORD.finditer(text)]
    findings = _count("words", words, section.min_words, section.max_words)
    findings += _count("sentences", _sentences(text), section.min_sentences, section.max_sentences)
    if section.format == "bullets":
        findings += _count("items", _items(text), section.min_items, section.max_items)
    return findings


def _prompt_sentences(prompt: str) -> list[str]:
    """The prompt's instructions long enough to tell an echo: not its facts or list items."""
    sentences = []
    for line in prompt.splitlines():
        line = line.strip()
        if line.startswith(("-", "*")) or _FACT_LINE.match(line):
            continue
        sentences += [line[start:end] for start, end in _sentences(line)]
    return [s for s in sentences if len(_WORD.findall(s)) >= ECHO_MIN_WORDS]


def check_leftovers(text: str, *, prompt: str | None = None) -> list[CheckFinding]:
    """Errors for chat-template tokens, role markers at line starts, and (given the prompt)
    instructions of the prompt repeated in the text."""
    findings = []
    for match in _CHAT_TOKEN.finditer(text):
        message = f"leftover chat-template token {match.group()!r}"
        findings.append(CheckFinding(LEFTOVERS, "error", message, *match.span(), "remove it"))
    for match in _ROLE.finditer(text):
        message = f"leftover role marker {match.group().strip()!r} at a line start"
        findings.append(CheckFinding(LEFTOVERS, "error", message, *match.span(), "remove it"))
    for sentence in _prompt_sentences(prompt or ""):
        pattern = r"\s+".join(map(re.escape, sentence.split()))
        if echo := re.search(pattern, text, re.IGNORECASE):
            message = f"repeats the prompt: {sentence!r}"
            suggestion = "remove the instructions copied from the prompt"
            findings.append(CheckFinding(LEFTOVERS, "error", message, *echo.span(), suggestion))
    return findings


REPETITION, UNFINISHED, FORBIDDEN = "repetition", "unfinished", "forbidden_phrases"
LOOP_NGRAM = 4  # a run of this many words...
LOOP_TIMES = 3  # ...said this many times is a loop


def check_repetition(text: str) -> list[CheckFinding]:
    """An error for a sentence said twice or a word n-gram said three times (a loop)."""
    findings: list[CheckFinding] = []
    seen: dict[str, tuple[int, int]] = {}
    for start, end in _sentences(text):
        key = " ".join(match.group().casefold() for match in _WORD.finditer(text, start, end))
        if key in seen and len(key.split()) >= 3:
            message = f"repeats the sentence {text[start:end]!r}"
            findings.append(CheckFinding(REPETITION, "error", message, start, end, "say it once"))
        seen.setdefault(key, (start, end))
    words = list(_WORD.finditer(text))
    counts: dict[tuple[str, ...], list[int]] = {}
    for index in range(len(words) - LOOP_NGRAM + 1):
        gram = tuple(w.group().casefold() for w in words[index : index + LOOP_NGRAM])
        counts.setdefault(gram, []).append(index)
    for gram, starts in counts.items():
        if len(starts) >= LOOP_TIMES:
            first = words[starts[LOOP_TIMES - 1]]
            message = f"repeats {' '.join(gram)!r} {len(starts)} times"
            findings.append(
                CheckFinding(
                    REPETITION, "error", message, first.start(), len(text), "stop repeating"
                )
            )
            break  # one loop finding is enough to regenerate
    return findings


def check_unfinished(text: str) -> list[CheckFinding]:
    """A warning when the text stops mid-sentence (e.g. cut off at the token limit)."""
    stripped = text.rstrip()
    if not stripped or _SENTENCE_END.search(stripped[-3:] + " ") or stripped.endswith(":"):
        return []
    spans = _sentences(stripped)
    start = spans[-1][0] if spans else 0
    message = "the last sentence is unfinished"
    return [CheckFinding(UNFINISHED, "warning", message, start, len(stripped), "finish or cut it")]


def check_forbidden(text: str, phrases: list[str]) -> list[CheckFinding]:
    """An error for each phrase the content type forbids (whole words, any case)."""
    findings = []
    for phrase in phrases:
        pattern = r"(?<!\w)" + r"\s+".join(map(re.escape, phrase.split())) + r"(?!\w)"
        for match in re.finditer(pattern, text, re.IGNORECASE):
            message = f"uses the forbidden phrase {match.group()!r}"
            findings.append(CheckFinding(FORBIDDEN, "error", message, *match.span(), "remove it"))
    return findings


def trim_unfinished(text: str) -> str:
    """The text without a trailing unfinished sentence (when a finished one comes before)."""
    stripped = text.rstrip()
    if not check_unfinished(stripped):
        return stripped
    spans = _sentences(stripped)
    if len(spans) < 2:
        return stripped
    return stripped[: spans[-2][1]]
