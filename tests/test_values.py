"""Parsing of target/actual cells (DESIGN §2) and bringing two values into one unit.

Every expected value below is written out by hand from the text of the cell.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from generator.read.values import (
    AT_LEAST,
    AT_MOST,
    EQUAL,
    LESS,
    MORE,
    UnitMismatch,
    Value,
    common_numbers,
    parse_value,
)

D = Decimal

# (cell as written, kind, comparator, number, unit)
QUANTITIES = [
    # plain number + unit
    ("12000人次", None, D("12000"), "人次"),
    ("1次", None, D("1"), "次"),
    ("35次", None, D("35"), "次"),
    ("126.73万元", None, D("126.73"), "万元"),
    # prefix comparators
    ("≥50个", AT_LEAST, D("50"), "个"),
    ("≤90万元", AT_MOST, D("90"), "万元"),
    (">=50个", AT_LEAST, D("50"), "个"),
    ("<=90万元", AT_MOST, D("90"), "万元"),
    (">50个", MORE, D("50"), "个"),
    ("<90万元", LESS, D("90"), "万元"),
    ("=100%", EQUAL, D("100"), "%"),
    ("不少于800篇", AT_LEAST, D("800"), "篇"),
    ("不低于95%", AT_LEAST, D("95"), "%"),
    ("不超过50万元", AT_MOST, D("50"), "万元"),
    ("大于等于3项", AT_LEAST, D("3"), "项"),  # not MORE: the longer AT_LEAST word is tried first
    ("大于3项", MORE, D("3"), "项"),
    ("低于5%", LESS, D("5"), "%"),
    ("达到100%", AT_LEAST, D("100"), "%"),
    # spaces are ignored
    ("50 万元", None, D("50"), "万元"),
    ("  12000 人次 ", None, D("12000"), "人次"),
    # percent forms
    ("100%", None, D("100"), "%"),
    ("90%以上", AT_LEAST, D("90"), "%"),  # 以上 suffix = at least
    ("≥100百分比", AT_LEAST, D("100"), "%"),  # 百分比 is an alias of %
    ("2百分点", None, D("2"), "%"),
    # suffix comparators
    ("90万元以下", AT_MOST, D("90"), "万元"),
    ("5%以内", AT_MOST, D("5"), "%"),
    ("800篇以上", AT_LEAST, D("800"), "篇"),
    # 余 / 多 = "more than"
    ("300余篇", MORE, D("300"), "篇"),
    ("300多篇", MORE, D("300"), "篇"),
    # thousands separator
    ("12,000人次", None, D("12000"), "人次"),
    ("1,234,567元", None, D("1234567"), "元"),
    # full-width digits, percent sign and comparators (NFKC)
    ("１２０００人次", None, D("12000"), "人次"),
    ("９０％", None, D("90"), "%"),
    ("９０％以上", AT_LEAST, D("90"), "%"),
    ("＞＝５０个", AT_LEAST, D("50"), "个"),
    ("５０　万元", None, D("50"), "万元"),  # ideographic space
    # decimals and bare numbers
    ("0.5", None, D("0.5"), ""),
    (".5万元", None, D("0.5"), "万元"),
    ("98.5%", None, D("98.5"), "%"),
]


@pytest.mark.parametrize(("text", "comparator", "number", "unit"), QUANTITIES)
def test_quantities(text, comparator, number, unit):
    value = parse_value(text)
    assert value is not None
    assert value.kind == "quantity"
    assert value.is_quantity
    assert value.comparator == comparator
    assert value.number == number
    assert isinstance(value.number, Decimal)
    assert value.unit == unit
    assert value.text == text.strip()  # the cell is kept as written (only outer spaces trimmed)


@pytest.mark.parametrize("text", [
    "良好以上", "长期坚持", "达成预期指标", "效果明显", "持续建立健全内控制度",
    "达到预期",  # 达到 is a comparator word, but no number follows
])
def test_qualitative(text):
    value = parse_value(text)
    assert value == Value(text, "qualitative")
    assert not value.is_quantity
    assert value.number is None and value.comparator is None and value.unit == ""


@pytest.mark.parametrize("text", [
    "1-2次",            # a range: never guessed at
    "1～2次",           # full-width tilde range
    "2021年底前",       # a deadline, not 2021 of a unit 年底前
    "12月底前",
    "第3季度",          # number not at the start
    "满意度90%",        # ditto
    "-5%",              # a sign is not part of the number pattern
    "100%左右以上以下",  # only one suffix is stripped; "%左右以上" is not a unit
])
def test_unparsed(text):
    value = parse_value(text)
    assert value == Value(text, "unparsed")
    assert value.number is None
    assert not value.is_quantity


@pytest.mark.parametrize("text", [None, "", "   ", "\u3000"])
def test_nothing_written_is_none(text):
    assert parse_value(text) is None


@pytest.mark.parametrize(("given", "number", "text"), [
    (12000, D("12000"), "12000"),
    (0, D("0"), "0"),
    (D("7.50"), D("7.50"), "7.50"),
    (D("126.73"), D("126.73"), "126.73"),
])
def test_numbers_given_directly(given, number, text):
    value = parse_value(given)
    assert value == Value(text, "quantity", None, number, "")


def test_as_dict():
    assert parse_value("≥50个").as_dict() == {
        "text": "≥50个", "kind": "quantity", "comparator": ">=", "number": D("50"), "unit": "个"}
    # an empty unit is published as None
    assert parse_value("5").as_dict()["unit"] is None
    assert parse_value("良好以上").as_dict() == {
        "text": "良好以上", "kind": "qualitative", "comparator": None, "number": None, "unit": None}


# ---------------------------------------------------------------- common_numbers

def _common(target: str, actual: str):
    return common_numbers(parse_value(target), parse_value(actual))


@pytest.mark.parametrize(("target", "actual", "expected"), [
    # same unit: numbers as written
    ("12000人次", "12000人次", (D("12000"), D("12000"), "人次")),
    ("300篇", "300余篇", (D("300"), D("300"), "篇")),
    ("90%以上", "95%", (D("90"), D("95"), "%")),
    ("≥100百分比", "98%", (D("100"), D("98"), "%")),  # 百分比 == %
    # a bare number takes the other side's unit
    ("100%", "95", (D("100"), D("95"), "%")),
    ("100", "95%", (D("100"), D("95"), "%")),
    ("10", "8", (D("10"), D("8"), "")),
    # money converts into the target's unit
    ("90万元", "900000元", (D("90"), D("90"), "万元")),            # 900000 × 1 / 10000 = 90
    ("100万元", "800000元", (D("100"), D("80"), "万元")),          # 800000 / 10000 = 80
    ("132万元", "1267300元", (D("132"), D("126.73"), "万元")),     # 1267300 / 10000 = 126.73
    ("900000元", "90万元", (D("900000"), D("900000"), "元")),      # 90 × 10000 / 1 = 900000
    ("12000万元", "1.2亿元", (D("12000"), D("12000"), "万元")),    # 1.2 × 10^8 / 10^4 = 12000
    ("1亿元", "5000万元", (D("1"), D("0.5"), "亿元")),             # 5000 × 10^4 / 10^8 = 0.5
])
def test_common_numbers(target, actual, expected):
    t, a, unit = _common(target, actual)
    assert (t, a, unit) == expected
    assert isinstance(a, Decimal)


@pytest.mark.parametrize(("target", "actual", "message"), [
    ("100人次", "100次", "target is in 人次, actual in 次"),
    ("35次", "35篇", "target is in 次, actual in 篇"),
    ("100%", "100万元", "target is in %, actual in 万元"),
    ("90万元", "90个", "target is in 万元, actual in 个"),
])
def test_unit_mismatch(target, actual, message):
    with pytest.raises(UnitMismatch) as info:
        _common(target, actual)
    assert isinstance(info.value, ValueError)
    assert str(info.value) == message
