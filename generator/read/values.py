"""Target and actual values as officials write them, parsed into comparator, number, unit.

``12000人次``, ``≥50个``, ``≤90万元``, ``50 万元``, ``100%``, ``90%以上``, ``300余篇``,
``不少于800篇``, ``≥100百分比`` and ``1次`` are quantities; text without a number
(``良好以上``, ``长期坚持``) is qualitative; text with a number we cannot read with
confidence (``1-2次``, ``2021年底前``) is kept as written and marked unparsed, never
guessed at. A change from an unstated base (``提升10%``, ``较上年下降5个百分点``) is kind
``relative``: its number is the change, never an absolute target (10 % growth is not 10 %);
``提高到95%`` names the level itself and is the quantity ≥ 95 %.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

AT_LEAST, AT_MOST, MORE, LESS, EQUAL = ">=", "<=", ">", "<", "="

_PREFIXES = [
    (AT_LEAST, ("≥", ">=", "大于等于", "大于或等于", "不少于", "不低于", "不小于", "至少", "达到",
                "提高到", "提高至", "提升到", "提升至", "增加到", "增加至", "增长到", "增长至", "上升到", "上升至")),
    (AT_MOST, ("≤", "<=", "小于等于", "小于或等于", "不超过", "不高于", "不多于", "不大于", "控制在",
               "降低到", "降低至", "降到", "降至", "下降到", "下降至", "减少到", "减少至", "压减到", "压减至")),
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
_RELATIVE = re.compile(  # 较上年 / 比2020年 / 同比 …, then a verb of change, then the change itself
    r"(?:(?:较|比)[^0-9]{0,6}?|(?:较|比)?\d{4}年)?(?:同比|环比)?"
    r"(?P<verb>提升|提高|增长|增加|上升|增幅|下降|降低|减少|压减|压缩|缩减|降幅)了?"
    r"(?P<rest>[0-9.,].*)")
_UP_VERBS = frozenset(("提升", "提高", "增长", "增加", "上升", "增幅"))
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
    relative = _RELATIVE.fullmatch(s)
    if relative:
        return _relative(original, relative)
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


def _relative(original: str, match: re.Match) -> Value:
    """``提升10%``: the number is the signed change (+10; ``下降`` makes it negative), the unit
    says of what (``百分点`` stays a unit of its own: 5 points on 90 % is 95 %, 5 % of 90 % is
    94.5 %), and the comparator whether the level reached is a floor (≥) or a cap (≤)."""
    change = parse_value(match["rest"])
    if change is None or change.kind != "quantity" or change.comparator not in (None, AT_LEAST, AT_MOST):
        return Value(original, "unparsed")
    unit = "百分点" if "百分点" in match["rest"] else change.unit
    up = match["verb"] in _UP_VERBS
    if change.comparator == AT_MOST:  # 增长10%以内 caps the level (≤ base × 1.1); 下降10%以内 floors it
        up = not up
    comparator = AT_LEAST if up else AT_MOST
    number = change.number if match["verb"] in _UP_VERBS else -change.number
    return Value(original, "relative", comparator, number, unit)


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
