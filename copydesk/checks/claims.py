"""Claims: superlatives ("the finest", "the best in town", any "-est" word) and marketing
claims nothing in a record can vouch for ("renowned", "award-winning", "guaranteed",
"clinically proven"), unless the record supports them: a value of the record says the
same ("award-winning design" among the features) or the claim is a wording of one of the
record's values ("top rated" for a high rating). A claim said in the negative ("not the
cheapest") is no claim. Warnings unless the manifest makes them errors (`claims.severity`);
the phrases per language are in `copydesk/checks/claim_phrases.py`, extended per content
type (`claims.phrases`, `claims.allow`). One pattern per content type, none per record."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from copydesk.checks.claim_phrases import CLAIMS, NOT_SUPERLATIVE
from copydesk.checks.consistency import _fold, _Folded, _index
from copydesk.checks.findings import CheckFinding
from copydesk.checks.patterns import per_object
from copydesk.content.types import ContentType
from copydesk.inputs.records import record_strings

CHECK = "claims"
_SUPERLATIVE = r"[^\W\d_]{2,}est"  # checked against NOT_SUPERLATIVE
_MOST = r"(?:the\s+|'s\s+)?most\s+[^\W\d_]+(?:ous|ful|ive|able|ible|ic|al|ing|ant|ent|ar|ed|y)"
_WORD = re.compile(r"[^\W_]+|[#%]")
_POSSESSIVE = re.compile(r"'s\s+$")  # before "most": where `_MOST` starts
_NEGATED = re.compile(r"(?:\b(?:not|never|no|hardly)|n't)(?:\s+\w+){0,2}\s*$")


def _phrase(phrase: str) -> str:
    words = [re.escape(word) for word in re.split(r"[\s-]+", _fold(phrase).strip()) if word]
    body = r"[\s-]+".join(words)
    start = r"(?<![\w#])" if phrase[:1].isalnum() or phrase[:1] == "#" else ""
    end = r"(?![\w%])" if phrase[-1:].isalnum() or phrase[-1:] == "%" else ""
    return start + body + end


@dataclass(frozen=True)
class _Claims:
    """A content type's claims: one pattern over folded text, and the words a match can
    start at (each phrase's first word; "the" and "most" for `_MOST`; any "-est" word)."""

    pattern: re.Pattern[str]
    # first word -> the words that may follow it (None: any, or none)
    starts: dict[str, frozenset[str] | None]
    anywhere: bool  # some phrase starts with no word: run the pattern on the whole text

    def matches(self, folded: str) -> Iterator[re.Match[str]]:
        """`pattern.finditer(folded)`, trying the pattern only where a match can start."""
        if self.anywhere:
            yield from self.pattern.finditer(folded)
            return
        end = 0
        for start in self._starts(folded):
            if start >= end and (match := self.pattern.match(folded, start)):
                end = match.end()
                yield match

    def _phrase_starts(self, text: str, after: list[re.Match[str]]) -> bool:
        """Whether a phrase (or `_MOST`) can start at the word `text`, the word `after` it."""
        if text not in self.starts:
            return False
        following = self.starts[text]
        return following is None or (bool(after) and after[0].group() in following)

    def _starts(self, folded: str) -> list[int]:
        words = list(_WORD.finditer(folded))
        found = []
        for index, word in enumerate(words):
            text = word.group()
            if not (
                text.endswith("est") or self._phrase_starts(text, words[index + 1 : index + 2])
            ):
                continue
            if text == "most" and (
                said := _POSSESSIVE.search(folded, max(0, word.start() - 12), word.start())
            ):
                found.append(said.start())  # "the world's most famous": from the "'s"
            found.append(word.start())
        return found


@per_object
def _claims(content_type: ContentType) -> _Claims:
    """The content type's claims (`_Claims`)."""
    language = content_type.language
    phrases = [*CLAIMS["en"], *CLAIMS.get(language, ())]
    if language not in CLAIMS:  # another English: both dialects' spellings
        phrases += [p for key, ps in CLAIMS.items() if key.startswith("en-") for p in ps]
    phrases += content_type.claims.phrases
    allowed = {_fold(p) for p in content_type.claims.allow}
    kept = sorted({p for p in phrases if _fold(p) not in allowed}, key=len, reverse=True)
    alternatives = [*map(_phrase, kept), rf"\b{_MOST}\b", rf"\b{_SUPERLATIVE}\b"]
    starts: dict[str, set[str] | None] = {"most": None, "the": {"most"}}
    anywhere = False
    for phrase in kept:
        words = _WORD.findall(_fold(phrase))
        if not words or not _fold(phrase).lstrip().startswith(words[0]):
            anywhere = True  # starts with a sign the words do not show
            continue
        following = starts.get(words[0], set())
        if following is not None:
            starts[words[0]] = following | {words[1]} if len(words) > 1 else None
    frozen = {word: None if f is None else frozenset(f) for word, f in starts.items()}
    return _Claims(re.compile("|".join(alternatives)), frozen, anywhere)


def _supported(
    folded: _Folded,
    span: tuple[int, int],
    said: str,
    content_type: ContentType,
    record: dict[str, Any],
) -> bool:
    """Whether a value of the record says it, or the claim is a wording of one of its values."""
    if any(said in _fold(value) for value in record_strings(record)):
        return True
    for field, value in record.items():
        spec = content_type.fields.get(field)
        if spec is None or value is None or isinstance(value, bool):
            continue
        for item in value if isinstance(value, list) else [value]:
            for pattern in _index(spec).wordings(field, str(item)):
                for found in folded.find(pattern):
                    if found[0] <= span[0] and span[1] <= found[1]:
                        return True
    return False


def check_claims(
    text: str, content_type: ContentType, record: dict[str, Any]
) -> list[CheckFinding]:
    """A finding (the manifest's `claims.severity`) for each claim the record does not support."""
    folded = _Folded.of(text)
    severity = content_type.claims.severity
    allowed = {_fold(p) for p in content_type.claims.allow}
    findings = []
    for match in _claims(content_type).matches(folded.text):
        said = match.group()
        if (
            said.endswith("est")
            and " " not in said
            and (said in NOT_SUPERLATIVE or said in allowed)
        ):
            continue
        if _NEGATED.search(folded.text, max(0, match.start() - 30), match.start()):
            continue
        if _supported(folded, match.span(), said, content_type, record):
            continue
        start, end = folded.span(*match.span())[2:]
        original = text[start:end]
        message = f"claims {original!r}, which the input does not support"
        suggestion = f"do not claim {original!r}; the input does not support it"
        findings.append(CheckFinding(CHECK, severity, message, start, end, suggestion))
    return findings
