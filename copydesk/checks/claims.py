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
_NEGATED = re.compile(r"(?:\b(?:not|never|no|hardly)|n't)(?:\s+\w+){0,2}\s*$")


def _phrase(phrase: str) -> str:
    words = [re.escape(word) for word in re.split(r"[\s-]+", _fold(phrase).strip()) if word]
    body = r"[\s-]+".join(words)
    start = r"(?<![\w#])" if phrase[:1].isalnum() or phrase[:1] == "#" else ""
    end = r"(?![\w%])" if phrase[-1:].isalnum() or phrase[-1:] == "%" else ""
    return start + body + end


@per_object
def _claims(content_type: ContentType) -> tuple[re.Pattern[str], frozenset[str]]:
    """The content type's claims, as one pattern over folded text, and the words one of
    which a text must hold for the pattern to be worth running (each phrase's longest)."""
    language = content_type.language
    phrases = [*CLAIMS["en"], *CLAIMS.get(language, ())]
    if language not in CLAIMS:  # another English: both dialects' spellings
        phrases += [p for key, ps in CLAIMS.items() if key.startswith("en-") for p in ps]
    phrases += content_type.claims.phrases
    allowed = {_fold(p) for p in content_type.claims.allow}
    kept = sorted({p for p in phrases if _fold(p) not in allowed}, key=len, reverse=True)
    alternatives = [*map(_phrase, kept), rf"\b{_MOST}\b", rf"\b{_SUPERLATIVE}\b"]
    triggers = {max(_WORD.findall(_fold(p)) or [p], key=len) for p in kept}
    return re.compile("|".join(alternatives)), frozenset(triggers)


def _worth_a_look(folded: str, triggers: frozenset[str]) -> bool:
    """Whether the text holds a word some claim needs (most texts hold none)."""
    return any(
        word in triggers or word == "most" or word.endswith("est") for word in _WORD.findall(folded)
    )


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
    pattern, triggers = _claims(content_type)
    if not _worth_a_look(folded.text, triggers):
        return []
    for match in pattern.finditer(folded.text):
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
