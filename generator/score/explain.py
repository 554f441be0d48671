"""Which known rule reproduces a printed number that differs from the recomputed one.

Published forms follow many legitimate conventions (DESIGN §3.2, §7): the rate on B/A or
(B−C)/A, on the 年初 or the adjusted budget, rounded first or not, to whole points or two
places, half-up or truncated, scored capped or by deviation. A printed number that one of
them reproduces is an inconsistency to explain, never an error to accuse the department of.
Each ``explain_*`` function returns the first variant that reproduces the printed number,
as a :class:`Variant` (Chinese and English wording), or None.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from itertools import product

from ..read.model import Report
from ..read.profiles import Profile
from .scoring import ExecutionResult, IndicatorResult, execution_points, reverse_share, round_to

MODES = ("half_up", "truncate", "half_even")
MODE_WORDS = {"half_up": ("四舍五入", "rounded half-up"), "half_even": ("银行家舍入", "rounded half-even"),
              "truncate": ("截尾", "truncated")}
METHOD_WORDS = {"capped": ("分值×执行率（封顶）", "weight × rate, capped"),
                "symmetric_deviation": ("按偏离度（超支同样扣分）", "by deviation from 100 %"),
                "step_bands": ("分档计分", "step bands")}

REVERSE_WORDS = {"ratio": ("按 目标值/完成值×分值、", "target/actual × weight, "),
                 "linear": ("按 (1−(完成值−目标值)/目标值)×分值、", "(1 − (actual − target)/target) × weight, ")}
RATIO_FIRST = ("，完成比例先舍入为百分数", ", the ratio rounded to a percentage first")


@dataclass(frozen=True)
class Variant:
    zh: str
    en: str
    value: Decimal  # what the variant gives, as printed


def _rounding(places: int, mode: str) -> tuple[str, str]:
    zh, en = MODE_WORDS[mode]
    return (f"保留 {places} 位小数{zh}" if places else f"取整（{zh}）",
            f"{en} to {places} places" if places else f"{en} to whole points")


def rate_bases(amounts: tuple) -> list[tuple[str, Fraction]]:
    """Every rate basis the form's amounts allow, as (label, exact rate)."""
    budget, executed, transfer, initial = amounts
    bases = []
    for denominator, d_label in ((budget, "A"), (initial, "年初预算数")):
        if not denominator:
            continue
        bases.append((f"B/{d_label}", Fraction(executed) / Fraction(denominator)))
        if transfer:
            bases.append((f"(B−C)/{d_label}", Fraction(executed - transfer) / Fraction(denominator)))
    return bases


def _amounts(report: Report, ex: ExecutionResult) -> tuple | None:
    totals = ex.totals
    if totals.budget is None or totals.executed is None:
        return None
    initials = [s.initial_budget for s in report.sources]
    initial = report.reported_funds.initial_budget
    if initial is None and initials and all(i is not None for i in initials):
        initial = sum(initials, Decimal(0))
    return totals.budget, totals.executed, totals.transfer, initial


def explain_rate(report: Report, ex: ExecutionResult, profile: Profile) -> Variant | None:
    """The basis and rounding that give the printed 执行率 (percent)."""
    printed, amounts = ex.reported_rate, _amounts(report, ex)
    if printed is None or amounts is None:
        return None
    places_tried = _places(printed, profile)
    row = _printed_row(report, amounts)
    if row is not None and printed == 0 and row[0] == 0 and row[1] == 0:  # nothing of nothing, as printed
        return Variant("年度资金总额行所填金额（0/0）", "the amounts printed on the total row (0 of 0)", printed)
    bases = rate_bases(amounts) + ([(f"年度资金总额行所填 {label}", rate) for label, rate in rate_bases(row)]
                                   if row is not None and row[0] else [])
    for (label, rate), places, mode in product(bases, places_tried, MODES):
        value = round_to(rate * 100, places, mode)
        if value == printed:
            if (places, mode) == (profile.rate_places, profile.rate_mode):
                return Variant(label, label, value)
            zh_round, en_round = _rounding(places, mode)
            return Variant(f"{label}（{zh_round}）", f"{label} ({en_round})", value)
    return None


def _printed_row(report: Report, amounts: tuple) -> tuple | None:
    """The 年度资金总额 row's own A, B, C (and 年初) when it prints amounts that differ from its
    sources: a rate that follows the row as printed is explained by it (the row's disagreement
    with its sources is a finding of its own, ``sources-sum``)."""
    printed = report.reported_funds
    if printed.budget is None or printed.executed is None or not report.sources:
        return None
    row = (printed.budget, printed.executed, printed.transfer or Decimal(0), printed.initial_budget)
    return row if row[:2] != amounts[:2] else None


def explain_execution_score(report: Report, ex: ExecutionResult, profile: Profile) -> Variant | None:
    """The rate, method and rounding that give the printed 执行率得分."""
    printed, amounts = ex.reported_score, _amounts(report, ex)
    if printed is None:
        return None
    rates: list[tuple[str, str, Fraction]] = []
    if ex.reported_rate is not None:
        rates.append((f"所印执行率 {ex.reported_rate}%", f"the printed rate {ex.reported_rate}%",
                      Fraction(ex.reported_rate) / 100))
    if amounts is not None:
        rates += [(label, label, rate) for label, rate in rate_bases(amounts)]
    methods = [profile.execution_method] + [m for m in METHOD_WORDS if m != profile.execution_method]
    for (zh_rate, en_rate, rate), method, places, mode in product(rates, methods, _places(printed, profile), MODES):
        for rate_first in (True, False):
            used = Fraction(round_to(rate * 100, places, mode)) / 100 if rate_first else rate
            value = round_to(execution_points(used, ex.weight, _with_method(profile, method)), places, mode)
            if value == printed:
                zh_round, en_round = _rounding(places, mode)
                zh_method, en_method = METHOD_WORDS[method]
                return Variant(f"按{zh_rate}、{zh_method}、{zh_round}", f"{en_rate}, {en_method}, {en_round}", value)
    return None


def explain_indicator_score(row: IndicatorResult, profile: Profile) -> Variant | None:
    """Rounding variants of a quantity row's formula (whole points, truncation, the ratio rounded
    first), and for a missed lower-is-better row the other reverse formula (A/B or linear)."""
    printed, weight = row.indicator.score, row.indicator.weight
    if printed is None or weight is None or row.ratio is None or row.kind != "quantity":
        return None
    share = row.share  # the profile's formula (ratio, linear, exact both ways), before rounding
    if share is None:
        share = Fraction(1) if row.met else min(Fraction(1), max(Fraction(0), row.ratio))
    formulas = [(share, ("", ""))]
    if row.direction == "lower" and not row.met and row.share is not None:
        other = "linear" if profile.reverse_formula == "ratio" else "ratio"
        formulas.append((reverse_share(row.ratio, other), REVERSE_WORDS[other]))
    for (used_share, words), places, mode in product(formulas, _places(printed, profile), MODES):
        for ratio_first in (False, True):
            rounded = Fraction(round_to(used_share * 100, places, mode)) / 100
            used = rounded if ratio_first and not row.met else used_share
            value = round_to(Fraction(weight) * used, places, mode)
            if value == printed and (words[0] or (places, mode, ratio_first) != (profile.places,
                                                                                 profile.rounding_mode, False)):
                zh_round, en_round = _rounding(places, mode)
                first = RATIO_FIRST if ratio_first else ("", "")
                return Variant(f"{words[0]}{zh_round}{first[0]}", f"{words[1]}{en_round}{first[1]}", value)
    return None


def _places(printed: Decimal, profile: Profile) -> list[int]:
    """The places the printed number shows: 7.95 was rounded to two, 50 to whole numbers. Trying
    fewer would explain anything (9.50 truncated to whole points "is" 9.00)."""
    return [max(0, -printed.as_tuple().exponent)]


def _with_method(profile: Profile, method: str) -> Profile:
    return profile if profile.execution_method == method else replace(profile, execution_method=method)
