"""Amounts of money in text, read as ranges: "£20" is [20, 20], "20-25 pounds" [20, 25],
"less than £20" [0, 19.99], "about twenty quid" [18, 22], "£30+" [30, ∞).

Works on folded text (casefolded, one space between words, dashes unified: see
`consistency._Folded`); offsets are into that text. Only amounts said with a currency (a
sign, a code or a word) count, so "5 out of 5" and "130 x 170 cm" are not money."""

from __future__ import annotations

import re
from dataclasses import dataclass

CURRENCIES = {  # code: its signs and words
    "usd": ["$", "dollar"],
    "eur": ["€", "euro"],
    "gbp": ["£", "pound", "sterling", "quid"],
}
_SMALL = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
]
_SMALL += ["fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_WORD_AMOUNT = rf"(?:{'|'.join(_TENS)})(?:[- ]?(?:{'|'.join(_SMALL[1:10])}))?"
_WORD_AMOUNT += "|" + "|".join(sorted(_SMALL, key=len, reverse=True))
_START, _END = r"(?<![^\W_])", r"(?![^\W_])"  # not inside a word
_AMOUNT = r"(?<![\d.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\d]|[.,]\d)"
_AMOUNT += rf"|{_START}(?:{_WORD_AMOUNT}){_END}"
_SIGN_OF = {word: code.upper() for code, words in CURRENCIES.items() for word in [code, *words]}
_SIGN = r"[£$€]|gbp|usd|eur"
_UNIT = r"pounds?|quid|sterling|gbp|dollars?|usd|euros?|eur"
_BELOW = ["less than", "under", "below", "lower than", "cheaper than"]  # strictly below
_AT_MOST = ["up to", "no more than", "at most", "maximum"]
_ABOVE = ["more than", "over", "above", "higher than", "in excess of"]  # strictly above
_AT_LEAST = ["at least", "from", "starting at", "starting from", "upwards of", "minimum"]
_ABOUT = ["about", "around", "approximately", "roughly", "circa", "some", "averaging"]
_QUALIFIER = "|".join(
    sorted(_BELOW + _AT_MOST + _ABOVE + _AT_LEAST + _ABOUT, key=len, reverse=True)
)
_MONEY = re.compile(
    rf"(?:{_START}(?:(?P<between>between)|(?P<q>{_QUALIFIER}))[^\w£$€]+)?"
    rf"(?:(?P<s1>{_SIGN}) ?)?(?P<a>{_AMOUNT})"
    rf"(?: ?(?:-|to|(?(between)and|(?!))) ?(?:(?P<s2>{_SIGN}) ?)?(?P<b>{_AMOUNT}))?"
    rf"(?: ?(?P<u>{_UNIT}){_END})?"
    r"(?: ?(?P<more>\+|or more|or above|or over|and up|and over|plus)"
    r"| (?P<less>or less|or under|and under|or below))?"
)
_CENT = 0.01  # what "less than" takes off, "more than" adds


@dataclass(frozen=True)
class Money:
    """An amount or range of money, [low, high] (high may be infinite), in a currency if said."""

    low: float
    high: float
    currency: str | None = None  # "GBP", "USD", "EUR"
    start: int = 0  # where the text says it
    end: int = 0

    def overlaps(self, other: Money) -> bool:
        return self.low <= other.high + 1e-9 and other.low <= self.high + 1e-9

    def same_currency(self, other: Money) -> bool:
        return None in (self.currency, other.currency) or self.currency == other.currency


def _amount(text: str) -> float:
    if text[0].isdigit():
        return float(text.replace(",", ""))
    for index, tens in enumerate(_TENS):
        if text.startswith(tens):
            rest = text.removeprefix(tens).strip(" -")
            return 20 + 10 * index + (_SMALL.index(rest) if rest else 0)
    return float(_SMALL.index(text))


def find_money(folded: str) -> list[Money]:
    """Every amount or range of money the (folded) text states with a currency."""
    found = []
    for match in _MONEY.finditer(folded):
        signs = [sign for sign in (match["s1"], match["s2"], match["u"]) if sign]
        if not signs:
            continue
        low = high = _amount(match["a"])
        if match["b"] and _amount(match["b"]) >= low:
            high = _amount(match["b"])
        qualifier = match["q"] or ""
        if qualifier in _ABOUT:
            low, high = low * 0.9, high * 1.1
        elif high > low:
            pass  # a range: "from £20 to £25"
        elif qualifier in _BELOW + _AT_MOST or match["less"]:
            low, high = 0, high - (_CENT if qualifier in _BELOW else 0)
        elif qualifier in _ABOVE + _AT_LEAST or match["more"]:
            low, high = low + (_CENT if qualifier in _ABOVE else 0), float("inf")
        currency = _SIGN_OF[signs[0].removesuffix("s")]
        found.append(Money(low, high, currency, *match.span()))
    return found
