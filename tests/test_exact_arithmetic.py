"""The scorer against an exact reference: every number is the exact result rounded once.

The reference below is written apart from :mod:`generator.score.scoring`: it works on
:class:`fractions.Fraction` and rounds with ``math.floor`` and a comparison with ½, so a
scorer that divides before it multiplies (and rounds the quotient to 28 digits) disagrees
with it on the ties it meets. Cases are drawn from a seeded generator (the same cases every
run), a third of them constructed to land exactly on a tie (x.xx5) in the profile's places.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from functools import cache

import pytest

from generator.read.model import Department, FundSource, Indicator, Report
from generator.read.profiles import load_profile
from generator.read.values import parse_value
from generator.score.scoring import score_execution, score_indicator, score_report
from generator.site.charts import average

MODES = ("half_up", "half_even", "truncate")
METHODS = ("capped", "symmetric_deviation", "step_bands")
DEPT = Department(slug="exact", name="精确单位")
CASES_PER_KIND = 50_000  # indicator rows and funds blocks: 100,000 in all, plus 3,000 whole forms


@cache
def profile(mode: str, places: int, rate_first: bool = True, method: str = "capped", basis: str = "executed"):
    overrides = {"rounding": {"mode": mode, "places": places, "rate_first": rate_first},
                 "execution": {"method": method, "rate_basis": basis}}
    loaded, problems = load_profile("national", overrides)
    assert problems == [], problems
    return loaded


def reference_round(value: Fraction, places: int, mode: str) -> Fraction:
    """Round once, exactly: half-up goes away from zero on a tie, truncate toward zero."""
    scaled = value * 10 ** places
    if mode == "truncate":
        whole = math.trunc(scaled)
    else:
        below = math.floor(scaled)
        rest = scaled - below
        if rest != Fraction(1, 2):
            whole = below + (rest > Fraction(1, 2))
        elif mode == "half_up":
            whole = below + 1 if value > 0 else below
        else:
            whole = below if below % 2 == 0 else below + 1
    return Fraction(whole, 10 ** places)


def decimal_of(value: Fraction) -> Decimal:
    """An exact Decimal for a terminating fraction (the cases are built to terminate)."""
    den = value.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    assert den == 1, value
    places = 0
    while (value * 10 ** places).denominator != 1:
        places += 1
    return Decimal(int(value * 10 ** places)).scaleb(-places)


def text(value: Fraction) -> str:
    return format(decimal_of(value), "f")


# ---------------------------------------------------------------- the named example


@pytest.mark.parametrize(("mode", "expected"), [("half_up", "0.54"), ("half_even", "0.54"), ("truncate", "0.53")])
def test_target_30_actual_5_35_weight_3(mode, expected):
    # exact: 3 × 5.35 / 30 = 16.05 / 30 = 0.535, a tie at two places
    row = Indicator(0, "产出指标", "数量指标", "", "建设数量", parse_value("30个"), parse_value("5.35个"), Decimal(3))
    assert score_indicator(row, profile(mode, 2)).score == Decimal(expected)


def test_execution_tie_on_the_rate_and_on_the_score():
    # B/A = 1.0005 / 8 = 12.50625 % → 12.51 % half-up (rate first); 10 × 0.1251 = 1.251 → 1.25
    report = Report(DEPT, 2021, "department", (FundSource("财政拨款", Decimal(8), Decimal("1.0005")),),
                    funds_weight=Decimal(10))
    result = score_execution(report, profile("half_up", 2))
    assert (result.rate, result.score) == (Decimal("12.51"), Decimal("1.25"))
    # without rate-first: 10 × 1.0005 / 8 = 1.250625 → 1.25
    assert score_execution(report, profile("half_up", 2, rate_first=False)).score == Decimal("1.25")
    # a tie on the score: B = 0.1, A = 8 → rate 1.25 % exactly; 10 × 0.0125 = 0.125 → 0.13 / 0.12 / 0.12
    tie = replace(report, sources=(FundSource("财政拨款", Decimal(8), Decimal("0.1")),))
    assert score_execution(tie, profile("half_up", 2)).score == Decimal("0.13")
    assert score_execution(tie, profile("half_even", 2)).score == Decimal("0.12")
    assert score_execution(tie, profile("truncate", 2)).score == Decimal("0.12")


# ---------------------------------------------------------------- generated cases

NICE_AMOUNTS = [Fraction(n) for n in (1, 2, 4, 5, 8, 10, 16, 20, 25, 40, 50, 80, 100, 125, 200, 250, 302, 400, 500,
                                      625, 1000, 1250, 2000)] + [Fraction(25, 2), Fraction(75, 4), Fraction(1, 8)]
NICE_WEIGHTS = [Fraction(n) for n in (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30)] + [Fraction(5, 2), Fraction(15, 2)]


def terminates(value: Fraction) -> bool:
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    return den == 1


def random_amount(rng: random.Random, places: int = 2, top: int = 10 ** 6) -> Fraction:
    return Fraction(rng.randint(0, top * 10 ** places), 10 ** places)


def tie_value(rng: random.Random, places: int, below: Fraction) -> Fraction:
    """A value exactly halfway between two numbers of ``places`` decimals, under ``below``."""
    steps = int(below * 10 ** places)
    k = rng.randint(0, max(steps - 1, 0))
    return Fraction(2 * k + 1, 2 * 10 ** places)


def reference_indicator(weight: Fraction, target: Fraction, actual: Fraction, lower: bool, prof) -> Fraction:
    if not lower:
        share = 1 if actual >= target or target <= 0 else max(Fraction(0), actual / target)
    else:
        share = 1 if actual <= target or actual <= 0 else max(Fraction(0), target / actual)
    return reference_round(weight * min(Fraction(1), share), prof.places, prof.rounding_mode)


def indicator_case(rng: random.Random):
    prof = profile(rng.choice(MODES), rng.choice((0, 1, 2, 2, 3)))
    lower = rng.random() < 0.3
    weight = rng.choice(NICE_WEIGHTS)
    tie = rng.random() < 0.35
    if tie:  # constructed: the exact score is a tie at the profile's places
        score = tie_value(rng, prof.places, weight)
        target = rng.choice(NICE_AMOUNTS) * rng.choice((1, 3, 7, 11))
        actual = score * target / weight if not lower else weight * target / score
        if not terminates(actual) or actual == 0 or (actual * 10 ** 6).denominator != 1:
            return None  # values are written with at most 6 decimals
    else:
        target = random_amount(rng, rng.choice((0, 1, 2)), rng.choice((10, 1000, 10 ** 6)))
        actual = random_amount(rng, rng.choice((0, 1, 2, 3)), int(max(target, 1) * 2) + 1)
    row = Indicator(0, "产出指标", "成本指标" if lower else "数量指标", "", "生成指标",
                    parse_value(("≤" if lower else "") + text(target) + "个"), parse_value(text(actual) + "个"),
                    decimal_of(weight))
    return row, prof, reference_indicator(weight, target, actual, lower, prof), tie


def reference_execution(budget: Fraction, executed: Fraction, transfer: Fraction, weight: Fraction, prof):
    if budget == 0:
        return None, Fraction(0)
    rate = ((executed - transfer) if prof.rate_basis == "net_of_transfer" else executed) / budget
    percent = reference_round(rate * 100, prof.places, prof.rounding_mode)
    used = percent / 100 if prof.rate_first else rate
    if prof.execution_method == "capped":
        share = min(max(used, Fraction(0)), Fraction(1))
    elif prof.execution_method == "symmetric_deviation":
        share = max(Fraction(0), 1 - abs(used - 1))
    else:
        share = Fraction(0)
        for minimum, points in prof.step_bands:  # the profile's data, first band reached
            if used * 100 >= Fraction(minimum):
                share = Fraction(points) / 100
                break
    return percent, reference_round(weight * share, prof.places, prof.rounding_mode)


def funds_case(rng: random.Random):
    prof = profile(rng.choice(MODES), rng.choice((0, 1, 2, 2, 3)), rng.random() < 0.6, rng.choice(METHODS),
                   rng.choice(("executed", "net_of_transfer")))
    weight = rng.choice(NICE_WEIGHTS + [Fraction(10)] * 6)
    transfer = Fraction(0)
    kind = rng.random()
    if kind < 0.2:  # constructed: the rate in percent is a tie
        budget = rng.choice(NICE_AMOUNTS)
        percent = tie_value(rng, prof.places, Fraction(150))
        executed = budget * percent / 100
    elif kind < 0.35:  # constructed: the score is a tie (on the unrounded rate)
        budget = rng.choice(NICE_AMOUNTS)
        executed = tie_value(rng, prof.places, weight) * budget / weight
    else:
        budget = random_amount(rng, 2, rng.choice((10, 1000, 10 ** 6))) if rng.random() > 0.02 else Fraction(0)
        executed = random_amount(rng, 2, int(budget * 2) + 1)
        if rng.random() < 0.3:
            transfer = random_amount(rng, 2, int(executed) + 1)
    if not terminates(executed):
        return None
    report = Report(DEPT, 2021, "department",
                    (FundSource("财政拨款", decimal_of(budget), decimal_of(executed), decimal_of(transfer)),),
                    funds_weight=decimal_of(weight))
    return report, prof, reference_execution(budget, executed, transfer, weight, prof)


def test_indicator_scores_equal_the_exact_reference():
    rng, disagreements, ties, checked = random.Random(20261201), [], 0, 0
    while checked < CASES_PER_KIND:
        case = indicator_case(rng)
        if case is None:
            continue
        row, prof, expected, tie = case
        got = score_indicator(row, prof).score
        checked += 1
        ties += tie
        if got != decimal_of(expected):
            disagreements.append((row.target.text, row.actual.text, row.weight, prof.rounding_mode, got, expected))
    assert disagreements[:5] == []
    assert ties > CASES_PER_KIND // 5  # many of them exact ties


def test_funds_blocks_equal_the_exact_reference():
    rng, disagreements, checked = random.Random(1201), [], 0
    while checked < CASES_PER_KIND:
        case = funds_case(rng)
        if case is None:
            continue
        report, prof, (percent, score) = case
        got = score_execution(report, prof)
        checked += 1
        if got.score != decimal_of(score) or (got.rate is None) != (percent is None) or (
                percent is not None and got.rate != decimal_of(percent)):
            disagreements.append((report.sources[0], prof.rounding_mode, prof.places, got.rate, got.score,
                                  percent, score))
    assert disagreements[:5] == []


def test_rescaled_totals_equal_the_exact_reference():
    """Not-applicable rows rescaled to 100: one division, rounded once."""
    rng, disagreements = random.Random(7), []
    for _ in range(3_000):
        prof = profile(rng.choice(MODES), rng.choice((0, 1, 2)))
        prof = replace(prof, not_applicable="rescale")
        na_weight = Fraction(rng.choice((5, 10, 15, 20, 30, 45, 60)))
        scored_weight = Fraction(rng.choice((10, 20, 30)))
        target = Fraction(rng.randint(1, 400))
        actual = Fraction(rng.randint(0, 400))
        rows = (Indicator(0, "产出指标", "数量指标", "", "计分", parse_value(text(target) + "个"),
                          parse_value(text(actual) + "个"), decimal_of(scored_weight)),
                Indicator(1, "效益指标", "社会效益指标", "", "不适用", parse_value("1个"), parse_value("1个"),
                          decimal_of(na_weight), applicable=False))
        report = Report(DEPT, 2021, "department", (FundSource("财政拨款", Decimal(100), Decimal(100)),),
                        funds_weight=Decimal(10), indicators=rows)
        row_score = reference_indicator(scored_weight, target, actual, False, prof)
        _, execution = reference_execution(Fraction(100), Fraction(100), Fraction(0), Fraction(10), prof)
        expected = reference_round((execution + row_score) * 100 / (100 - na_weight), prof.places, prof.rounding_mode)
        got = score_report(report, prof).total
        if got != decimal_of(expected):
            disagreements.append((target, actual, na_weight, prof.rounding_mode, got, expected))
    assert disagreements[:5] == []


@pytest.mark.parametrize(("mode", "expected"), [("half_up", "90.01"), ("half_even", "90.00"), ("truncate", "90.00")])
def test_average_total_is_rounded_once(mode, expected):
    # (90.00 + 90.01) / 2 = 90.005 exactly, a tie at two places
    assert average([Decimal("90.00"), Decimal("90.01")], profile(mode, 2)) == Decimal(expected)


def test_average_total_is_a_range_when_a_total_is():
    """80, 60–70 and 90: the mean lies between (80 + 60 + 90) / 3 = 76.666… → 76.67 and
    (80 + 70 + 90) / 3 = 80.00; with every total known it is one number."""
    from types import SimpleNamespace as Form

    from generator.score.scoring import Interval
    from generator.site.charts import average_total

    forms = [Form(total=Decimal("80"), total_high=None), Form(total=Decimal("60"), total_high=Decimal("70")),
             Form(total=Decimal("90"), total_high=None)]
    assert average_total(forms, profile("half_up", 2)) == Interval(Decimal("76.67"), Decimal("80.00"))
    assert average_total([forms[0], forms[2]], profile("half_up", 2)) == Decimal("85.00")
