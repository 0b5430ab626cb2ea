"""What a value may hold and how a message quotes it: the characters no value may contain
(control characters, bidirectional overrides, unpaired surrogates) and `shown`, a value
cut to a readable size."""

from __future__ import annotations

import re
import reprlib
import unicodedata
from typing import Any

# Never in a value: C0/C1 control characters (tab, newlines, vertical tab and form feed
# are whitespace), bidirectional embeddings, overrides and isolates (they reorder how
# text is shown: "Trojan Source") and unpaired surrogates (not Unicode; no database
# stores them). NUL is among them: PostgreSQL cannot store it in text or JSON.
REFUSED_CHARACTERS = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 80
_SHOWN.maxlevel = 2


def shown(value: Any) -> str:
    """A value as a message quotes it: repr() (control characters escaped), cut to ~80
    characters and two levels of nesting, however large the value."""
    return _SHOWN.repr(value)


def refused_character(text: str) -> str | None:
    """Why `text` cannot be a value (the first refused character), or None."""
    if (match := REFUSED_CHARACTERS.search(text)) is None:
        return None
    char = match.group()
    surrogate = "\ud800" <= char <= "\udfff"
    name = "an unpaired surrogate" if surrogate else unicodedata.name(char, "a control character")
    return (
        f"contains U+{ord(char):04X} ({name}) at character {match.start() + 1}; control "
        "characters and bidirectional overrides are not allowed"
    )
