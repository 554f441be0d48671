"""Audit findings (DESIGN §3.3): one small case per finding code, a clean form, tolerance.

Most cases start from a clean form (every reported number right, weights 10/50/30/10) and
change one thing, so the exact list of findings can be asserted. Expected values are
worked out by hand in the comments.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

import pytest

from generator.read.model import Department, FundSource, Indicator, Report, ReportedFunds
from generator.read.profiles import Profile, load_profile
from generator.read.schema import LEVEL1, LEVEL2
from generator.read.values import parse_value
from generator.score.audit import CODES, ERROR, INFO, SEVERITIES, WARNING, Finding, audit_report
from generator.score.form_checks import FORM_CODES
from generator.score.scoring import score_report

D = Decimal
SRC = "content/departments/test-dept/2021.yaml"
NUMBERS_NOT_IN_MESSAGE = {"missing-score"}  # the computed score is its own table column


# ---------------------------------------------------------------- helpers

def _d(value) -> Decimal | None:
    return None if value is None else D(str(value))


def profile(name: str = "national", overrides: dict | None = None) -> Profile:
    loaded, problems = load_profile(name, overrides)
    assert problems == []
    return loaded


def source(budget, executed, transfer=None, *, name: str = "财政拨款", illegible=()) -> FundSource:
    return FundSource(name, _d(budget), _d(executed), _d(transfer), illegible=tuple(illegible))


def row(target=None, actual=None, weight=10, score=None, *, level1: str = "产出指标",
        level2: str = "数量指标", content: str = "测试指标", **kw) -> Indicator:
    return Indicator(0, level1, level2, "", content, parse_value(target), parse_value(actual),
                     _d(weight), _d(score), **kw)


def funds(budget=None, executed=None, transfer=None, rate=None, score=None) -> ReportedFunds:
    return ReportedFunds(budget=_d(budget), executed=_d(executed), transfer=_d(transfer),
                         rate=_d(rate), score=_d(score))


def clean_rows() -> list[Indicator]:
    return [
        row("100个", "100个", 50, 50),                                                # 50.00
        row("良好以上", "良好以上", 30, 27, level1="效益指标", level2="社会效益指标"),  # band 24–30, 27
        row("90%以上", "95%", 10, 10, level1="满意度指标", level2="服务对象满意度指标"),  # 95 ≥ 90 → 10.00
    ]


def form(*, sources=None, rows=None, change=None, funds_weight=None, reported_funds=None,
         total="96.50", grade="优") -> Report:
    """The clean form: A = 100, B = 95 → 95.00 %, 10 × 0.95 = 9.50; 9.50 + 50 + 27 + 10 = 96.50 → 优.

    ``change`` maps a row index to its replacement (an index past the end appends)."""
    indicators = list(rows if rows is not None else clean_rows())
    for i, new in (change or {}).items():
        if i < len(indicators):
            indicators[i] = new
        else:
            indicators.append(new)
    return Report(
        Department("test-dept", "测试单位"), 2021, "department",
        tuple(sources or (source(100, 95),)),
        funds_weight=_d(funds_weight),
        reported_funds=reported_funds or funds(100, 95, rate="95.00", score="9.50"),
        indicators=tuple(replace(r, index=i) for i, r in enumerate(indicators)),
        reported_total=_d(total), reported_grade=grade, src_path=SRC,
    )


def audit(report: Report, p: Profile | None = None) -> list[Finding]:
    return list(audit_report(score_report(report, p or profile())).findings)


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def one(findings: list[Finding], code: str) -> Finding:
    found = [f for f in findings if f.code == code]
    assert len(found) == 1, codes(findings)
    return found[0]


def check(f: Finding, code: str, path: str, reported, computed) -> None:
    assert f.code == code
    assert f.severity == CODES[code]
    assert f.path == path
    assert f.reported == reported
    assert f.computed == computed
    assert f.file == SRC
    assert_messages(f)


# record text is quoted “…”; level names and the profile's title are Chinese in either language
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
KEPT_IN_ENGLISH = re.compile("“[^”]*”|" + "|".join(sorted(LEVEL1 + LEVEL2, key=len, reverse=True)))


def assert_messages(f: Finding) -> None:
    """A finding says it in Chinese and in English: the English page must not show Chinese."""
    assert CJK.search(f.message), f.message
    assert f.message_en and not CJK.search(KEPT_IN_ENGLISH.sub("", f.message_en)), f.message_en
    for value in (f.reported, f.computed):
        if value is not None and f.code not in NUMBERS_NOT_IN_MESSAGE:
            assert str(value) in f.message and str(value) in f.message_en, (f.code, value, f.message_en)


# ---------------------------------------------------------------- the clean form


def test_clean_form_has_no_findings():
    scored = audit_report(score_report(form(), profile()))
    assert scored.total == D("96.50")
    assert scored.grade == "优"
    assert scored.findings == ()


def test_codes_have_known_severities():
    assert set(CODES.values()) <= set(SEVERITIES)
    assert CODES["rate-mismatch"] == ERROR
    assert CODES["weights-sum"] == WARNING
    assert CODES["illegible"] == INFO


# ---------------------------------------------------------------- funds


def test_rate_mismatch():
    findings = audit(form(reported_funds=funds(100, 95, rate="95.50", score="9.50")))
    assert codes(findings) == ["rate-mismatch"]
    check(findings[0], "rate-mismatch", "funds.reported.rate", D("95.50"), D("95.00"))
    assert findings[0].severity == ERROR
    assert "B/A" in findings[0].message


def test_rate_mismatch_names_net_of_transfer_basis():
    p = profile("national", {"execution": {"rate_basis": "net_of_transfer"}})
    # no transfer: (95 − 0)/100 = 95.00 % — change the printed rate only
    f = one(audit(form(reported_funds=funds(100, 95, rate="96", score="9.50")), p), "rate-mismatch")
    assert "(B−C)/A" in f.message


def test_execution_score_mismatch():
    findings = audit(form(reported_funds=funds(100, 95, rate="95.00", score="9.00")))
    assert codes(findings) == ["execution-score-mismatch"]
    check(findings[0], "execution-score-mismatch", "funds.reported.score", D("9.00"), D("9.50"))


@pytest.mark.parametrize(("name", "overrides", "expected"), [
    # B/A = 120.49 %, capped 10.00: the printed 118.65 is (B−C)/A, the printed 7.95 is 10 × (2 − B/A):
    # each follows a known rule, so each is an inconsistency (warning), neither an error
    ("national", {}, [("rate-other-rule", D("118.65"), D("120.49")),
                      ("execution-score-other-rule", D("7.95"), D("10.00"))]),
    # B/A, symmetric: 10 × (1 − 0.2049) = 7.95 agrees; the rate follows (B−C)/A
    ("deviation", {}, [("rate-other-rule", D("118.65"), D("120.49"))]),
    # (B − C)/A = 118.65 % agrees; symmetric 10 × (1 − 0.1865) = 8.135 → 8.14, while 7.95 follows B/A
    ("deviation", {"execution": {"rate_basis": "net_of_transfer"}},
     [("execution-score-other-rule", D("7.95"), D("8.14"))]),
    # (B − C)/A agrees; capped → 10.00; 7.95 follows B/A by deviation
    ("national", {"execution": {"rate_basis": "net_of_transfer"}},
     [("execution-score-other-rule", D("7.95"), D("10.00"))]),
])
def test_seed_always_flags_one_of_rate_and_score(name, overrides, expected):
    r = form(sources=[source("302", "363.88", "5.56")], rows=[],
             reported_funds=funds("302", "363.88", "5.56", rate="118.65", score="7.95"), total=None, grade=None)
    findings = [f for f in audit(r, profile(name, overrides)) if f.code != "over-execution"]
    assert [(f.code, f.reported, f.computed) for f in findings] == expected


def test_seed_rate_finding_names_the_printed_formula():
    r = form(sources=[source("302", "363.88", "5.56")], rows=[],
             reported_funds=funds("302", "363.88", "5.56", rate="118.65", score="7.95"), total=None, grade=None)
    f = one(audit(r, profile("deviation")), "rate-other-rule")
    assert f.message == "填报执行率 118.65% 符合 (B−C)/A 的口径；得分 7.95 按 B/A = 120.49% 计算：两处口径不一致。"
    assert f.severity == "warning"


def test_rate_printed_to_whole_percent_and_scored_on_it():
    # R1 (北京 海淀 2016): 154.74 / 310.2 = 49.88 %, printed 50 % (whole percent); score 5 = 10 × 50 %
    # is within the 0.01 tolerance of 10 × 49.88 % = 4.99, so only the rate is remarked on
    r = form(sources=[source("310.2", "154.74")], rows=[],
             reported_funds=funds("310.2", "154.74", rate="50", score="5"), total=None, grade=None)
    findings = audit(r)
    assert [(f.code, f.reported, f.computed) for f in findings] == [("rate-other-rule", D("50"), D("49.88"))]
    assert findings[0].message.startswith("填报执行率 50% 符合 B/A（取整（四舍五入））的口径")


def test_rate_no_rule_gives_is_an_error():
    r = form(reported_funds=funds(100, 95, rate="93.00", score="9.50"))  # B/A 95 %, no basis gives 93
    assert codes(audit(r)) == ["rate-mismatch"]


def test_indicator_score_in_whole_points():
    # 3 × 17/30 = 1.7: printed 2 is whole points half-up, explained; 2.5 follows no rounding of 1.7
    explained = audit(form(change={0: row("30个", "17个", 3, 2, reason="r", measures="m")}, total=None))
    assert [f.code for f in explained if f.path == "indicators[0].score"] == ["indicator-score-other-rule"]
    unexplained = audit(form(change={0: row("30个", "17个", 3, "2.5", reason="r", measures="m")}, total=None))
    assert [f.code for f in unexplained if f.path == "indicators[0].score"] == ["indicator-score-mismatch"]


def test_sources_sum():
    r = form(sources=[source(60, 55, 2), source(40, 40, 1, name="其他资金")],   # A 100, B 95, C 3
             reported_funds=funds(110, 90, 4, rate="95.00", score="9.50"))
    findings = audit(r)
    assert codes(findings) == ["sources-sum", "sources-sum", "sources-sum"]
    check(findings[0], "sources-sum", "funds.reported.budget", D("110"), D("100"))    # 60 + 40
    check(findings[1], "sources-sum", "funds.reported.executed", D("90"), D("95"))    # 55 + 40
    check(findings[2], "sources-sum", "funds.reported.transfer", D("4"), D("3"))      # 2 + 1


def test_zero_budget():
    r = form(sources=[source(0, 0)], reported_funds=funds(0, 0, score=0), total="87.00", grade="良")
    findings = audit(r)   # execution 0 + 50 + 27 + 10 = 87.00
    assert codes(findings) == ["zero-budget"]
    check(findings[0], "zero-budget", "funds.sources", None, D("0"))
    assert findings[0].severity == WARNING


def test_transfer_exceeds_executed():
    # rate basis B/A: 95/100 is unchanged by C
    findings = audit(form(sources=[source(100, 95, 100)]))
    assert codes(findings) == ["transfer-exceeds-executed"]
    check(findings[0], "transfer-exceeds-executed", "funds.sources", D("100"), D("95"))


def test_over_execution():
    # 120/100 → 120.00 %, capped 10.00; 10 + 87 = 97.00
    r = form(sources=[source(100, 120)], reported_funds=funds(100, 120, rate="120.00", score="10.00"),
             total="97.00")
    findings = audit(r)
    assert codes(findings) == ["over-execution"]
    check(findings[0], "over-execution", "funds.sources", None, D("120.00"))
    assert findings[0].severity == INFO


def test_execution_weight():
    # 20 × 0.95 = 19.00; rows 40 + 27 + 10; total 19 + 77 = 96.00; 产出 40 ≠ 50 too
    r = form(funds_weight=20, reported_funds=funds(100, 95, rate="95.00", score="19.00"),
             change={0: row("100个", "100个", 40, 40)}, total="96.00")
    findings = audit(r)
    assert codes(findings) == ["execution-weight", "level1-weights"]
    check(findings[0], "execution-weight", "funds.weight", D("20"), D("10"))
    check(findings[1], "level1-weights", "indicators", D("40"), D("50"))


def test_execution_weight_equal_to_profile_is_fine():
    assert audit(form(funds_weight=10)) == []


def test_illegible_source_cell():
    # budget illegible → A from the printed 100: unchanged result
    findings = audit(form(sources=[source(None, 95, illegible=["budget"])]))
    assert codes(findings) == ["illegible"]
    check(findings[0], "illegible", "funds.sources[0]", None, None)
    assert "全年预算数" in findings[0].message   # the cell named as on the form


# ---------------------------------------------------------------- indicators


def test_indicator_score_mismatch():
    # 50 × 80/100 = 40.00, reported 50; total 9.50 + 40 + 27 + 10 = 86.50 → 良
    r = form(change={0: row("100个", "80个", 50, 50, reason="天气原因", measures="提前安排")},
             total="86.50", grade="良")
    findings = audit(r)
    assert codes(findings) == ["indicator-score-mismatch"]
    check(findings[0], "indicator-score-mismatch", "indicators[0].score", D("50"), D("40.00"))


def test_score_exceeds_weight_quantity():
    findings = audit(form(change={2: row("90%以上", "95%", 10, 12, level1="满意度指标",
                                          level2="服务对象满意度指标")}))
    assert codes(findings) == ["score-exceeds-weight", "indicator-score-mismatch"]
    check(findings[0], "score-exceeds-weight", "indicators[2].score", D("12"), D("10"))
    check(findings[1], "indicator-score-mismatch", "indicators[2].score", D("12"), D("10.00"))


def test_score_exceeds_weight_qualitative():
    # 31 > 30 and outside 24–30; clamped to 30 → total 9.50 + 50 + 30 + 10 = 99.50
    r = form(change={1: row("良好以上", "良好以上", 30, 31, level1="效益指标", level2="社会效益指标")},
             total="99.50")
    findings = audit(r)
    assert codes(findings) == ["score-exceeds-weight", "qualitative-out-of-band"]
    check(findings[0], "score-exceeds-weight", "indicators[1].score", D("31"), D("30"))
    check(findings[1], "qualitative-out-of-band", "indicators[1].score", D("31"), "24–30")


def test_qualitative_out_of_band():
    # achieved: 30 × 80 % = 24 .. 30; 20 clamped to 24 → 9.50 + 50 + 24 + 10 = 93.50
    r = form(change={1: row("良好以上", "良好以上", 30, 20, level1="效益指标", level2="社会效益指标")},
             total="93.50")
    findings = audit(r)
    assert codes(findings) == ["qualitative-out-of-band"]
    check(findings[0], "qualitative-out-of-band", "indicators[1].score", D("20"), "24–30")
    assert "达成" in findings[0].message


def test_qualitative_band_with_fractional_edges():
    # partial on weight 15: 15 × 60 % = 9 .. 15 × 80 % = 12; 12.5 → 12
    rows = [row("良好", "一般", 15, "12.5", assessment="partial", reason="r", measures="m")]
    f = one(audit(form(rows=rows, total=None, grade=None)), "qualitative-out-of-band")
    check(f, "qualitative-out-of-band", "indicators[0].score", D("12.5"), "9–12")


def test_unit_mismatch():
    # scored by band 0..50: the reported 50 stands
    findings = audit(form(change={0: row("100人次", "100次", 50, 50)}))
    assert codes(findings) == ["unit-mismatch"]
    check(findings[0], "unit-mismatch", "indicators[0].actual", "100次", "100人次")


def test_unparseable_value():
    findings = audit(form(change={0: row("1-2次", "2次", 50, 50)}))
    assert codes(findings) == ["unparseable-value"]
    check(findings[0], "unparseable-value", "indicators[0].target", None, None)


def test_missing_score_quantity():
    findings = audit(form(change={2: row("90%以上", "95%", 10, None, level1="满意度指标",
                                          level2="服务对象满意度指标")}))
    assert codes(findings) == ["missing-score"]
    check(findings[0], "missing-score", "indicators[2].score", None, D("10.00"))


def test_missing_score_unassessed_qualitative():
    # no score and nothing to compute: 9.50 + 50 + 10 = 69.50 → 中
    r = form(change={1: row("长期坚持", "持续坚持", 30, None, level1="效益指标", level2="社会效益指标")},
             total="69.50", grade="中")
    findings = audit(r)
    # the blank row may have scored 0–30: total 69.50–99.50, grades 中 … 优 — 中 is possible
    assert codes(findings) == ["missing-score", "total-unconfirmed"]
    check(findings[0], "missing-score", "indicators[1].score", None, None)
    check(findings[1], "total-unconfirmed", "reported.total", D("69.50"), "69.50–99.50")


def test_missing_value():
    # target missing, actual qualitative: band 0..30, 27 stands
    findings = audit(form(change={1: row(None, "良好", 30, 27, level1="效益指标", level2="社会效益指标")}))
    assert codes(findings) == ["missing-value"]
    check(findings[0], "missing-value", "indicators[1].target", None, None)


def test_missing_value_both():
    findings = audit(form(change={1: row(None, None, 30, 27, level1="效益指标", level2="社会效益指标")}))
    assert codes(findings) == ["missing-value", "missing-value"]
    assert [f.path for f in findings] == ["indicators[1].target", "indicators[1].actual"]


def test_missing_actual_is_not_unparseable():
    findings = audit(form(change={2: row("90%以上", None, 10, 10, level1="满意度指标",
                                          level2="服务对象满意度指标")}))
    assert codes(findings) == ["missing-value"]
    check(findings[0], "missing-value", "indicators[2].actual", None, None)


def test_missing_reason():
    # 50 × 80/100 = 40.00; 9.50 + 40 + 27 + 10 = 86.50 → 良
    findings = audit(form(change={0: row("100个", "80个", 50, 40)}, total="86.50", grade="良"))
    assert codes(findings) == ["missing-reason"]
    check(findings[0], "missing-reason", "indicators[0].reason", None, None)
    assert "未完成原因" in findings[0].message


def test_missing_measures():
    findings = audit(form(change={0: row("100个", "80个", 50, 40, reason="天气原因")}, total="86.50", grade="良"))
    assert codes(findings) == ["missing-reason"]
    check(findings[0], "missing-reason", "indicators[0].measures", None, None)
    assert "改进措施" in findings[0].message


def test_reason_and_measures_given():
    r = form(change={0: row("100个", "80个", 50, 40, reason="天气原因", measures="提前安排")},
             total="86.50", grade="良")
    assert audit(r) == []


def test_missing_reason_for_partial_qualitative():
    # partial: 30 × 60 % = 18 .. 24; 20 stands; 9.50 + 50 + 20 + 10 = 89.50 → 良
    r = form(change={1: row("良好以上", "一般", 30, 20, level1="效益指标", level2="社会效益指标",
                            assessment="partial")}, total="89.50", grade="良")
    findings = audit(r)
    assert codes(findings) == ["missing-reason"]
    check(findings[0], "missing-reason", "indicators[1].reason", None, None)


def test_over_achievement_cut():
    # 135/90 = 1.5 ≥ 1.5; formula 10.00, reported 8 accepted; 9.50 + 50 + 27 + 8 = 94.50
    r = form(change={2: row("90%以上", "135%", 10, 8, level1="满意度指标", level2="服务对象满意度指标")},
             total="94.50")
    findings = audit(r)
    assert codes(findings) == ["over-achievement"]
    check(findings[0], "over-achievement", "indicators[2].score", D("8"), D("10.00"))
    assert "150%" in findings[0].message   # 1.5 × 100 rounded to 0 places


def test_over_achievement_target_too_low():
    findings = audit(form(change={2: row("90%以上", "135%", 10, 10, level1="满意度指标",
                                          level2="服务对象满意度指标")}))
    assert codes(findings) == ["over-achievement"]
    check(findings[0], "over-achievement", "indicators[2].target", None, None)
    assert findings[0].severity == INFO


def test_illegible_indicator_cells():
    # the 1次 row of the seed: weight, actual and score illegible; it is not scored
    extra = row("1次", None, None, content="基层科协组织培训", illegible=("actual", "weight", "score"))
    findings = audit(form(change={3: extra}))
    assert codes(findings) == ["illegible"]          # one finding per row, naming every cell
    check(findings[0], "illegible", "indicators[3]", None, None)
    assert "完成值、分值、得分" in findings[0].message
    assert "未计入得分" in findings[0].message          # the weight is illegible: not counted


def test_illegible_score_only_is_still_counted():
    # score illegible, weight legible: the row is scored (10.00) and the finding does not say "not counted"
    r = form(change={2: row("90%以上", "95%", 10, None, level1="满意度指标", level2="服务对象满意度指标",
                            illegible=("score",))})
    findings = audit(r)
    assert codes(findings) == ["illegible"]            # no missing-score: the cell is marked illegible
    check(findings[0], "illegible", "indicators[2]", None, None)
    assert "得分" in findings[0].message
    assert "未计入得分" not in findings[0].message


def test_weights_sum():
    # 满意度 5 instead of 10: 10 + 50 + 30 + 5 = 95; total 9.50 + 50 + 27 + 5 = 91.50
    r = form(change={2: row("90%以上", "95%", 5, 5, level1="满意度指标", level2="服务对象满意度指标")},
             total="91.50")
    findings = audit(r)
    assert codes(findings) == ["weights-sum", "level1-weights"]
    check(findings[0], "weights-sum", "indicators", D("95"), D("100"))
    check(findings[1], "level1-weights", "indicators", D("5"), D("10"))
    assert "95" in findings[0].message


def test_weights_sum_mentions_illegible_weights():
    # an illegible weight beside a 满意度 row of 15: 10 + 50 + 30 + 15 = 105, already over 100
    extra = row("1次", None, None, illegible=("actual", "weight", "score"))
    r = form(change={2: row("90%以上", "95%", 15, 15, level1="满意度指标", level2="服务对象满意度指标"), 3: extra},
             total="101.50")
    f = one(audit(r), "weights-sum")
    check(f, "weights-sum", "indicators", D("105"), D("100"))
    assert "另有 1 项" in f.message


def test_an_illegible_weight_holds_what_100_leaves():
    # 10 + 50 + 30 + 5 = 95 legible: the illegible row weighs 5, no weights-sum warning;
    # counted 9.50 + 50 + 27 + 5 = 91.50, the illegible row adds 0–5 → 91.50–96.50
    extra = row("1次", None, None, illegible=("actual", "weight", "score"))
    r = form(change={2: row("90%以上", "95%", 5, 5, level1="满意度指标", level2="服务对象满意度指标"), 3: extra},
             total="94.00", grade="优")
    scored = audit_report(score_report(r, profile()))
    assert (scored.unknown_weight, scored.total, scored.total_high) == (D("5"), D("91.50"), D("96.50"))
    assert scored.grade == "优"
    assert codes(scored.findings) == ["illegible", "level1-weights", "total-unconfirmed"]  # 满意度 5, not 10


# ---------------------------------------------------------------- totals that cannot be known exactly

def _illegible_ten(total: str, grade: str | None = None) -> Report:
    """The seed's shape: a row of weight 10 unreadable. Counted 9.50 + 50 + 27 = 86.50 → 86.50–96.50."""
    extra = row("1次", None, None, illegible=("actual", "weight", "score"))
    return form(change={2: extra}, total=total, grade=grade)


@pytest.mark.parametrize(("total", "expected"), [
    ("86.50", "total-unconfirmed"), ("96.50", "total-unconfirmed"), ("94.52", "total-unconfirmed"),
    ("86.49", "total-unconfirmed"), ("86.48", "total-mismatch"), ("96.52", "total-mismatch"),  # tolerance 0.01
    ("100", "total-mismatch"),
])
def test_total_in_or_outside_its_range(total, expected):
    f = one(audit(_illegible_ten(total)), expected)
    check(f, expected, "reported.total", D(total), "86.50–96.50")


@pytest.mark.parametrize(("grade", "flagged"), [("良", False), ("优", False), ("中", True), ("差", True)])
def test_grade_range(grade, flagged):
    # 86.50 is 良 and 96.50 is 优: either may be right, 中 and 差 cannot be
    scored = audit_report(score_report(_illegible_ten("94.52", grade), profile()))
    assert scored.grade == "良–优"
    assert ("grade-mismatch" in codes(scored.findings)) is flagged


def test_total_that_adds_the_reported_scores_is_one_finding_not_two():
    # row 0 reported 45 of 50 while 100 ≥ 100 earns 50: total printed 9.50 + 45 + 27 + 10 = 91.50
    findings = audit(form(change={0: row("100个", "100个", 50, 45)}, total="91.50"))
    assert codes(findings) == ["indicator-score-mismatch", "total-follows-scores"]
    check(findings[1], "total-follows-scores", "reported.total", D("91.50"), D("96.50"))
    assert CODES["total-follows-scores"] == "info"


def test_total_that_adds_up_to_neither_is_an_error():
    findings = audit(form(change={0: row("100个", "100个", 50, 45)}, total="93.00"))
    assert codes(findings) == ["indicator-score-mismatch", "total-mismatch"]


def test_illegible_amount_scores_from_the_printed_rate():
    # B illegible, nothing printed for the total row's B: the printed 95 % gives 10 × 0.95 = 9.50
    r = form(sources=(source(100, None, illegible=("executed",)),), reported_funds=funds(rate="95.00"))
    scored = score_report(r, profile())
    assert (scored.execution.score, scored.execution.from_printed_rate) == (D("9.50"), True)
    assert (scored.total, scored.total_high) == (D("96.50"), None)


def test_illegible_amount_without_a_printed_rate_is_a_range():
    r = form(sources=(source(100, None, illegible=("executed",)),), reported_funds=funds(), total="96.50")
    scored = audit_report(score_report(r, profile()))
    # execution 0–10: 87.00–97.00 (良–优); the printed 96.50 lies inside
    assert (scored.execution.score, scored.execution.score_high) == (D("0.00"), D("10.00"))
    assert (scored.total, scored.total_high, scored.grade) == (D("87.00"), D("97.00"), "良–优")
    assert "total-unconfirmed" in codes(scored.findings)


def test_level1_weights():
    # 产出 45, 效益 35: sum still 100; rows 45 + 30 (band 28–35) + 10; 9.50 + 85 = 94.50
    r = form(change={0: row("100个", "100个", 45, 45),
                     1: row("良好以上", "良好以上", 35, 30, level1="效益指标", level2="社会效益指标")},
             total="94.50")
    findings = audit(r)
    assert codes(findings) == ["level1-weights", "level1-weights"]
    check(findings[0], "level1-weights", "indicators", D("45"), D("50"))
    check(findings[1], "level1-weights", "indicators", D("35"), D("30"))


def test_level1_weights_follow_the_profile():
    # the same form under overridden standard weights 45/35/10 is clean
    r = form(change={0: row("100个", "100个", 45, 45),
                     1: row("良好以上", "良好以上", 35, 30, level1="效益指标", level2="社会效益指标")},
             total="94.50")
    p = profile("national", {"level1_weights": {"产出指标": 45, "效益指标": 35, "满意度指标": 10}})
    assert audit(r, p) == []


def test_empty_and_not_applicable_rows_are_not_audited():
    empty = row(None, None, None, content="", level2="质量指标")
    na = row("10个", None, 0, None, applicable=False)   # no actual, no score: not audited
    assert audit(form(change={3: empty, 4: na})) == []


# ---------------------------------------------------------------- totals and grade


def test_total_mismatch():
    findings = audit(form(total="94.52"))
    assert codes(findings) == ["total-mismatch"]
    check(findings[0], "total-mismatch", "reported.total", D("94.52"), D("96.50"))


def test_grade_mismatch():
    findings = audit(form(grade="良"))
    assert codes(findings) == ["grade-mismatch"]
    check(findings[0], "grade-mismatch", "reported.grade", "良", "优")


def test_findings_in_form_order():
    r = form(reported_funds=funds(100, 95, rate="90", score="9"),
             change={0: row("100个", "80个", 50, 50, reason="r", measures="m")}, total="99", grade="良")
    # total 9.50 + 40 + 27 + 10 = 86.50 → 良 (grade agrees)
    # 9 is 10 × the printed 90 %: scored on the printed rate, an inconsistency rather than an error
    assert codes(audit(r)) == ["rate-mismatch", "execution-score-other-rule", "indicator-score-mismatch",
                               "total-mismatch"]


def test_every_code_is_covered_here():
    covered = {
        "rate-mismatch", "execution-score-mismatch", "indicator-score-mismatch", "total-mismatch",
        "grade-mismatch", "score-exceeds-weight", "qualitative-out-of-band", "sources-sum", "unit-mismatch",
        "weights-sum", "execution-weight", "missing-reason", "missing-score", "missing-value",
        "unparseable-value", "zero-budget", "transfer-exceeds-executed", "level1-weights", "over-execution",
        "over-achievement", "illegible", "total-unconfirmed", "total-follows-scores", "rate-other-rule",
        "execution-score-other-rule", "indicator-score-other-rule",
        "untranscribed", "score-without-weight",  # tests/test_forms_layouts.py: records of real layouts
    }
    assert covered == set(CODES) - set(FORM_CODES)  # those: tests/test_audit_real_checks.py


def test_finding_as_dict():
    f = audit(form(total="94.52"))[0]
    assert f.as_dict() == {"code": "total-mismatch", "severity": "error", "path": "reported.total",
                           "file": SRC, "line": 0, "reported": D("94.52"), "computed": D("96.50"),
                           "message": f.message}


# ---------------------------------------------------------------- tolerance


@pytest.mark.parametrize(("total", "flagged"), [
    ("96.50", False),
    ("96.51", False),   # |96.51 − 96.50| = 0.01, not more than 0.01
    ("96.49", False),
    ("96.52", True),    # 0.02 > 0.01
    ("96.48", True),
])
def test_tolerance_total(total, flagged):
    assert codes(audit(form(total=total))) == (["total-mismatch"] if flagged else [])


@pytest.mark.parametrize(("rate", "score", "expected"), [
    ("95.01", "9.51", []),                                            # both 0.01 off
    ("95.02", "9.51", ["rate-mismatch"]),                             # 0.02 off
    ("95.01", "9.48", ["execution-score-mismatch"]),
])
def test_tolerance_execution(rate, score, expected):
    assert codes(audit(form(reported_funds=funds(100, 95, rate=rate, score=score)))) == expected


@pytest.mark.parametrize(("reported", "flagged"), [("49.99", False), ("49.98", True)])
def test_tolerance_indicator(reported, flagged):
    findings = audit(form(change={0: row("100个", "100个", 50, reported)}))
    assert codes(findings) == (["indicator-score-mismatch"] if flagged else [])


def test_tolerance_is_a_profile_option():
    loose = profile("national", {"tolerance": D("0.05")})
    assert audit(form(total="96.55"), loose) == []                   # 0.05, not more
    assert codes(audit(form(total="96.56"), loose)) == ["total-mismatch"]  # 0.06
    exact = profile("national", {"tolerance": D("0")})
    assert codes(audit(form(total="96.51"), exact)) == ["total-mismatch"]  # any difference
