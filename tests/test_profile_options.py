"""Profile options for rules the national text leaves open (docs/profiles.md, "options where
the national text is silent"): ``=`` targets, strict comparators, achieved phrases, relative
targets, the reverse formula, lower-is-better name patterns, rate places and mode, the grade
boundary, and the rounding of an accepted 按偏离度 score.

Every expected value is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from generator.read.model import Department, FundSource, Indicator, Report, ReportedFunds
from generator.read.profiles import PROFILE_SCHEMA, Profile, load_profile
from generator.read.values import AT_LEAST, AT_MOST, parse_value
from generator.score.audit import audit_report
from generator.score.scoring import grade_for, score_execution, score_indicator, score_report

D = Decimal
DEPT = Department(slug="test-dept", name="测试单位")
DOCS = Path(__file__).resolve().parent.parent / "docs" / "profiles.md"


def profile(overrides: dict | None = None, name: str = "national") -> Profile:
    loaded, problems = load_profile(name, overrides)
    assert problems == [] and loaded is not None
    return loaded


def row(target, actual, weight=10, score=None, *, level2="数量指标", content="测试指标", level3="项目支出",
        **kw) -> Indicator:
    level1 = "产出指标" if level2 in ("数量指标", "质量指标", "时效指标", "成本指标") else "效益指标"
    return Indicator(0, level1, level2, level3, content, parse_value(target), parse_value(actual),
                     None if weight is None else D(str(weight)), None if score is None else D(str(score)), **kw)


def report(*rows: Indicator, budget="100", executed="100", reported_funds=None) -> Report:
    return Report(DEPT, 2021, "department", (FundSource("财政拨款", D(budget), D(executed)),),
                  reported_funds=reported_funds or ReportedFunds(),
                  indicators=tuple(replace(r, index=i) for i, r in enumerate(rows)))


def codes(rep: Report, prof: Profile) -> list[str]:
    return [f.code for f in audit_report(score_report(rep, prof)).findings]


# ---------------------------------------------------------------- 1. "=" targets

@pytest.mark.parametrize(("actual", "default", "both_ways"), [
    ("100%", D("10.00"), D("10.00")),  # equal: met either way
    ("105%", D("10.00"), D("9.52")),   # over: as_direction met; both ways 10 × 100/105 = 9.5238… → 9.52
    ("90%", D("9.00"), D("9.00")),     # under: 10 × 90/100 = 9.00 under both
    ("0%", D("0.00"), D("0.00")),      # nothing done: 10 × 0/100
])
def test_exact_target_over_and_under(actual, default, both_ways):
    indicator = row("=100%", actual)
    assert score_indicator(indicator, profile()).score == default
    scored = score_indicator(indicator, profile({"indicators": {"exact_targets": "proportional_both_ways"}}))
    assert scored.score == both_ways
    assert scored.met is (actual == "100%")


def test_exact_target_on_a_cost_row_follows_its_direction_by_default():
    # 成本 "=50万元", actual 55: lower is better, 5 × 50/55 = 4.5454… → 4.55; 45 is met (5.00)
    assert score_indicator(row("=50万元", "55万元", 5, level2="成本指标"), profile()).score == D("4.55")
    assert score_indicator(row("=50万元", "45万元", 5, level2="成本指标"), profile()).score == D("5.00")
    # both ways, 45 is under: 5 × 45/50 = 4.50
    both = profile({"indicators": {"exact_targets": "proportional_both_ways"}})
    assert score_indicator(row("=50万元", "45万元", 5, level2="成本指标"), both).score == D("4.50")


def test_exact_target_of_zero_both_ways():
    both = profile({"indicators": {"exact_targets": "proportional_both_ways"}})
    assert score_indicator(row("=0起", "0起"), both).score == D("10.00")  # 0 = 0: met
    assert score_indicator(row("=0起", "2起"), both).score == D("0.00")   # smaller/larger = 0/2


def test_r4_lijiang_met_exact_target_still_earns_full_weight():
    # R4: "=72890元", actual 72890, 分值 10, printed 9.00: met under both options → 10.00, flagged
    for option in ("as_direction", "proportional_both_ways"):
        prof = profile({"indicators": {"exact_targets": option}})
        scored = score_indicator(row("=72890元", "72890", 10, "9.00"), prof)
        assert scored.score == D("10.00") and scored.met is True


# ---------------------------------------------------------------- 2. strict > and <

def test_strict_comparators_equality():
    strict = profile({"indicators": {"strict_comparators": True}})
    # ">90%" with 90%: met by default; strict says missed, yet the score is 10 × 90/90 = 10.00 both ways
    inclusive_row = score_indicator(row(">90%", "90%"), profile())
    strict_row = score_indicator(row(">90%", "90%"), strict)
    assert (inclusive_row.met, inclusive_row.score) == (True, D("10.00"))
    assert (strict_row.met, strict_row.score) == (False, D("10.00"))
    # "<5%" with 5%: lower is better; strict misses it, 10 × 5/5 = 10.00
    assert score_indicator(row("<5%", "5%"), strict).met is False
    # above / below the number is met under both
    assert score_indicator(row(">90%", "91%"), strict).met is True
    assert score_indicator(row("<5%", "4%"), strict).met is True


def test_strict_comparators_spare_approximate_targets_and_actuals():
    strict = profile({"indicators": {"strict_comparators": True}})
    assert score_indicator(row("300余篇", "300篇"), strict).met is True  # 余 is "about", not ">"
    assert score_indicator(row(">300篇", "300余篇"), strict).met is True  # the actual says "more than 300"


def test_strict_miss_at_equality_asks_for_a_reason_only_when_chosen():
    rep = report(row(">90%", "90%", 90, 90))
    assert "missing-reason" not in codes(rep, profile())
    assert "missing-reason" in codes(rep, profile({"indicators": {"strict_comparators": True}}))


# ---------------------------------------------------------------- 3. achieved phrases

@pytest.mark.parametrize("actual", ["达成预期指标", "达到预期", "已完成", "已完成。", "全部 完成"])
def test_achieved_phrases_put_a_qualitative_row_in_the_achieved_band(actual):
    # weight 15, achieved band 80–100 % → 12–15; no reported score: the band's top, 15.00
    scored = score_indicator(row("良好以上", actual, 15, level2="社会效益指标"), profile())
    assert scored.achievement == "achieved" and scored.band == (D(12), D(15)) and scored.score == D("15.00")


@pytest.mark.parametrize("actual", ["未完成", "基本完成", "部分完成", "完成了一部分"])
def test_other_words_are_not_achievement(actual):
    scored = score_indicator(row("良好以上", actual, 15, level2="社会效益指标"), profile())
    assert scored.achievement is None and scored.band == (D(0), D(15)) and scored.score is None


def test_achieved_phrase_against_a_number_proves_nothing():
    # "100%" target, "已完成" actual: no amount to compare; the whole 0–10 range stays open
    scored = score_indicator(row("100%", "已完成", 10, 6), profile())
    assert scored.achievement is None and scored.band == (D(0), D(10)) and scored.score == D("6.00")


def test_achieved_phrase_without_a_target_proves_nothing():
    # no target written: "已完成" of what? the whole 0–15 range stays open
    scored = score_indicator(row(None, "已完成", 15, level2="社会效益指标"), profile())
    assert scored.achievement is None and scored.band == (D(0), D(15))


def test_achieved_phrases_can_be_emptied():
    prof = profile({"indicators": {"achieved_phrases": []}})
    assert score_indicator(row("良好以上", "达成预期指标", 15), prof).achievement is None


def test_a_self_score_below_the_achieved_band_is_the_existing_out_of_band_finding():
    # "达成预期指标" with 10 of 15: below 12, the achieved band's low edge → qualitative-out-of-band
    rep = report(row("良好以上", "达成预期指标", 15, 10, level2="社会效益指标"))
    assert "qualitative-out-of-band" in codes(rep, profile())


# ---------------------------------------------------------------- 4. relative targets

@pytest.mark.parametrize(("text", "comparator", "number", "unit"), [
    ("提升10%", AT_LEAST, D("10"), "%"),
    ("增长10%", AT_LEAST, D("10"), "%"),
    ("较上年提高5%", AT_LEAST, D("5"), "%"),
    ("比2020年增长10%以上", AT_LEAST, D("10"), "%"),
    ("下降5个百分点", AT_MOST, D("-5"), "百分点"),  # the number is the signed change
    ("同比下降3%", AT_MOST, D("-3"), "%"),
    ("增长10%以内", AT_MOST, D("10"), "%"),   # a cap on growth: the level at most base × 1.1
    ("下降10%以内", AT_LEAST, D("-10"), "%"),  # a floor on decline: at least base × 0.9
    ("增加5个", AT_LEAST, D("5"), "个"),
])
def test_relative_targets_are_never_absolute(text, comparator, number, unit):
    value = parse_value(text)
    assert value.kind == "relative" and not value.is_quantity
    assert (value.comparator, value.number, value.unit) == (comparator, number, unit)


@pytest.mark.parametrize(("text", "comparator", "number"), [
    ("提高到95%", AT_LEAST, D("95")), ("提升至90%", AT_LEAST, D("90")), ("降至5%以下", AT_MOST, D("5")),
])
def test_a_level_reached_is_an_absolute_quantity(text, comparator, number):
    value = parse_value(text)
    assert value.kind == "quantity" and (value.comparator, value.number, value.unit) == (comparator, number, "%")


def test_relative_target_without_base_is_checked_not_computed():
    # "提升10%" vs "12%": no base given, so 12 % cannot be judged against +10 %; the reported 6 of
    # 10 lies in the open range 0–10 and is kept; no mismatch and no "unparseable" warning
    rep = report(row("提升10%", "12%", 10, 6))
    scored = score_report(rep, profile())
    assert scored.indicators[0].kind == "qualitative" and scored.indicators[0].score == D("6.00")
    assert not {"indicator-score-mismatch", "unparseable-value", "qualitative-out-of-band"} & set(
        codes(rep, profile()))


@pytest.mark.parametrize(("target", "base", "actual", "expected"), [
    ("提升10%", "80万人次", "90万人次", D("10.00")),  # ≥ 80 × 1.10 = 88: 90 meets it
    ("提升10%", "80万人次", "84万人次", D("9.55")),   # 10 × 84/88 = 9.5454… → 9.55
    ("下降5个百分点", "90%", "87%", D("9.77")),        # ≤ 90 − 5 = 85; lower: 10 × 85/87 = 9.7701… → 9.77
    ("增长10%以内", "50万元", "60万元", D("9.17")),    # ≤ 50 × 1.10 = 55; 10 × 55/60 = 9.1666… → 9.17
    ("下降10%以内", "50万元", "44万元", D("9.78")),    # ≥ 50 × 0.90 = 45; 10 × 44/45 = 9.7777… → 9.78
    ("增加5个", "20个", "25个", D("10.00")),            # ≥ 20 + 5 = 25: met
])
def test_relative_target_with_a_base_is_scored(target, base, actual, expected):
    scored = score_indicator(row(target, actual, base=parse_value(base)), profile())
    assert scored.kind == "quantity" and scored.score == expected


@pytest.mark.parametrize(("target", "base"), [
    ("提升10%", "85%"),     # 10 % of 85 %, or 10 points? the form does not say: not computed
    ("上升2个百分点", "3个"),  # points of a count
    ("增加5个", "20人"),     # units differ
    ("下降120%", "5个"),     # below zero
])
def test_relative_target_with_a_base_that_does_not_fix_the_level_stays_qualitative(target, base):
    scored = score_indicator(row(target, "95%", 10, 8, base=parse_value(base)), profile())
    assert scored.kind == "qualitative" and scored.band == (D(0), D(10)) and scored.score == D("8.00")


# ---------------------------------------------------------------- 5. reverse formula

@pytest.mark.parametrize(("actual", "ratio", "linear"), [
    ("80万元", D("10.00"), D("10.00")),   # within the cap: full either way
    ("125万元", D("8.00"), D("7.50")),    # 10 × 100/125 = 8; 10 × (1 − 25/100) = 7.5
    ("200万元", D("5.00"), D("0.00")),    # 10 × 100/200 = 5; B = 2A → 0
    ("250万元", D("4.00"), D("0.00")),    # 10 × 100/250 = 4; beyond 2A stays 0
    ("130.5万元", D("7.66"), D("6.95")),  # 10 × 100/130.5 = 7.6628… → 7.66; 10 × (2 − 1.305) = 6.95
])
def test_reverse_formula(actual, ratio, linear):
    indicator = row("≤100万元", actual, level2="成本指标")
    assert score_indicator(indicator, profile()).score == ratio
    assert score_indicator(indicator, profile({"indicators": {"reverse_formula": "linear"}})).score == linear


def test_linear_reverse_formula_on_a_zero_target():
    # "≤0起" with 3: any excess over a zero cap is beyond 2 × 0 → 0.00 (ratio gives 10 × 0/3 = 0.00 too)
    prof = profile({"indicators": {"reverse_formula": "linear"}})
    assert score_indicator(row("≤0起", "3起", level2="质量指标"), prof).score == D("0.00")


@pytest.mark.parametrize(("formula", "printed", "code"), [
    # 130 against ≤100: ratio 10 × 100/130 = 7.6923… → 7.69; linear 10 × (2 − 1.3) = 7.00
    ("linear", "7.69", "indicator-score-other-rule"),  # the ratio formula: explained, not accused
    ("ratio", "7.00", "indicator-score-other-rule"),   # the linear formula: explained, not accused
    ("ratio", "7.69", None),                           # the profile's own result: nothing to say
    ("linear", "6.50", "indicator-score-mismatch"),    # neither formula nor a rounding of them
])
def test_a_score_on_the_other_reverse_formula_is_explained(formula, printed, code):
    prof = profile({"indicators": {"reverse_formula": formula}})
    found = codes(report(row("≤100万元", "130万元", 10, printed, level2="成本指标")), prof)
    scored_codes = [c for c in found if c.startswith("indicator-score")]
    assert scored_codes == ([code] if code else [])


# ---------------------------------------------------------------- 6. lower-is-better by name

def test_lower_is_better_by_name_pattern():
    # 质量指标 "预算调整率" 5 % → 3 %: lower is better by name → met, 10.00;
    # with no patterns it is higher-is-better: 10 × 3/5 = 6.00
    indicator = row("5%", "3%", level2="质量指标", content="预算调整率")
    assert score_indicator(indicator, profile()).score == D("10.00")
    assert score_indicator(indicator, profile({"indicators": {"lower_is_better_patterns": []}})).score == D("6.00")
    # the name can sit in 三级指标 (national project form)
    in_level3 = row("10%", "8%", level2="质量指标", content="", level3="结转结余率")
    assert score_indicator(replace(in_level3, content="x"), profile()).direction == "lower"


def test_a_comparator_beats_the_name_pattern_and_control_rates_stay_higher():
    # "≥5%" on a 调整率 row: the comparator says higher → 10 × 3/5 = 6.00
    assert score_indicator(row("≥5%", "3%", level2="质量指标", content="预算调整率"), profile()).score == D("6.00")
    # 高血压控制率 is higher-is-better: 60 % → 70 % met, 10.00 (控制率 alone is not a default pattern)
    assert score_indicator(row("60%", "70%", level2="质量指标", content="高血压控制率"), profile()).score == D("10.00")


# ---------------------------------------------------------------- 7. rate places and mode

def test_r1_beijing_rate_to_whole_percent_scored_on_the_printed_rate():
    # R1: 154.74 / 310.2 = 0.498839… → 49.88 % (2 places) → 10 × 0.4988 = 4.988 → 4.99;
    # rate_places 0 → 50 %, rate first → 10 × 0.50 = 5.00, as printed
    rep = report(budget="310.2", executed="154.74", reported_funds=ReportedFunds(rate=D("50"), score=D("5")))
    national = score_execution(rep, profile())
    assert (national.rate, national.score) == (D("49.88"), D("4.99"))
    beijing = profile({"rounding": {"rate_places": 0}})
    ex = score_execution(rep, beijing)
    assert (ex.rate, ex.score) == (D("50"), D("5.00"))
    assert not [c for c in codes(rep, beijing) if c.startswith(("rate-", "execution-score-"))]


def test_rate_mode_apart_from_the_score_mode():
    # 49.8839… % truncated to whole percent → 49; 10 × 0.49 = 4.90 (scores still half-up)
    prof = profile({"rounding": {"rate_places": 0, "rate_mode": "truncate"}})
    ex = score_execution(report(budget="310.2", executed="154.74"), prof)
    assert (ex.rate, ex.score) == (D("49"), D("4.90"))


def test_whole_point_scores_keep_two_place_rates():
    # places 0 with rate_places 2: rate 49.88 %, score 10 × 0.4988 = 4.988 → 5
    prof = profile({"rounding": {"places": 0, "rate_places": 2}})
    ex = score_execution(report(budget="310.2", executed="154.74"), prof)
    assert (ex.rate, ex.score) == (D("49.88"), D("5"))


def test_rate_places_default_to_places():
    # no rate_places: places 0 rounds the rate too, 49.88… → 50, as before the option existed
    prof = profile({"rounding": {"places": 0}})
    assert (prof.rate_places, prof.rate_mode) == (0, "half_up")
    assert score_execution(report(budget="310.2", executed="154.74"), prof).rate == D("50")


# ---------------------------------------------------------------- 8. grade boundary

@pytest.mark.parametrize(("total", "at_least", "above"), [
    (D("90"), "优", "良"),       # on the boundary: reaches 90, does not pass it
    (D("89.5"), "良", "良"),     # below 90 under both
    (D("90.01"), "优", "优"),
    (D("80"), "良", "中"),
    (D("0"), "差", "差"),        # below every minimum: the lowest grade
])
def test_grade_boundary(total, at_least, above):
    assert grade_for(total, profile()) == at_least
    assert grade_for(total, profile({"grade_boundary": "above"})) == above


def test_whole_point_total_of_89_5_rounds_before_grading():
    # 财政部预算司 whole points: execution 10 + a qualitative 79.5 of 90 (achieved band 72–90);
    # places 0 rounds the row 79.5 → 80 (half-up), total 90 → 优 (at_least), 良 (above)
    rep = report(row("良好以上", "良好以上", 90, "79.5", level2="社会效益指标"))
    whole = score_report(rep, profile({"rounding": {"places": 0}}))
    assert (whole.total, whole.grade) == (D("90"), "优")
    above = score_report(rep, profile({"rounding": {"places": 0}, "grade_boundary": "above"}))
    assert (above.total, above.grade) == (D("90"), "良")
    # two places: 10.00 + 79.50 = 89.50 → 良 under both
    assert score_report(rep, profile()).grade == "良"


# ---------------------------------------------------------------- 9. accepted 按偏离度 score

@pytest.mark.parametrize(("places", "reported", "expected"), [
    (2, "8.456", D("8.46")),   # 200 of ≥100 (ratio 2 ≥ 1.5): the cut 8.456 rounds half-up to 8.46
    (0, "8.456", D("8")),      # whole points: 8.456 → 8
    (0, "8.5", D("9")),        # half-up: 8.5 → 9
    (2, "9.999", D("10.00")),  # rounds to the formula's 10.00: nothing was cut
])
def test_accepted_over_achievement_score_is_rounded(places, reported, expected):
    scored = score_indicator(row("≥100人次", "200人次", 10, reported), profile({"rounding": {"places": places}}))
    assert scored.over_achieved and scored.score == expected


# ---------------------------------------------------------------- every option is documented

NEW_OPTIONS = ["indicators.exact_targets", "indicators.strict_comparators", "indicators.reverse_formula",
               "indicators.lower_is_better_patterns", "indicators.achieved_phrases", "rounding.rate_places",
               "rounding.rate_mode", "grade_boundary"]


@pytest.mark.parametrize("option", NEW_OPTIONS)
def test_option_has_schema_title_default_and_docs_row(option):
    node, shipped = PROFILE_SCHEMA, profile().options
    for key in option.split("."):
        node = node["properties"][key]
        shipped = shipped.get(key) if isinstance(shipped, dict) else None
    assert re.search(r"[\u4e00-\u9fff]", node["title"]) and node.get("description")
    assert shipped is not None or option.startswith("rounding.rate_")  # rate_* default to places / mode
    assert re.search(rf"^\| `{re.escape(option)}` \|", DOCS.read_text(encoding="utf-8"), re.M), option


def test_a_base_in_the_record_reaches_the_score_and_survives_excel(tmp_path):
    # a record row "提升10%" with base 80万人次 and actual 84万人次: ≥ 88, 10 × 84/88 = 9.5454… → 9.55
    from generator.excel.commands import export_records, import_workbooks
    from generator.score.check import check_project

    project = tmp_path / "p"
    (project / "content/departments/alpha").mkdir(parents=True)
    (project / "content/site.yaml").write_text("title: 测试站点\nprofile: national\n", encoding="utf-8")
    (project / "content/departments/alpha/department.yaml").write_text("name: 甲单位\n", encoding="utf-8")
    (project / "content/departments/alpha/2021.yaml").write_text(
        "year: 2021\nfunds:\n  sources: [{name: 财政拨款, budget: 100, executed: 100}]\nindicators:\n"
        "  - {level1: 效益指标, level2: 社会效益指标, content: 服务人次, target: 提升10%, base: 80万人次,\n"
        "     actual: 84万人次, weight: 10, score: 9.55, reason: 天气, measures: 提前安排}\n", encoding="utf-8")
    form = check_project(project).forms[0]
    assert form.indicators[0].kind == "quantity" and form.indicators[0].score == D("9.55")
    assert not [f.code for f in form.findings if f.code.startswith("indicator-score")]
    books = export_records(project, tmp_path / "xlsx")
    again = tmp_path / "q"
    (again / "content").mkdir(parents=True)
    (again / "content/site.yaml").write_text("title: 测试站点\nprofile: national\n", encoding="utf-8")
    import_workbooks(books, again)
    assert check_project(again).content.reports == check_project(project).content.reports


@pytest.mark.parametrize(("boundary", "shown"), [
    ("at_least", "优 ≥ 90，良 ≥ 80，中 ≥ 60，差 &lt; 60"),
    ("above", "优 &gt; 90，良 &gt; 80，中 &gt; 60，差 ≤ 60"),
])
def test_form_page_states_the_grade_convention(tiny_project, boundary, shown):
    # real-examples: 89.5 or 90 grade differently by convention, so the page says which one it used
    from generator.build.run import build

    (tiny_project / "content/site.yaml").write_text(
        f"title: 测试站点\nprofile: national\nprofile_options: {{grade_boundary: {boundary}}}\n", encoding="utf-8")
    page = (build(tiny_project).out_dir / "departments/alpha/2021/index.html").read_text(encoding="utf-8")
    assert f'<dd class="grade-bands">{shown}</dd>' in page


def test_shipped_beijing_2016_profile_reproduces_r1():
    # R1: A 310.2, B 154.74 → 49.88… % printed 50 %, scored 10 × 0.50 = 5.00 as printed; nothing flagged
    rep = report(budget="310.2", executed="154.74", reported_funds=ReportedFunds(rate=D("50"), score=D("5")))
    beijing = profile(name="beijing-2016")
    assert (beijing.rate_places, beijing.places, beijing.reverse_formula) == (0, 2, "ratio")
    ex = score_execution(rep, beijing)
    assert (ex.rate, ex.score) == (D("50"), D("5.00"))
    assert not [c for c in codes(rep, beijing) if c.startswith(("rate-", "execution-score-"))]
