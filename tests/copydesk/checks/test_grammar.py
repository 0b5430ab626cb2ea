"""The grammar check against the real harper linter (built once per process and dialect)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from types import SimpleNamespace
from typing import Any

import pytest

from copydesk.checks import grammar
from copydesk.checks.findings import CheckFinding
from copydesk.checks.grammar import (
    AppliedFix,
    HarperChecker,
    apply_safe_fixes,
    check_grammar,
    grammar_checker,
    lints_per_100_words,
)

PLACES = ["Fitzbillies", "The Wrestlers", "Zizzi", "Browns Cambridge", "Café Rouge", "Loch Fyne"]


def flagged(text: str, language: str, protected: list[str] | None = None) -> list[str]:
    findings = check_grammar(text, language=language, protected=protected or [])
    return [text[f.span_start : f.span_end] for f in findings if f.span_start is not None]


def replay(text: str, fixes: list[AppliedFix]) -> str:
    """Each fix again, in order, on the text as it was just before it."""
    for fix in fixes:
        assert text[fix.start : fix.end] == fix.before
        text = text[: fix.start] + fix.after + text[fix.end :]
    return text


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (
            "en-GB",
            "The Eagle is a family-friendly coffee shop in the city centre. Its colour is a soft grey.",
        ),
        (
            "en-GB",
            "A cosy linen throw for your sofa, stonewashed for softness. We organise tastings.",
        ),
        (
            "en-US",
            "This cozy linen throw comes in a soft gray color. It is an heirloom-quality piece.",
        ),
        (
            "en-US",
            "- Machine washable\n- Made from 100% organic cotton\n- Available in three sizes",
        ),
        ("en-AU", "An honest, affordable café by the river, with a colourful menu."),
    ],
)
def test_clean_text_passes(language: str, text: str) -> None:
    assert check_grammar(text, language=language) == []
    assert apply_safe_fixes(text, language=language) == (text, [])


def test_protected_names_that_look_misspelt_pass() -> None:
    text = (
        "Fitzbillies is near The Wrestlers. Zizzi's pasta is good, Browns Cambridge "
        "serves brunch, and Loch Fyne faces Café Rouge. We love fitzbillies."
    )
    assert {"Fitzbillies", "Zizzi's", "Loch", "Fyne"} <= set(flagged(text, "en-GB"))
    assert check_grammar(text, language="en-GB", protected=PLACES) == []
    assert apply_safe_fixes(text, language="en-GB", protected=PLACES) == (text, [])


def test_common_words_of_protected_names_stay_checked() -> None:
    text = "The Wrestlers is a pub. We ate the the pie there."
    assert flagged(text, "en-GB", ["The Wrestlers"]) == ["the the"]


@pytest.mark.parametrize(
    ("language", "text", "problem", "suggestion"),
    [
        ("en-GB", "This is a apple.", "a", "replace with 'an'"),
        ("en-US", "The Eagle is an coffee shop.", "an", "replace with 'a'"),
        ("en-GB", "We walked to the the park.", "the the", "replace with 'the'"),
        ("en-GB", "The service was definately slow.", "definately", "replace with 'definitely'"),
        ("en-GB", "The pub is quiet. the food is good.", "the", "replace with 'The'"),
        ("en-GB", "A sofa in gray.", "gray", "replace with 'grey'"),
        ("en-US", "A sofa in grey.", "grey", "replace with 'gray'"),
    ],
)
def test_mistakes_are_warnings(language: str, text: str, problem: str, suggestion: str) -> None:
    (finding,) = check_grammar(text, language=language)
    assert (finding.check, finding.severity, finding.field) == ("grammar", "warning", None)
    assert finding.span_start is not None
    assert text[finding.span_start : finding.span_end] == problem
    assert finding.suggestion == suggestion
    assert finding.message


def test_safe_fixes_are_applied_and_recorded() -> None:
    text = "This is a apple. the dog ran to the the park. The color is gray. It occured here."
    fixed, fixes = apply_safe_fixes(text, language="en-GB")
    assert (
        fixed == "This is an apple. The dog ran to the park. The colour is grey. It occurred here."
    )
    assert sorted((f.before, f.after, f.kind) for f in fixes) == [
        ("a", "an", "article"),
        ("color", "colour", "spelling"),
        ("gray", "grey", "spelling"),
        ("occured", "occurred", "spelling"),
        ("the", "The", "sentence_start"),
        ("the the", "the", "repeated_word"),
    ]
    assert replay(text, fixes) == fixed
    assert fixes[0].as_dict() == {
        "start": 68,
        "end": 75,
        "before": "occured",
        "after": "occurred",
        "kind": "spelling",
        "message": "Did you mean to spell `occured` this way?",
    }
    assert check_grammar(fixed, language="en-GB") == []


def test_a_capital_article_keeps_its_case() -> None:
    fixed, fixes = apply_safe_fixes("A honest man. An one-off.", language="en-GB")
    assert fixed == "An honest man. A one-off."  # harper itself offers "AN" for "A"
    assert [(f.before, f.after) for f in fixes] == [("An", "A"), ("A", "An")]


@pytest.mark.parametrize(
    "text",
    [
        "The mezze platter is big.",  # -> "mezzo"
        "Try the paneer tikka.",  # -> "pander"
        "A lively gastropub.",  # -> "gastropod", harper's only suggestion
        "It is definatly good.",  # -> "defiantly", a real word
        "We recieve guests daily.",  # a transposition: not a doubled letter
        "We had had enough.",  # grammatical
        "Walla Walla is a town.",  # a name
        "Aromi serves coffee.",  # capitalised: maybe a name
        "The wifi is fast.",  # short and unknown
    ],
)
def test_unsafe_lints_are_left_alone(text: str) -> None:
    assert check_grammar(text, language="en-GB") != []
    assert apply_safe_fixes(text, language="en-GB") == (text, [])


def test_protected_names_are_untouched_by_fixes() -> None:
    text = "Paint from the colour studio is bright. Its colour is a bold one."
    assert apply_safe_fixes(text, language="en-US")[0].count("color") == 2
    assert apply_safe_fixes(text, language="en-US", protected=["the colour studio"]) == (text, [])

    text = "We sell smoothies. innocent smoothies are popular. It is a Uno pizza. the end."
    fixed, fixes = apply_safe_fixes(text, language="en-GB", protected=["innocent", "Uno"])
    assert fixed == "We sell smoothies. innocent smoothies are popular. It is a Uno pizza. The end."
    assert [(f.before, f.after) for f in fixes] == [("the", "The")]


def test_dialects_differ() -> None:
    assert flagged("The colour of the sofa.", "en-GB") == []
    assert flagged("The colour of the sofa.", "en-US") == ["colour"]
    assert flagged("The color of the sofa.", "en-GB") == ["color"]
    assert flagged("The color of the sofa.", "en-US") == []
    assert flagged("We organize tastings.", "en-GB") == []  # Oxford spelling is British too
    assert flagged("We organise tastings.", "en-US") == ["organise"]
    fixed = apply_safe_fixes("The centre has a cosy, grey colour.", language="en-US")[0]
    # "cozy" is right in every dialect, so "cosy" -> "cozy" is no dialect pair: left alone.
    assert fixed == "The center has a cosy, gray color."


def test_languages_map_to_dialects_and_checkers_are_built_once() -> None:
    assert grammar_checker("en-GB") is grammar_checker("en-GB")
    dialects = {
        code: grammar_checker(code)
        for code in ["en-GB", "en-US", "en-AU", "en-CA", "en-IN", "fr-FR"]
    }
    names = {code: c.dialect.name for code, c in dialects.items() if isinstance(c, HarperChecker)}
    assert names == {
        "en-GB": "BRITISH",
        "en-US": "AMERICAN",
        "en-AU": "AUSTRALIAN",
        "en-CA": "CANADIAN",
        "en-IN": "INDIAN",
        "fr-FR": "AMERICAN",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" ".join(["the"] * 200) + ".", "the."),
        (" ".join(["a", "an"] * 100) + ".", "an."),
        ("the dog. " * 100, "The dog. " * 100),
    ],
)
def test_pathological_input_ends(text: str, expected: str) -> None:
    fixed, fixes = apply_safe_fixes(text, language="en-GB")
    assert fixed == expected
    assert replay(text, fixes) == fixed


def test_long_sentence_does_not_hide_other_lints() -> None:
    text = (
        "This is a apple and " + " and ".join(["the cat sat on the mat"] * 8) + " and the the end."
    )
    assert {"a", "the the"} <= set(flagged(text, "en-GB"))  # with a "64 words long" lint


def test_lints_per_100_words() -> None:
    text = "This is a apple. We walked to the the park."  # 10 words, 2 lints
    findings = check_grammar(text, language="en-GB")
    other = CheckFinding("length", "warning", "too short")
    assert lints_per_100_words(text, [*findings, other]) == pytest.approx(20.0)
    assert lints_per_100_words("", []) == 0.0


def test_one_checker_serves_many_threads() -> None:
    errors: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            for table in range(thread * 20, thread * 20 + 20):  # new texts: harper lints each
                fixed = apply_safe_fixes(f"This is a apple for table {table}.", language="en-GB")
                assert fixed[0] == f"This is an apple for table {table}."
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(thread,)) for thread in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_threads_linting_at_once_each_get_a_linter(monkeypatch: pytest.MonkeyPatch) -> None:
    checker = HarperChecker(grammar_checker("en-GB").dialect)
    monkeypatch.setattr(checker, "_linted", OrderedDict())
    inside, most = 0, 0
    counter = threading.Lock()
    all_inside = threading.Barrier(3, timeout=60)
    real = type(checker._idle[0])

    class SlowLinter:
        """harper's linter, counting the threads inside it at once."""

        def __init__(self, dialect: Any) -> None:
            self.linter = real(dialect)

        def organized_lints(self, text: str, **options: Any) -> Any:
            nonlocal inside, most
            with counter:
                inside += 1
                most = max(most, inside)
            try:
                all_inside.wait()  # returns once all three are inside; a shared linter breaks it
                return self.linter.organized_lints(text, **options)
            finally:
                with counter:
                    inside -= 1

    monkeypatch.setattr(grammar.harper, "Linter", SlowLinter)
    checker._idle = [SlowLinter(checker.dialect)]
    barrier = threading.Barrier(3)

    def work(thread: int) -> None:
        barrier.wait()
        assert checker.lint(f"This is a apple number {thread}.")

    threads = [threading.Thread(target=work, args=(thread,)) for thread in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 3  # no thread waited for another's linter
    assert checker.linters == 3  # all back, for the next texts


class CountingLinter:
    """harper's linter, recording each text it lints."""

    def __init__(self, linter: Any) -> None:
        self.linter = linter
        self.texts: list[str] = []

    def organized_lints(self, text: str, **options: Any) -> Any:
        self.texts.append(text)
        return self.linter.organized_lints(text, **options)


@pytest.fixture
def linted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the en-GB checker has harper lint during the test (none kept from before)."""
    checker = grammar_checker("en-GB")
    assert isinstance(checker, HarperChecker)
    counting = CountingLinter(checker._idle[0])
    monkeypatch.setattr(checker, "_idle", [counting])
    monkeypatch.setattr(checker, "_linted", OrderedDict())
    return counting.texts


def test_the_fixes_and_the_check_lint_a_text_once(linted: list[str]) -> None:
    fixed, fixes = apply_safe_fixes("This is a apple.", language="en-GB", protected=PLACES)
    assert (fixed, len(fixes)) == ("This is an apple.", 1)
    assert check_grammar(fixed, language="en-GB", protected=PLACES) == []
    assert check_grammar("This is a apple.", language="en-GB")  # the lints kept, as found
    assert linted == ["This is a apple.\n\n", "This is an apple.\n\n"]  # each a paragraph


def test_lints_are_kept_for_the_latest_texts(
    linted: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(grammar, "LINT_CACHE_SIZE", 2)
    checker = grammar_checker("en-GB")
    first = checker.lint("This is a apple.")
    first.clear()  # a copy: what is kept stays whole
    assert checker.lint("This is a apple.") == checker.lint("This is a apple.") != []
    for text in ["We walked to the the park.", "The pub is quiet.", "This is a apple."]:
        checker.lint(text)
    assert [text.removesuffix(grammar.PARAGRAPH) for text in linted] == [
        "This is a apple.",
        "We walked to the the park.",
        "The pub is quiet.",
        "This is a apple.",  # the third text since pushed it out
    ]


# Texts linted together: a corpus of mistakes, texts that end mid-sentence (titles, a
# dangling article, an open bracket) and texts whose neighbour would make a mistake if
# harper read across the paragraph break between them ("the" / "the cat").
TOGETHER = [
    "This is a apple. the dog ran to the the park. The color is gray. It occured here.",
    "I like the",
    "the cat is here.",
    "Blue Widget Pro",
    "this is a widget.",
    "It is a",
    "apple for you.",
    "Ends with a comma,",
    "and goes on here.",
    "(see",
    "below) for more.",
    "The cats is here. Its a good day.",
    "",
    "- Machine washable\n- Made from 100% organic cotton\n\n- Available in three sizes",
    "A honest man. An one-off. We had had enough. Walla Walla is a town.",
    "This is a apple and " + " and ".join(["the cat sat on the mat"] * 8) + " and the the end.",
    "Café Rouge serves crème brûlée 🍮 and the the coffee.",
    "This is a apple.",  # twice: linted once
    "This is a apple.",
]


@pytest.mark.parametrize("language", ["en-GB", "en-US"])
def test_texts_linted_together_get_the_lints_they_get_alone(
    language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    checker = grammar_checker(language)
    assert isinstance(checker, HarperChecker)
    monkeypatch.setattr(checker, "_linted", OrderedDict())
    alone = []
    for text in TOGETHER:
        alone.append(checker.lint(text))
        checker._linted.clear()
    together = checker.lint_many(TOGETHER)
    assert together == alone
    assert sum(map(len, together)) > 20  # the corpus has mistakes to find
    assert [issue.kind for issue in together[6 - 1]] == []  # "It is a" alone is fine


def test_texts_go_to_harper_in_one_call_and_each_once(linted: list[str]) -> None:
    checker = grammar_checker("en-GB")
    checker.lint("It is a")
    assert checker.lint_many(["This is a apple.", "It is a", "the end.", "This is a apple."])
    assert linted == ["It is a\n\n", "This is a apple.\n\nthe end.\n\n"]
    fixed, _ = apply_safe_fixes("This is a apple.", language="en-GB")  # kept: not linted again
    assert linted[2:] == [fixed + "\n\n"]


def issue(start: int, end: int, rule: str = "Rule") -> grammar.GrammarIssue:
    return grammar.GrammarIssue("kind", rule, start, end, "message")


def test_lints_are_split_back_to_their_texts() -> None:
    # "aaaaa", "", "bbbb" and "ccc" at 0, 7, 9 and 15, each followed by a 2-character break.
    starts, lengths = [0, 7, 9, 15], [5, 0, 4, 3]
    inside = [issue(0, 5), issue(5, 5), issue(7, 7), issue(10, 13), issue(16, 17)]
    breaks = [issue(4, 6), issue(6, 6), issue(13, 15), issue(19, 20)]  # in or into a break
    each, reaching = grammar.split_issues(inside + breaks, starts, lengths)
    assert each == [[issue(0, 5), issue(5, 5)], [issue(0, 0)], [issue(1, 4)], [issue(1, 2)]]
    assert reaching == set()
    assert grammar.split_issues([issue(5, 8)], starts, lengths) == ([[], [], [], []], {0, 1})
    assert grammar.split_issues([issue(12, 16)], starts, lengths)[1] == {2, 3}
    assert grammar.split_issues([issue(3, 17)], starts, lengths)[1] == {0, 1, 2, 3}


class ReachingLinter(CountingLinter):
    """harper's linter, plus a made-up lint across the paragraph break of a joined text."""

    def organized_lints(self, text: str, **options: Any) -> Any:
        lints = dict(super().organized_lints(text, **options))
        if grammar.PARAGRAPH in text:
            start = text.index(grammar.PARAGRAPH)
            span = SimpleNamespace(start=start - 1, end=start + 3)
            made_up = SimpleNamespace(
                lint_kind="Style", span=span, message="across", suggestions=[], problem_text=""
            )
            lints["Across"] = [made_up]
        return lints


def test_a_lint_reaching_out_of_its_text_has_its_texts_linted_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checker = HarperChecker(grammar_checker("en-GB").dialect)
    reaching = ReachingLinter(checker._idle[0])
    monkeypatch.setattr(checker, "_idle", [reaching])
    texts = ["This is a apple.", "We walked to the the park.", "The end."]
    lints = checker.lint_many(texts)
    alone = [text + grammar.PARAGRAPH for text in texts]
    assert reaching.texts == ["".join(alone), alone[0], alone[1]]
    assert [[i.kind for i in each] for each in lints] == [["article"], ["repeated_word"], []]


def test_a_text_is_linted_as_a_paragraph_with_a_break_after_it() -> None:
    # At the very end of a document harper lets a single short sentence start in lower
    # case (a label); every text is linted as a paragraph followed by a break, so a short
    # section is checked as it is in a batch of texts.
    assert flagged("the cat sat on the mat.", "en-GB") == ["the"]
    fixed, _ = apply_safe_fixes("the cat sat on the mat.", language="en-GB")
    assert fixed == "The cat sat on the mat."
