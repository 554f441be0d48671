"""Target and actual values as officials write them, parsed into comparator, number, unit.

``12000人次``, ``≥50个``, ``≤90万元``, ``50 万元``, ``100%``, ``90%以上``, ``300余篇``,
``不少于800篇``, ``≥100百分比`` and ``1次`` are quantities; text without a number
(``良好以上``, ``长期坚持``) is qualitative; text with a number we cannot read with
confidence (``1-2次``, ``2021年底前``) is kept as written and marked unparsed, never
guessed at.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

AT_LEAST, AT_MOST, MORE, LESS, EQUAL = ">=", "<=", ">", "<", "="

_PREFIXES = [
    (AT_LEAST, ("≥", ">=", "大于等于", "大于或等于", "不少于", "不低于", "不小于", "至少", "达到")),
    (AT_MOST, ("≤", "<=", "小于等于", "小于或等于", "不超过", "不高于", "不多于", "不大于", "控制在")),
    (MORE, (">", "大于", "超过", "高于")),
    (LESS, ("<", "小于", "低于", "少于")),
    (EQUAL, ("=", "等于")),
]
_SUFFIXES = [(AT_LEAST, ("以上",)), (AT_MOST, ("以下", "以内"))]
_NUMBER = re.compile(r"([0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?|\.[0-9]+)")
_UNIT = re.compile(r"[^\W\d_]{0,6}|%")
_NOT_IN_UNITS = "前后底初末至到"  # 2021年底前 is a deadline, not 2021 of a unit "年底前"
_UNIT_ALIASES = {"百分比": "%", "百分点": "%", "％": "%"}
MAX_VALUE = Decimal(10) ** 15
MAX_PLACES = 6
MONEY_FACTORS = {"元": Decimal(1), "万元": Decimal(10_000), "亿元": Decimal(100_000_000)}


def _by_char(table: list[tuple[str, tuple[str, ...]]], at: int) -> dict[str, tuple[tuple[str, str], ...]]:
    """(comparator, word) pairs keyed by the word's first (``at=0``) or last (``at=-1``) character,
    in the order of ``table``: the first pair whose word fits is the one the plain loop finds."""
    out: dict[str, list[tuple[str, str]]] = {}
    for symbol, words in table:
        for word in words:
            out.setdefault(word[at], []).append((symbol, word))
    return {char: tuple(pairs) for char, pairs in out.items()}


_PREFIX_BY_FIRST = _by_char(_PREFIXES, 0)
_SUFFIX_BY_LAST = _by_char(_SUFFIXES, -1)
_NOT_IN_UNITS_SET = frozenset(_NOT_IN_UNITS)


@dataclass(frozen=True)
class Value:
    """A parsed target or actual. ``kind`` is quantity, qualitative or unparsed."""

    text: str
    kind: str
    comparator: str | None = None
    number: Decimal | None = None
    unit: str = ""

    @property
    def is_quantity(self) -> bool:
        return self.kind == "quantity"

    def as_dict(self) -> dict:
        return {"text": self.text, "kind": self.kind, "comparator": self.comparator,
                "number": self.number, "unit": self.unit or None}


def parse_value(text: str | int | Decimal | None) -> Value | None:
    """Parse one cell of the form; ``None`` stays ``None`` (nothing was written)."""
    if text is None:
        return None
    original = str(text).strip()
    if not original:
        return None
    s = unicodedata.normalize("NFKC", original).replace(" ", "")
    comparator = None
    for symbol, word in _PREFIX_BY_FIRST.get(s[:1], ()):  # the first prefix in _PREFIXES order
        if s.startswith(word):
            comparator, s = symbol, s[len(word):]
            break
    match = _NUMBER.match(s)
    if not match:
        kind = "unparsed" if any(map(str.isdigit, s)) else "qualitative"
        return Value(original, kind)
    number = Decimal(match.group(1).replace(",", ""))
    if number > MAX_VALUE or number.as_tuple().exponent < -MAX_PLACES:
        return Value(original, "unparsed")  # not a figure a form can mean; never computed with
    rest = s[match.end():]
    if rest[:1] in ("余", "多"):  # 300余篇: more than 300
        comparator, rest = comparator or MORE, rest[1:]
    for symbol, word in _SUFFIX_BY_LAST.get(rest[-1:], ()):  # the first suffix in _SUFFIXES order
        if rest.endswith(word):
            comparator, rest = comparator or symbol, rest[: -len(word)]
            break
    unit = _UNIT_ALIASES.get(rest, rest)
    if not _UNIT.fullmatch(unit) or not _NOT_IN_UNITS_SET.isdisjoint(unit):
        return Value(original, "unparsed")
    return Value(original, "quantity", comparator, number, unit)


class UnitMismatch(ValueError):
    """Target and actual are in units that cannot be compared."""


def common_numbers(target: Value, actual: Value) -> tuple[Decimal, Decimal, str]:
    """Target and actual numbers in one unit. A bare number takes the other side's unit;
    元/万元/亿元 convert into the target's unit; any other difference is a mismatch."""
    t_unit, a_unit = target.unit, actual.unit
    if not a_unit or not t_unit or a_unit == t_unit:
        return target.number, actual.number, t_unit or a_unit
    if t_unit in MONEY_FACTORS and a_unit in MONEY_FACTORS:
        converted = actual.number * MONEY_FACTORS[a_unit] / MONEY_FACTORS[t_unit]
        return target.number, converted, t_unit
    raise UnitMismatch(f"target is in {t_unit}, actual in {a_unit}")
