"""Grammar and spelling, checked offline by harper (a Rust grammar checker).

Every lint is a warning: grammar never blocks an item on its own. Lints overlapping a
protected string (a value of the input record: product, brand, place names) or one of its
words are dropped first, so names are never flagged nor "fixed". Safe fixes, made
without a model (the rest is left to the regenerate loop and the reviewer):
- article: "a apple" -> "an apple", unless the next word is protected (its sound a guess);
- repeated word: "the the" -> "the" when the second copy is lowercase (not "Walla Walla",
  "The The") and the pair is not grammatical ("had had", "that that");
- sentence start: an all-lowercase first word capitalised ("the cat" -> "The cat");
- spelling: only an all-lowercase ASCII word (never a capitalised, accented or
  apostrophised one: names, brands, loanwords), replaced by harper's first suggestion,
  itself lowercase ASCII, when it is (a) this dialect's spelling of the word: the word is
  right in another dialect where the suggestion is wrong ("color" -> "colour" in en-GB),
  or (b) the only doubled-letter slip among the suggestions ("occured" -> "occurred").
  Any other edit is a guess: "mezze" -> "mezzo", "paneer" -> "pander", "gastropub" ->
  "gastropod" (harper's only suggestion), "definatly" -> "defiantly".
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal, Protocol

import harper

from copydesk.checks.findings import AppliedFix, CheckFinding
from copydesk.checks.protected import WORD, Span, Spans, protected_spans

GRAMMAR = "grammar"
MAX_ROUNDS = 12  # fix, re-lint, fix again: 200 repeated words need 8 rounds
# Texts whose lints a checker keeps: the fixes lint what the check will, and a refine
# chunk's threads lint their batches of texts (up to 64 threads x 32 texts) ahead.
LINT_CACHE_SIZE = 4096
# Between texts linted in one call to harper: a paragraph break, which harper's rules do
# not look across (tests/copydesk/checks/test_grammar.py holds the texts that show it).
PARAGRAPH = "\n\n"
DIALECTS = {
    "en-us": harper.Dialect.AMERICAN,
    "en-gb": harper.Dialect.BRITISH,
    "en-au": harper.Dialect.AUSTRALIAN,
    "en-ca": harper.Dialect.CANADIAN,
    "en-in": harper.Dialect.INDIAN,
}
# harper's rules whose lints may be fixed automatically, by the kind of fix.
_RULE_KINDS = {
    "SpellCheck": "spelling",
    "AnA": "article",
    "RepeatedWords": "repeated_word",
    "SentenceCapitalization": "sentence_start",
}
Action = Literal["replace", "remove", "insert_after"]
_ACTIONS: tuple[Action, ...] = ("replace", "remove", "insert_after")  # by SuggestionKind
_LOWER = re.compile(r"[a-z]+")
_ARTICLES = frozenset({"a", "an"})
_GRAMMATICAL_REPEATS = frozenset({"had", "that"})


@dataclass(frozen=True)
class Edit:
    """One way to fix a lint's span."""

    action: Action
    text: str = ""

    def describe(self) -> str:
        if self.action == "remove":
            return "remove it"
        if self.action == "insert_after":
            return f"insert '{self.text}' after it"
        return f"replace with '{self.text}'"


@dataclass(frozen=True)
class GrammarIssue:
    """A lint in plain types; `kind` is a value of `_RULE_KINDS` or harper's kind, lowercased."""

    kind: str
    rule: str
    start: int
    end: int
    message: str
    edits: tuple[Edit, ...] = ()

    def finding(self) -> CheckFinding:
        suggestion = self.edits[0].describe() if self.edits else None
        return CheckFinding(GRAMMAR, "warning", self.message, self.start, self.end, suggestion)


class GrammarChecker(Protocol):
    """Lints text in one dialect; tells whether a word is spelt right in it."""

    def lint(self, text: str) -> list[GrammarIssue]: ...

    def lint_many(self, texts: Sequence[str]) -> list[list[GrammarIssue]]: ...

    def spelt_right(self, word: str) -> bool: ...


class HarperChecker:
    """harper's `Linter`s for one dialect; build the checker once and reuse it.

    A `Linter` lints one text at a time and releases the GIL while it works, so the
    checker lends one linter to each thread linting at the same moment (the first takes
    about half a second to build, the next ones a few milliseconds: they share the
    dictionary) and threads lint side by side. The lints of the last `LINT_CACHE_SIZE`
    texts are kept: the safe fixes lint a text and the grammar check then lints the same
    (usually unchanged) text again.

    Each call to harper costs about 0.9 ms before the text's own cost, so `lint_many`
    lints its texts in one call, each followed by a paragraph break, and splits the lints
    back: a product's 110-character section costs 2.1 ms alone and 1.3 ms in a call of
    16. A text is always linted as a paragraph followed by a break, alone too, so that its
    lints do not depend on whether another text follows: at the very end of a document
    harper reads some things otherwise (it lets a single short sentence start in lower
    case, as a label, and tokenises a last "`CheckFinding`s." differently). A lint that runs
    from one text into the next (rare: 2 of 2,400 texts in a test of this) sends those
    texts to be linted alone. harper's rules do not look across a paragraph break but
    for one known case: overlapping repeats ("Walla Walla Walla") may be flagged once or
    twice depending on an earlier repeat in another text."""

    def __init__(self, dialect: harper.Dialect) -> None:
        self.dialect = dialect
        self._idle = [harper.Linter(dialect)]
        self._lock = threading.Lock()  # guards the idle linters and the cache
        self._linted: OrderedDict[str, tuple[GrammarIssue, ...]] = OrderedDict()

    @property
    def linters(self) -> int:
        """How many linters are idle (as many as were ever needed at once, when idle)."""
        return len(self._idle)

    def lint(self, text: str) -> list[GrammarIssue]:
        return self.lint_many([text])[0]

    def lint_many(self, texts: Sequence[str]) -> list[list[GrammarIssue]]:
        """Each text's lints, in order of their spans (the texts not kept: in one call)."""
        found: dict[str, tuple[GrammarIssue, ...]] = {}
        with self._lock:
            for text in texts:
                if (cached := self._linted.get(text)) is not None:
                    self._linted.move_to_end(text)
                    found[text] = cached
        todo = [text for text in dict.fromkeys(texts) if text not in found]
        if todo:
            linted = self._together(todo)
            found.update(linted)
            with self._lock:
                for text, issues in linted.items():
                    self._linted[text] = issues
                while len(self._linted) > LINT_CACHE_SIZE:
                    self._linted.popitem(last=False)
        return [list(found[text]) for text in texts]

    def spelt_right(self, word: str) -> bool:
        return not any(issue.kind == "spelling" for issue in self.lint(word))

    def _together(self, texts: list[str]) -> dict[str, tuple[GrammarIssue, ...]]:
        """harper's lints of the texts, linted in one call (see the class)."""
        starts, at = [], 0
        for text in texts:
            starts.append(at)
            at += len(text) + len(PARAGRAPH)
        lengths = [len(text) for text in texts]
        joined = "".join(text + PARAGRAPH for text in texts)
        each, reaching = split_issues(self._harper(joined), starts, lengths)
        for index in reaching:  # never for one text: nothing follows it to reach into
            each[index] = list(self._together([texts[index]])[texts[index]])
        return {text: _in_order(issues) for text, issues in zip(texts, each, strict=True)}

    def _harper(self, text: str) -> list[GrammarIssue]:
        with self._lock:
            linter = self._idle.pop() if self._idle else None
        if linter is None:
            linter = harper.Linter(self.dialect)
        try:
            # No dedup: harper's keeps one of overlapping lints, and one sentence-long lint
            # ("LongSentences") would hide every other lint in the sentence.
            by_rule = linter.organized_lints(text, language="plaintext", dedup=False)
        finally:
            with self._lock:
                self._idle.append(linter)
        return [_issue(rule, lint) for rule, lints in by_rule.items() for lint in lints]


def split_issues(
    issues: Sequence[GrammarIssue], starts: Sequence[int], lengths: Sequence[int]
) -> tuple[list[list[GrammarIssue]], set[int]]:
    """The lints of texts linted together (text i at `starts[i]`, `lengths[i]` long, each
    followed by a paragraph break), each text's with its own offsets, and the texts a lint
    runs across (from the lint's first text to its last): their lints are not to be
    trusted. A lint of a paragraph break, or from a text's end into its break, is left out,
    as when the text is linted alone."""
    each: list[list[GrammarIssue]] = [[] for _ in starts]
    reaching: set[int] = set()
    for issue in issues:
        index = max(bisect.bisect_right(starts, issue.start) - 1, 0)
        start = starts[index]
        if issue.end <= start + lengths[index]:
            each[index].append(replace(issue, start=issue.start - start, end=issue.end - start))
        elif index + 1 < len(starts) and issue.end > starts[index + 1]:
            last = bisect.bisect_left(starts, issue.end) - 1
            reaching.update(range(index, last + 1))
    return each, reaching


def _in_order(issues: list[GrammarIssue]) -> tuple[GrammarIssue, ...]:
    return tuple(sorted(issues, key=lambda i: (i.start, i.end, i.rule not in _RULE_KINDS)))


def _issue(rule: str, lint: harper.Lint) -> GrammarIssue:
    kind = _RULE_KINDS.get(rule, lint.lint_kind.lower())
    edits = [Edit(_ACTIONS[s.kind], s.replacement_text) for s in lint.suggestions]
    if kind == "article":  # harper offers "AN" for "A": keep the case of the original
        edits = [Edit(e.action, _match_case(e.text, lint.problem_text)) for e in edits]
    return GrammarIssue(kind, rule, lint.span.start, lint.span.end, lint.message, tuple(edits))


def _match_case(word: str, like: str) -> str:
    return word.capitalize() if like[:1].isupper() else word.lower()


def _dialect(language: str) -> harper.Dialect:
    return DIALECTS.get(language.strip().lower().replace("_", "-"), harper.Dialect.AMERICAN)


@lru_cache(maxsize=16)
def grammar_checker(language: str) -> GrammarChecker:
    """The checker for a content type's language ("en-GB"; unknown codes: American)."""
    return HarperChecker(_dialect(language))


def lint_ahead(texts: Sequence[str], *, language: str) -> None:
    """Lint the texts in one call to harper and keep their lints for the fixes and the
    check that follow (much cheaper than one call each; see `HarperChecker`)."""
    grammar_checker(language).lint_many(texts)


def check_grammar(text: str, *, language: str, protected: Sequence[str] = ()) -> list[CheckFinding]:
    """harper's lints on the text (not on protected names), as warnings, one per span."""
    firsts: dict[Span, GrammarIssue] = {}
    for issue in _issues(text, language, protected_spans(text, protected)):
        firsts.setdefault((issue.start, issue.end), issue)
    return [issue.finding() for issue in firsts.values()]


def apply_safe_fixes(
    text: str, *, language: str, protected: Sequence[str] = ()
) -> tuple[str, list[AppliedFix]]:
    """The text with the safe fixes (see the module's docstring) made, and each fix.

    Each round lints the text and makes its fixes from the end backwards, so every span
    stays valid; rounds go on until nothing is left to fix, for at most MAX_ROUNDS."""
    applied: list[AppliedFix] = []
    seen = {text}
    for _ in range(MAX_ROUNDS):
        spans = protected_spans(text, protected)
        fixes = [
            fix
            for issue in _issues(text, language, spans)
            if (fix := _safe_fix(text, issue, language, spans))
        ]
        taken_from = len(text) + 1
        for fix in sorted(fixes, key=lambda fix: fix.start, reverse=True):
            if fix.end <= taken_from:  # never two fixes on one span
                text = text[: fix.start] + fix.after + text[fix.end :]
                applied.append(fix)
                taken_from = fix.start
        if not fixes or text in seen:
            break
        seen.add(text)
    return text, applied


def lints_per_100_words(text: str, findings: Sequence[CheckFinding]) -> float:
    """Grammar findings per 100 words of the text (0.0 for a text without words)."""
    words = len(WORD.findall(text))
    lints = sum(1 for finding in findings if finding.check == GRAMMAR)
    return 100.0 * lints / words if words else 0.0


def _issues(text: str, language: str, protected: Spans) -> list[GrammarIssue]:
    issues = grammar_checker(language).lint(text)
    return [issue for issue in issues if not protected.overlaps((issue.start, issue.end))]


def _safe_fix(text: str, issue: GrammarIssue, language: str, protected: Spans) -> AppliedFix | None:
    if not issue.edits or issue.edits[0].action != "replace":
        return None
    before, after = text[issue.start : issue.end], issue.edits[0].text
    if issue.kind == "article":
        next_word = WORD.search(text, issue.end)
        name_next = next_word is not None and protected.overlaps(next_word.span())
        safe = {before.lower(), after.lower()} == _ARTICLES and not name_next
    elif issue.kind == "repeated_word":  # "The the" -> "The"; second copy lowercase
        words, word = before.split(), after.lower()
        safe = words == [after, word] and word.islower() and word not in _GRAMMATICAL_REPEATS
    elif issue.kind == "sentence_start":
        safe = bool(_LOWER.fullmatch(before)) and after == before.capitalize()
    elif issue.kind == "spelling":
        replacements = [edit.text for edit in issue.edits if edit.action == "replace"]
        safe = _safe_spelling(before, replacements, language)
    else:
        safe = False
    if not safe:
        return None
    return AppliedFix(issue.start, issue.end, before, after, issue.kind, issue.message)


def _safe_spelling(word: str, replacements: list[str], language: str) -> bool:
    top = replacements[0]
    if not (_LOWER.fullmatch(word) and _LOWER.fullmatch(top)):
        return False
    if _dialect_variant(language, word, top):
        return True
    return [r for r in replacements if _doubling_slip(word, r)] == [top]


@lru_cache(maxsize=4096)
def _dialect_variant(language: str, word: str, replacement: str) -> bool:
    """`replacement` is right here, and `word` right in a dialect where it is wrong."""
    own = _dialect(language)
    if not grammar_checker(language).spelt_right(replacement):
        return False
    others = [grammar_checker(code) for code, dialect in DIALECTS.items() if dialect != own]
    return any(c.spelt_right(word) and not c.spelt_right(replacement) for c in others)


def _doubling_slip(word: str, other: str) -> bool:
    """One of the two is the other with one letter doubled ("occured"/"occurred")."""
    short, long = sorted((word, other), key=len)
    if len(long) != len(short) + 1:
        return False
    return any(
        long[:i] + long[i + 1 :] == short and long[i] == long[i - 1] for i in range(1, len(long))
    )
