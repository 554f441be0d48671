"""Scoring under rule profiles (DESIGN §3.1–§3.2, §3.4).

Reports and indicators are built directly as model objects; every expected value is
worked out by hand in the comment next to it, never by calling the code under test.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from generator.read.model import Department, FundSource, Indicator, Report, ReportedFunds
from generator.read.profiles import Profile, load_profile, merge_options
from generator.read.values import parse_value
from generator.score.scoring import (
    direction_of,
    execution_points,
    grade_for,
    round_to,
    score_execution,
    score_indicator,
    score_report,
)

D = Decimal
DEPT = Department(slug="test-dept", name="测试单位")


# ---------------------------------------------------------------- helpers

def _d(value) -> Decimal | None:
    return None if value is None else D(str(value))


def profile(name: str = "national", overrides: dict | None = None) -> Profile:
    loaded, problems = load_profile(name, overrides)
    assert problems == []
    assert loaded is not None
    return loaded


def source(budget, executed, transfer=None, *, name: str = "财政拨款", illegible=()) -> FundSource:
    return FundSource(name, _d(budget), _d(executed), _d(transfer), illegible=tuple(illegible))


def report(*sources: FundSource, indicators=(), funds_weight=None, reported_funds=None,
           reported_total=None, reported_grade=None) -> Report:
    if not sources:
        sources = (source(100, 100),)
    rows = tuple(replace(r, index=i) for i, r in enumerate(indicators))
    return Report(DEPT, 2021, "department", tuple(sources), funds_weight=_d(funds_weight),
                  reported_funds=reported_funds or ReportedFunds(), indicators=rows,
                  reported_total=_d(reported_total), reported_grade=reported_grade)


def row(target=None, actual=None, weight=10, score=None, *, level1: str = "产出指标",
        level2: str = "数量指标", content: str = "测试指标", **kw) -> Indicator:
    return Indicator(0, level1, level2, "科普项目支出", content, parse_value(target), parse_value(actual),
                     _d(weight), _d(score), **kw)


def cost(target, actual, weight=5, score=None, **kw) -> Indicator:
    return row(target, actual, weight, score, level2="成本指标", **kw)


SEED_SOURCE = source("302", "363.88", "5.56")

# ---------------------------------------------------------------- round_to


@pytest.mark.parametrize(("value", "mode", "expected"), [
    (D("2.665"), "half_up", D("2.67")),     # tie, away from zero
    (D("2.665"), "half_even", D("2.66")),   # tie, 6 is even: stays
    (D("2.675"), "half_even", D("2.68")),   # tie, 7 is odd: goes to 8
    (D("2.665"), "truncate", D("2.66")),
    (D("2.669"), "truncate", D("2.66")),    # truncate ignores everything past 2 places
    (D("-1.239"), "truncate", D("-1.23")),  # toward zero
    (D("-1.235"), "half_up", D("-1.24")),
    (D("5"), "half_up", D("5.00")),
])
def test_round_to(value, mode, expected):
    result = round_to(value, 2, mode)
    assert result == expected
    assert result.as_tuple().exponent == -2


def test_round_to_zero_places():
    assert round_to(D("120.5"), 0, "half_up") == D("121")   # 120.5 → 121
    assert round_to(D("120.5"), 0, "half_even") == D("120")  # 120.5 → 120 (even)


# ---------------------------------------------------------------- profiles


def test_shipped_profiles():
    national = profile()
    assert national.execution_weight == D("10")
    assert national.execution_method == "capped"
    assert national.rate_basis == "executed"
    assert national.qualitative_bands == {"achieved": (D(80), D(100)), "partial": (D(60), D(80)),
                                          "missed": (D(0), D(60))}
    assert national.rounding_mode == "half_up" and national.rate_first is True and national.places == 2
    assert national.tolerance == D("0.01")
    steps = profile("step-bands")
    assert steps.execution_weight == D("20")
    assert steps.execution_method == "step_bands"
    assert steps.step_bands == ((D(100), D(100)), (D(80), D(70)), (D(60), D(50)), (D(0), D(0)))
    assert steps.qualitative_bands["partial"] == (D(50), D(80))
    assert steps.qualitative_bands["missed"] == (D(0), D(50))
    assert profile("deviation").execution_method == "symmetric_deviation"


def test_overrides_merge_and_are_kept():
    p = profile("national", {"execution": {"method": "symmetric_deviation"}})
    assert p.execution_method == "symmetric_deviation"
    assert p.execution_weight == D("10")  # sibling key untouched by the deep merge
    assert p.overrides == {"execution": {"method": "symmetric_deviation"}}


def test_merge_options_replaces_lists_and_does_not_mutate():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    merged = merge_options(base, {"a": {"c": [3]}, "e": 2})
    assert merged == {"a": {"b": 1, "c": [3]}, "d": 1, "e": 2}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}


def test_invalid_override_is_a_problem():
    loaded, problems = load_profile("national", {"execution": {"method": "nonsense"}})
    assert loaded is None
    assert [(p.path, p.message) for p in problems] == [
        ("execution.method", 'expected one of capped, symmetric_deviation, step_bands, got "nonsense"')]


# ---------------------------------------------------------------- execution: the seed (§3.4)


def test_seed_rate_bases_and_methods():
    r = report(SEED_SOURCE)
    # B/A = 363.88 / 302 = 1.2049006… → 120.49 %; capped: 10 × min(1.2049, 1) = 10.00
    ex = score_execution(r, profile())
    assert ex.totals.budget == D("302") and ex.totals.executed == D("363.88") and ex.totals.transfer == D("5.56")
    assert ex.weight == D("10")
    assert ex.rate == D("120.49")
    assert ex.score == D("10.00")
    # symmetric deviation on B/A: 10 × (1 − |1.2049 − 1|) = 10 × 0.7951 = 7.951 → 7.95
    ex = score_execution(r, profile("national", {"execution": {"method": "symmetric_deviation"}}))
    assert ex.rate == D("120.49")
    assert ex.score == D("7.95")
    assert score_execution(r, profile("deviation")).score == D("7.95")
    # (B − C)/A = 358.32 / 302 = 1.1864900… → 118.65 %; capped → 10.00
    ex = score_execution(r, profile("national", {"execution": {"rate_basis": "net_of_transfer"}}))
    assert ex.rate == D("118.65")
    assert ex.score == D("10.00")
    # (B − C)/A with symmetric deviation: 10 × (1 − 0.1865) = 8.135 → half-up 8.14
    ex = score_execution(r, profile("deviation", {"execution": {"rate_basis": "net_of_transfer"}}))
    assert ex.rate == D("118.65")
    assert ex.score == D("8.14")


def test_seed_rate_truncated():
    # 118.6490066… truncated to 2 places = 118.64 (not 118.65)
    p = profile("national", {"execution": {"rate_basis": "net_of_transfer"}, "rounding": {"mode": "truncate"}})
    assert score_execution(report(SEED_SOURCE), p).rate == D("118.64")


def test_reported_values_are_passed_through():
    r = report(SEED_SOURCE, reported_funds=ReportedFunds(rate=D("118.65"), score=D("7.95")))
    ex = score_execution(r, profile())
    assert ex.reported_rate == D("118.65")
    assert ex.reported_score == D("7.95")


# ---------------------------------------------------------------- execution: methods


@pytest.mark.parametrize(("executed", "rate", "score"), [
    ("85", D("85.00"), D("8.50")),     # 85/100; 10 × 0.85 = 8.50
    ("100", D("100.00"), D("10.00")),  # 10 × 1
    ("120", D("120.00"), D("10.00")),  # B > A: 10 × min(1.2, 1) = 10
    ("0", D("0.00"), D("0.00")),       # 10 × 0
    ("33.333", D("33.33"), D("3.33")),  # 33.333 % → 33.33; 10 × 0.3333 = 3.333 → 3.33
])
def test_capped(executed, rate, score):
    ex = score_execution(report(source(100, executed)), profile())
    assert ex.rate == rate
    assert ex.score == score


@pytest.mark.parametrize(("executed", "rate", "score"), [
    ("85", D("85.00"), D("8.50")),     # 10 × (1 − |0.85 − 1|) = 10 × 0.85
    ("100", D("100.00"), D("10.00")),  # 10 × (1 − 0)
    ("120", D("120.00"), D("8.00")),   # B > A: 10 × (1 − 0.2) = 8.00 — over-spending costs too
    ("115", D("115.00"), D("8.50")),   # 10 × (1 − 0.15): symmetric with 85 %
    ("250", D("250.00"), D("0.00")),   # 1 − 1.5 = −0.5 → max(0, …) = 0
    ("0", D("0.00"), D("0.00")),       # 1 − |0 − 1| = 0
])
def test_symmetric_deviation(executed, rate, score):
    p = profile("national", {"execution": {"method": "symmetric_deviation"}})
    ex = score_execution(report(source(100, executed)), p)
    assert ex.rate == rate
    assert ex.score == score


@pytest.mark.parametrize(("executed", "score"), [
    ("120", D("20.00")),    # ≥ 100 %: 20 × 100 %
    ("100", D("20.00")),    # band edge 100: 20 × 100 %
    ("99.99", D("14.00")),  # just below 100: 20 × 70 %
    ("80", D("14.00")),     # band edge 80: 20 × 70 % = 14
    ("79.99", D("10.00")),  # 20 × 50 % = 10
    ("60", D("10.00")),     # band edge 60: 20 × 50 % = 10
    ("59.99", D("0.00")),   # below 60: 0
    ("0", D("0.00")),
])
def test_step_bands_profile_weight_20(executed, score):
    p = profile("step-bands")
    ex = score_execution(report(source(100, executed)), p)
    assert ex.weight == D("20")
    assert ex.score == score


@pytest.mark.parametrize(("executed", "score"), [
    ("100", D("10.00")),   # 100 % → 10
    ("80", D("7.00")),     # ≥ 80 % → 7
    ("60", D("5.00")),     # ≥ 60 % → 5
    ("59.99", D("0.00")),  # else 0
])
def test_step_bands_on_national_weight(executed, score):
    p = profile("national", {"execution": {"method": "step_bands"}})
    assert score_execution(report(source(100, executed)), p).score == score


def test_step_bands_custom_bands():
    p = profile("national", {"execution": {"method": "step_bands", "step_bands": [
        {"min_rate": 90, "share": 100}, {"min_rate": 50, "share": 40}]}})
    assert score_execution(report(source(100, 95)), p).score == D("10.00")   # ≥ 90 → 10 × 100 %
    assert score_execution(report(source(100, 50)), p).score == D("4.00")    # ≥ 50 → 10 × 40 %
    assert score_execution(report(source(100, 49.99)), p).score == D("0.00")  # no band reached → 0


@pytest.mark.parametrize(("rate", "method", "expected"), [
    (D("0.5"), "capped", D("10")),               # 20 × 0.5
    (D("1.3"), "symmetric_deviation", D("14")),  # 20 × (1 − 0.3)
    (D("0.8"), "step_bands", D("14")),           # 20 × 70/100
    (D("-0.1"), "capped", D("0")),               # negative rate → 0
])
def test_execution_points_unrounded(rate, method, expected):
    p = profile("national", {"execution": {"method": method}})
    assert execution_points(rate, D("20"), p) == expected


def test_zero_budget():
    ex = score_execution(report(source(0, 10)), profile())
    assert ex.rate is None
    assert ex.score == D("0")  # no rate → 0 points
    assert ex.totals.budget == D("0")


def test_unknown_budget_without_printed_total():
    # budget illegible and no printed 年度资金总额 to fall back on
    ex = score_execution(report(source(None, 10, illegible=["budget"])), profile())
    assert ex.totals.budget is None
    assert ex.rate is None
    assert ex.score == D("0")


@pytest.mark.parametrize(("method", "score"), [
    ("capped", D("0.00")),               # 10 × min(max(−0.1, 0), 1) = 0
    ("symmetric_deviation", D("0.00")),  # 1 − |−0.1 − 1| = −0.1 → 0
    ("step_bands", D("0.00")),           # −10 % reaches no band
])
def test_transfer_exceeds_executed_net_of_transfer(method, score):
    # (B − C)/A = (10 − 20)/100 = −0.10 → −10.00 %
    p = profile("national", {"execution": {"rate_basis": "net_of_transfer", "method": method}})
    ex = score_execution(report(source(100, 10, 20)), p)
    assert ex.rate == D("-10.00")
    assert ex.score == score


def test_several_sources_sum():
    r = report(source(200, 150, 5), source(100, 90, 3, name="其他资金"))
    ex = score_execution(r, profile())
    # A = 300, B = 240, C = 8; B/A = 0.8 → 80.00 %, 10 × 0.8 = 8.00
    assert (ex.totals.budget, ex.totals.executed, ex.totals.transfer) == (D("300"), D("240"), D("8"))
    assert ex.rate == D("80.00")
    assert ex.score == D("8.00")
    # (B − C)/A = 232/300 = 0.773333… → 77.33 %; 10 × 0.7733 = 7.733 → 7.73
    ex = score_execution(r, profile("national", {"execution": {"rate_basis": "net_of_transfer"}}))
    assert ex.rate == D("77.33")
    assert ex.score == D("7.73")


def test_transfer_summed_when_one_source_has_none():
    # transfer is optional; C = 10 + (nothing) = 10; (B − C)/A = (100 − 10)/200 = 0.45 → 45.00 %, 4.50
    r = report(source(100, 50, 10), source(100, 50, name="其他资金"))
    ex = score_execution(r, profile("national", {"execution": {"rate_basis": "net_of_transfer"}}))
    assert ex.totals.transfer == D("10")
    assert ex.rate == D("45.00")
    assert ex.score == D("4.50")


def test_funds_weight_on_record_wins_over_profile():
    # A = 100, B = 90 → 90.00 %
    ex = score_execution(report(source(100, 90), funds_weight=20), profile())
    assert ex.weight == D("20")
    assert ex.score == D("18.00")  # 20 × 0.9
    ex = score_execution(report(source(100, 90)), profile())
    assert ex.weight == D("10")
    assert ex.score == D("9.00")   # 10 × 0.9
    # the record's weight also wins over the step-bands profile's 20
    ex = score_execution(report(source(100, 80), funds_weight=10), profile("step-bands"))
    assert ex.score == D("7.00")   # 10 × 70 %


def test_illegible_budget_falls_back_to_reported_funds():
    r = report(source(None, 100, illegible=["budget"]), source(50, 40, name="其他资金"),
               reported_funds=ReportedFunds(budget=D("250")))
    ex = score_execution(r, profile())
    # A from the printed total 250 (not the legible 50 alone); B = 100 + 40 = 140
    assert ex.totals.budget == D("250")
    assert ex.totals.executed == D("140")
    assert ex.rate == D("56.00")   # 140 / 250 = 0.56
    assert ex.score == D("5.60")   # 10 × 0.56


def test_illegible_executed_falls_back_to_reported_funds():
    r = report(source(200, None, illegible=["executed"]), reported_funds=ReportedFunds(executed=D("150")))
    ex = score_execution(r, profile())
    assert ex.rate == D("75.00")  # 150 / 200
    assert ex.score == D("7.50")  # 10 × 0.75


# ---------------------------------------------------------------- execution: rounding


@pytest.mark.parametrize(("executed", "mode", "rate"), [
    # 100.01 / 200 = 0.50005 → 50.005 % (a tie at 2 places; preceding digit 0 is even)
    ("100.01", "half_up", D("50.01")),
    ("100.01", "half_even", D("50.00")),
    ("100.01", "truncate", D("50.00")),
    # 100.03 / 200 = 0.50015 → 50.015 % (tie; preceding digit 1 is odd)
    ("100.03", "half_up", D("50.02")),
    ("100.03", "half_even", D("50.02")),
    ("100.03", "truncate", D("50.01")),
])
def test_rate_rounding_ties(executed, mode, rate):
    p = profile("national", {"rounding": {"mode": mode}})
    assert score_execution(report(source(200, executed)), p).rate == rate


@pytest.mark.parametrize(("executed", "mode", "score"), [
    # 201 / 400 = 50.25 % exactly; 10 × 0.5025 = 5.025 (tie, 2 is even)
    ("201", "half_up", D("5.03")),
    ("201", "half_even", D("5.02")),
    ("201", "truncate", D("5.02")),
    # 201.4 / 400 = 50.35 % exactly; 10 × 0.5035 = 5.035 (tie, 3 is odd)
    ("201.4", "half_up", D("5.04")),
    ("201.4", "half_even", D("5.04")),
    ("201.4", "truncate", D("5.03")),
])
def test_score_rounding_ties(executed, mode, score):
    p = profile("national", {"rounding": {"mode": mode}})
    assert score_execution(report(source(400, executed)), p).score == score


def test_rate_first_changes_the_score():
    r = report(source(200, "100.49"))  # 100.49 / 200 = 0.50245 → 50.245 % → half-up 50.25 %
    first = score_execution(r, profile("national", {"rounding": {"rate_first": True}}))
    later = score_execution(r, profile("national", {"rounding": {"rate_first": False}}))
    assert first.rate == later.rate == D("50.25")  # the printed rate is rounded either way
    assert first.score == D("5.03")  # 10 × 0.5025 = 5.025 → 5.03
    assert later.score == D("5.02")  # 10 × 0.50245 = 5.0245 → 5.02


def test_rate_first_changes_the_step_band():
    r = report(source(200, "199.99"))  # 199.99 / 200 = 0.99995 → 99.995 % → half-up 100.00 %
    first = score_execution(r, profile("step-bands", {"rounding": {"rate_first": True}}))
    later = score_execution(r, profile("step-bands", {"rounding": {"rate_first": False}}))
    assert first.rate == later.rate == D("100.00")
    assert first.score == D("20.00")  # 100.00 % reaches the 100 band: 20 × 100 %
    assert later.score == D("14.00")  # 99.995 % < 100: 20 × 70 %


# ---------------------------------------------------------------- indicators: quantities


def test_higher_met():
    res = score_indicator(row("12000人次", "12000人次", 10, 10), profile())
    assert res.kind == "quantity"
    assert res.direction == "higher"
    assert res.met is True
    assert res.ratio == D("1")       # 12000 / 12000
    assert res.computed == D("10.00")
    assert res.score == D("10.00")
    assert res.over_achieved is False
    assert res.reported == D("10")


def test_higher_exceeded_below_over_achievement_ratio():
    res = score_indicator(row("100篇", "120篇", 10), profile())
    assert res.met is True
    assert res.ratio == D("1.2")     # 120 / 100 < 1.5
    assert res.score == D("10.00")   # never more than the weight
    assert res.over_achieved is False


@pytest.mark.parametrize(("target", "actual", "weight", "score"), [
    ("100人次", "80人次", 10, D("8.00")),   # 10 × 80/100
    ("≥90%", "89.5%", 10, D("9.94")),       # 10 × 89.5/90 = 9.9444… → 9.94
    ("35次", "0次", 5, D("0.00")),          # 5 × 0/35
    ("300篇", "200篇", 5, D("3.33")),       # 5 × 200/300 = 3.333… → 3.33
    ("不少于800篇", "600篇", 4, D("3.00")),  # 4 × 600/800
])
def test_higher_missed(target, actual, weight, score):
    res = score_indicator(row(target, actual, weight), profile())
    assert res.direction == "higher"
    assert res.met is False
    assert res.score == score
    assert res.computed == score


def test_lower_via_comparator():
    # ≤ on a 数量指标 row: lower is better regardless of level 2
    res = score_indicator(row("≤90万元", "100万元", 5), profile())
    assert res.direction == "lower"
    assert res.met is False
    assert res.ratio == D("0.9")     # 90 / 100
    assert res.score == D("4.50")    # 5 × 90/100
    res = score_indicator(row("≤90万元", "80万元", 5), profile())
    assert res.met is True
    assert res.score == D("5.00")    # actual ≤ target → full
    res = score_indicator(row("5%以内", "8%", 6), profile())
    assert res.direction == "lower"
    assert res.score == D("3.75")    # 6 × 5/8 = 3.75


def test_lower_via_level2_default():
    res = score_indicator(cost("132万元", "126.73万元"), profile())
    assert res.direction == "lower"
    assert res.met is True
    assert res.score == D("5.00")    # 126.73 ≤ 132 → full
    res = score_indicator(cost("132万元", "150万元"), profile())
    assert res.met is False
    assert res.score == D("4.40")    # 5 × 132/150 = 4.4


def test_lower_actual_zero_is_full():
    res = score_indicator(cost("50万元", "0万元"), profile())
    assert res.met is True
    assert res.ratio == D("1")
    assert res.score == D("5.00")


def test_lower_is_better_list_is_a_profile_option():
    p = profile("national", {"indicators": {"lower_is_better": []}})
    res = score_indicator(cost("132万元", "150万元"), p)
    assert res.direction == "higher"
    assert res.score == D("5.00")    # 150 ≥ 132 → met


def test_explicit_direction_override():
    # 成本指标 would be lower-is-better; direction says higher
    res = score_indicator(cost("100万元", "120万元", direction="higher"), profile())
    assert res.direction == "higher"
    assert res.score == D("5.00")    # 120 ≥ 100 → full
    res = score_indicator(cost("100万元", "120万元"), profile())
    assert res.score == D("4.17")    # default lower: 5 × 100/120 = 4.1666… → 4.17
    # ≥ would be higher-is-better; direction says lower
    res = score_indicator(row("≥100个", "125个", 5, direction="lower"), profile())
    assert res.direction == "lower"
    assert res.score == D("4.00")    # 5 × 100/125


def test_direction_of_precedence():
    p = profile()
    assert direction_of(cost("≥10万元", "10万元"), p) == "higher"                      # comparator beats level 2
    assert direction_of(cost("≥10万元", "10万元", direction="lower"), p) == "lower"    # explicit beats comparator
    assert direction_of(row("<5%", "4%"), p) == "lower"                                # strict < is lower
    assert direction_of(row("300余篇", "300篇"), p) == "higher"                        # 余 = more than
    assert direction_of(row("=100%", "100%"), p) == "higher"                           # = falls to level 2
    assert direction_of(cost("=10万元", "10万元"), p) == "lower"
    assert direction_of(row(None, "5"), p) == "higher"                                 # no target


def test_target_zero():
    res = score_indicator(row("0次", "3次", 5), profile())
    assert res.met is True
    assert res.ratio == D("1")
    assert res.score == D("5.00")    # higher, target 0: any actual meets it
    res = score_indicator(cost("0万元", "0万元"), profile())
    assert res.met is True
    assert res.score == D("5.00")    # lower, 0 ≤ 0
    res = score_indicator(cost("0万元", "5万元"), profile())
    assert res.met is False
    assert res.score == D("0.00")    # 5 × 0/5 = 0


@pytest.mark.parametrize(("target", "actual", "score"), [
    ("100万元", "800000元", D("8.00")),   # 800000 元 = 80 万元; 10 × 80/100
    ("90万元", "900000元", D("10.00")),   # 900000 元 = 90 万元 → met
    ("1亿元", "5000万元", D("5.00")),     # 5000 万元 = 0.5 亿元; 10 × 0.5/1
])
def test_money_units_convert(target, actual, score):
    res = score_indicator(row(target, actual, 10), profile())
    assert res.kind == "quantity"
    assert res.score == score


def test_bare_number_takes_target_unit():
    res = score_indicator(row("100%", "95", 10), profile())
    assert res.kind == "quantity"
    assert res.score == D("9.50")    # 10 × 95/100


def test_unit_mismatch_is_scored_by_band():
    res = score_indicator(row("100人次", "100次", 10, 8), profile())
    assert res.kind == "qualitative"
    assert res.unit_mismatch == "target is in 人次, actual in 次"
    assert res.achievement is None
    assert res.band == (D("0"), D("10"))   # whole weight: 0..10
    assert res.score == D("8.00")           # the reported 8 lies inside
    assert res.met is None
    res = score_indicator(row("100人次", "100次", 10, 12), profile())
    assert res.score == D("10.00")          # 12 clamped to 10
    res = score_indicator(row("100人次", "100次", 10), profile())
    assert res.score is None                # nothing reported, nothing to check


@pytest.mark.parametrize(("mode", "low", "high"), [
    # 5 × 5/8 = 3.125 (tie, 2 even); 5 × 7/8 = 4.375 (tie, 7 odd)
    ("half_up", D("3.13"), D("4.38")),
    ("half_even", D("3.12"), D("4.38")),
    ("truncate", D("3.12"), D("4.37")),
])
def test_indicator_rounding_ties(mode, low, high):
    p = profile("national", {"rounding": {"mode": mode}})
    assert score_indicator(row("8个", "5个", 5), p).score == low
    assert score_indicator(row("8个", "7个", 5), p).score == high


# ---------------------------------------------------------------- indicators: over-achievement


def test_over_achievement_cut_is_accepted():
    res = score_indicator(row("100篇", "150篇", 10, 8), profile())
    assert res.ratio == D("1.5")              # 150/100 = 1.5 ≥ 1.5
    assert res.over_achieved is True
    assert res.computed == D("10.00")
    assert res.score == D("8")                # the evaluator's cut (按偏离度) is accepted


def test_over_achievement_without_cut():
    res = score_indicator(row("100篇", "150篇", 10), profile())
    assert res.over_achieved is True
    assert res.score == D("10.00")            # nothing reported → formula
    res = score_indicator(row("100篇", "150篇", 10, 10), profile())
    assert res.score == D("10.00")


def test_just_below_over_achievement_the_formula_wins():
    res = score_indicator(row("100篇", "149篇", 10, 8), profile())
    assert res.over_achieved is False         # 1.49 < 1.5
    assert res.score == D("10.00")            # reported 8 is not accepted


def test_over_achievement_lower_is_better():
    res = score_indicator(cost("150万元", "100万元", 5, 4), profile())
    assert res.ratio == D("1.5")              # 150/100
    assert res.over_achieved is True
    assert res.computed == D("5.00")
    assert res.score == D("4")


def test_over_achievement_ratio_is_a_profile_option():
    p = profile("national", {"indicators": {"over_achievement_ratio": 2}})
    res = score_indicator(row("100篇", "150篇", 10, 8), p)
    assert res.over_achieved is False         # 1.5 < 2
    assert res.score == D("10.00")


# ---------------------------------------------------------------- indicators: qualitative


def test_qualitative_same_text_is_achieved():
    p = profile()
    res = score_indicator(row("良好以上", "良好以上", 15, 15, level1="效益指标", level2="社会效益指标"), p)
    assert res.kind == "qualitative"
    assert res.achievement == "achieved"
    assert res.met is True
    assert res.band == (D("12"), D("15"))     # 15 × 80 % .. 15 × 100 %
    assert res.score == D("15.00")
    # a score inside the band is kept
    assert score_indicator(row("良好以上", "良好以上", 15, "13.5"), p).score == D("13.50")
    # below the band: clamped to the lower edge 12
    assert score_indicator(row("良好以上", "良好以上", 15, 10), p).score == D("12.00")
    # whitespace does not matter for "same text"
    assert score_indicator(row("良好 以上", "良好以上", 15), p).achievement == "achieved"


def test_qualitative_missing_score():
    p = profile()
    res = score_indicator(row("良好以上", "良好以上", 15), p)
    assert res.score == D("15.00")            # achieved, nothing reported → full weight
    res = score_indicator(row("长期坚持", "持续建立健全内控制度", 15), p)
    assert res.achievement is None
    assert res.score is None                  # unassessed, nothing reported → no score
    assert res.met is None


def test_qualitative_unassessed_with_score():
    res = score_indicator(row("长期坚持", "持续建立健全内控制度", 15, 15), profile())
    assert res.band == (D("0"), D("15"))
    assert res.score == D("15.00")


@pytest.mark.parametrize(("assessment", "reported", "band", "score"), [
    ("achieved", 9, (D("8"), D("10")), D("9.00")),    # 10 × 80 % .. 10 × 100 %
    ("achieved", 5, (D("8"), D("10")), D("8.00")),    # clamped up to 8
    ("achieved", None, (D("8"), D("10")), D("10.00")),  # not reported → full weight
    ("partial", 7, (D("6"), D("8")), D("7.00")),      # 10 × 60 % .. 10 × 80 %
    ("partial", 9, (D("6"), D("8")), D("8.00")),      # clamped down to 8
    ("partial", 5, (D("6"), D("8")), D("6.00")),      # clamped up to 6
    ("partial", None, (D("6"), D("8")), None),        # not reported → unknown
    ("missed", 7, (D("0"), D("6")), D("6.00")),       # 10 × 0 % .. 10 × 60 %; 7 → 6
    ("missed", 3, (D("0"), D("6")), D("3.00")),
])
def test_qualitative_assessment_bands(assessment, reported, band, score):
    res = score_indicator(row("效果明显", "效果一般", 10, reported, assessment=assessment), profile())
    assert res.achievement == assessment
    assert res.band == band
    assert res.score == score
    assert res.met is (assessment == "achieved")


def test_assessment_overrides_same_text():
    res = score_indicator(row("良好以上", "良好以上", 10, 9, assessment="partial"), profile())
    assert res.achievement == "partial"
    assert res.band == (D("6"), D("8"))
    assert res.score == D("8.00")             # 9 clamped to 8


@pytest.mark.parametrize(("assessment", "band"), [
    ("achieved", (D("8"), D("10"))),   # 80–100 % of 10
    ("partial", (D("5"), D("8"))),     # 50–80 % of 10
    ("missed", (D("0"), D("5"))),      # 0–50 % of 10
])
def test_step_bands_profile_qualitative(assessment, band):
    res = score_indicator(row("效果明显", "效果一般", 10, assessment=assessment), profile("step-bands"))
    assert res.band == band


def test_step_bands_profile_partial_clamps_to_50_percent():
    res = score_indicator(row("效果明显", "效果一般", 10, 4, assessment="partial"), profile("step-bands"))
    assert res.score == D("5.00")             # below 50 % of 10: nearest edge 5


def test_qualitative_band_edges_with_odd_weight():
    res = score_indicator(row("效果明显", "效果一般", 5, assessment="partial"), profile())
    assert res.band == (D("3"), D("4"))       # 5 × 60 % = 3, 5 × 80 % = 4


def test_unparsed_is_scored_by_band():
    res = score_indicator(row("1-2次", "2次", 5, 5), profile())
    assert res.kind == "qualitative"
    assert res.unparsed is True
    assert res.band == (D("0"), D("5"))
    assert res.score == D("5.00")
    res = score_indicator(row("2021年底前", "2021年底前", 5), profile())
    assert res.achievement == "achieved"      # same text
    assert res.score == D("5.00")


# ---------------------------------------------------------------- indicators: rows that do not count


def test_empty_row():
    res = score_indicator(row(content="", weight=None, level2="质量指标"), profile())
    assert res.kind == "empty"
    assert res.score is None


def test_not_applicable_row():
    res = score_indicator(row("10个", "10个", 10, applicable=False), profile())
    assert res.kind == "not_applicable"
    assert res.score is None


def test_illegible_weight_row():
    res = score_indicator(row("1次", None, None, illegible=("actual", "weight", "score")), profile())
    assert res.kind == "illegible"
    assert res.score is None


def test_illegible_content_is_not_empty():
    res = score_indicator(row("1次", "1次", 5, 5, content="", illegible=("content",)), profile())
    assert res.kind == "quantity"
    assert res.score == D("5.00")


# ---------------------------------------------------------------- totals and grades


def seed_indicators() -> list[Indicator]:
    """The legible rows of the seed form (DESIGN §3.4)."""
    return [
        row("12000人次", "12000人次", 10, 10, content="科普服务人数"),
        row("35次", "35次", 5, 5, content="科普活动次数"),
        row("300篇", "300余篇", 5, 5, content="媒体科普资讯宣传"),
        row("1次", None, None, content="基层科协组织培训", illegible=("actual", "weight", "score")),
        row(content="", weight=None, level2="质量指标"),
        row("100%", "100%", 5, 5, level2="时效指标", content="按时间要求资金到位率"),
        cost("132万元", "126.73万元", 5, 5, content="保障人员经费正常发放"),
        cost("50万元", "50万元", 5, 5, content="单位日常运转、管理"),
        cost("120万元", "120万元", 5, 5, content="专款专用"),
        row(content="", weight=None, level1="效益指标", level2="经济效益指标"),
        row("良好以上", "良好以上", 15, 15, level1="效益指标", level2="社会效益指标", content="全民科学素质不断提升"),
        row(content="", weight=None, level1="效益指标", level2="生态效益指标"),
        row("长期坚持", "持续建立健全内控制度", 15, 15, level1="效益指标", level2="可持续影响指标",
            content="建立健全内控制度"),
        row("90%以上", "90%以上", 10, 10, level1="满意度指标", level2="服务对象满意度指标",
            content="科技工作者和公众满意度"),
    ]


def test_seed_form_total():
    r = report(SEED_SOURCE, indicators=seed_indicators(), funds_weight=10)
    scored = score_report(r, profile("deviation"))
    kinds = [res.kind for res in scored.indicators]
    assert kinds == ["quantity", "quantity", "quantity", "illegible", "empty", "quantity", "quantity",
                     "quantity", "quantity", "empty", "qualitative", "empty", "qualitative", "quantity"]
    # indicators: 10 + 5 + 5 + 5 + 5 + 5 + 5 + 15 + 15 + 10 = 80; execution 7.95 → 87.95
    assert scored.execution.score == D("7.95")
    # the illegible row's weight is what the form's 100 leaves: 100 − 10 − 80 = 10, so it scored 0–10
    assert scored.unknown_weight == D("10")
    assert (scored.total, scored.total_high) == (D("87.95"), D("97.95"))
    assert str(scored.total_shown) == "87.95–97.95"
    assert scored.grade == "良–优"  # 87.95 is 良, 97.95 is 优: the data does not decide
    assert scored.not_applicable_weight == D("0")
    # national (capped): 10.00 + 80 = 90.00 … 100.00 → 优 either way
    scored = score_report(r, profile())
    assert (scored.total, scored.total_high) == (D("90.00"), D("100.00"))
    assert scored.grade == "优"


def _na_report(second_actual: str) -> Report:
    return report(source(100, 100), indicators=[          # execution: 10 × 1 = 10.00
        row("100个", "100个", 50),                       # 50.00
        row("3个", second_actual, 30, level1="效益指标", level2="社会效益指标"),
        row("10个", "10个", 10, level1="满意度指标", level2="服务对象满意度指标", applicable=False),
    ])


def test_not_applicable_rescale():
    scored = score_report(_na_report("1.5个"), profile())  # second row: 30 × 1.5/3 = 15.00
    assert scored.not_applicable_weight == D("10")
    # subtotal 10 + 50 + 15 = 75; 75 × 100 / (100 − 10) = 83.333… → 83.33
    assert scored.total == D("83.33")
    assert scored.grade == "良"


def test_not_applicable_drop():
    scored = score_report(_na_report("1.5个"), profile("national", {"indicators": {"not_applicable": "drop"}}))
    assert scored.not_applicable_weight == D("10")
    assert scored.total == D("75.00")   # 10 + 50 + 15, not rescaled
    assert scored.grade == "中"


def _all_not_applicable(funds_weight, *weights) -> Report:
    return report(source(100, 90), funds_weight=funds_weight, indicators=[
        row("100个", "100个", w, w, applicable=False) for w in weights])


@pytest.mark.parametrize(("funds_weight", "weights", "total", "grade"), [
    # funds weight 0, every indicator (50 + 30 + 20 = 100) not applicable: nothing is left to
    # rescale to, so the total is what was scored, 0.00, and not 0 × 100 / (100 − 100)
    (0, (50, 30, 20), D("0.00"), "差"),
    # execution 10 × 90/100 = 9.00; not-applicable 60 + 40 = 100: no rescale, total 9.00
    (10, (60, 40), D("9.00"), "差"),
    # not-applicable 70 + 40 = 110 (weights over 100, a warning): still no rescale (a negative
    # divisor would turn 9 into −90)
    (10, (70, 40), D("9.00"), "差"),
])
def test_not_applicable_weight_of_100_or_more_is_not_rescaled(funds_weight, weights, total, grade):
    scored = score_report(_all_not_applicable(funds_weight, *weights), profile())
    assert [r.kind for r in scored.indicators] == ["not_applicable"] * len(weights)
    assert scored.not_applicable_weight == sum(D(w) for w in weights)
    assert (scored.total, scored.grade) == (total, grade)


def test_not_applicable_weight_below_100_rescales_what_is_left():
    # execution 9.00; not-applicable 50 + 40 = 90: 9 × 100 / (100 − 90) = 90.00 → 优
    scored = score_report(_all_not_applicable(10, 50, 40), profile())
    assert (scored.not_applicable_weight, scored.total, scored.grade) == (D("90"), D("90.00"), "优")


@pytest.mark.parametrize(("mode", "total"), [
    # second row: 30 × 2/3 = 20.00; subtotal 10 + 50 + 20 = 80; 80 × 100/90 = 88.888…
    ("half_up", D("88.89")),
    ("half_even", D("88.89")),
    ("truncate", D("88.88")),
])
def test_rescaled_total_rounding(mode, total):
    scored = score_report(_na_report("2个"), profile("national", {"rounding": {"mode": mode}}))
    assert scored.total == total


def test_empty_and_illegible_rows_contribute_nothing():
    r = report(source(100, 90), indicators=[                                   # 10 × 0.9 = 9.00
        row("100个", "100个", 50, 50),                                         # 50.00
        row(content="", weight=None, level2="质量指标"),                        # empty
        row("1次", None, None, illegible=("actual", "weight", "score")),       # illegible
        row("良好", "良好", 30, level1="效益指标", level2="社会效益指标"),        # achieved, none reported → 30
    ])
    scored = score_report(r, profile())
    assert [res.score for res in scored.indicators] == [D("50.00"), None, None, D("30.00")]
    # 9 + 50 + 30 = 89 counted; the illegible row weighs what 100 leaves (100 − 10 − 50 − 30 = 10)
    assert (scored.total, scored.total_high) == (D("89.00"), D("99.00"))
    assert scored.grade == "良–优"


def test_unassessed_without_score_adds_nothing():
    r = report(source(100, 100), indicators=[row("长期坚持", "持续坚持", 20)])
    scored = score_report(r, profile())
    # execution 10 counted; the unassessed row may have scored anything from 0 to its weight 20
    assert (scored.total, scored.total_high) == (D("10.00"), D("30.00"))
    assert scored.grade == "差"  # < 60 at both ends


def test_over_achievement_cut_enters_total():
    r = report(source(100, 100), indicators=[row("100篇", "200篇", 10, 6)])
    assert score_report(r, profile()).total == D("16.00")   # 10 + accepted 6


@pytest.mark.parametrize(("total", "grade"), [
    (D("100"), "优"),
    (D("90"), "优"),
    (D("90.00"), "优"),
    (D("89.99"), "良"),
    (D("80"), "良"),
    (D("79.99"), "中"),
    (D("60"), "中"),
    (D("59.99"), "差"),
    (D("0"), "差"),
])
def test_national_grades(total, grade):
    assert grade_for(total, profile()) == grade


@pytest.mark.parametrize(("total", "grade"), [
    (D("85"), "A"),
    (D("84.99"), "B"),
    (D("70"), "B"),
    (D("69.99"), "C"),
    (D("50"), "C"),
    (D("49.99"), "C"),  # below every minimum: the lowest grade
])
def test_custom_grade_bands(total, grade):
    p = profile("national", {"grades": [{"grade": "A", "min": 85}, {"grade": "B", "min": 70},
                                        {"grade": "C", "min": 50}]})
    assert p.grades == (("A", D("85")), ("B", D("70")), ("C", D("50")))
    assert grade_for(total, p) == grade


def test_grades_out_of_order_are_refused_not_sorted():
    # a list out of order is more likely a typo than an intent: refused with its place, never reordered
    _loaded, problems = load_profile("national", {"grades": [{"grade": "C", "min": 50}, {"grade": "A", "min": 85},
                                                            {"grade": "B", "min": 70}]})
    assert [(p.path, p.message) for p in problems] == [
        ("grades[1].min", "expected a min below 50 (grades go from the highest min to the lowest), got 85")]


def test_custom_grades_in_score_report():
    p = profile("national", {"grades": [{"grade": "合格", "min": 60}, {"grade": "不合格", "min": 0}]})
    r = report(source(100, 100), indicators=[row("100个", "50个", 100)])
    scored = score_report(r, p)
    assert scored.total == D("60.00")   # 10 + 100 × 50/100
    assert scored.grade == "合格"
