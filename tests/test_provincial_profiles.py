"""Provincial scoring-rule packs (generator/read/profiles/*.yaml): each cites its regulation and
reproduces the printed numbers of a real form (/work/shared/real-examples.md R1, R2, R4 and the
seed form content/departments/wangcheng-kexie/2021.yaml) or a documented rule example.

Every expected value is worked out by hand in the comment beside it. What a pack does NOT model
is said in its YAML comment and in docs/profiles.md ("Shipped profiles").
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from generator.read.model import Department, FundSource, Indicator, Report, ReportedFunds
from generator.read.profiles import Profile, available_profiles, load_profile
from generator.read.records import read_department_folder
from generator.read.values import parse_value
from generator.score.audit import audit_report
from generator.score.scoring import score_execution, score_indicator, score_report

D = Decimal
REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "profiles.md"
SEED = "content/departments/wangcheng-kexie"

PROVINCIAL = ["national", "beijing-2016", "sichuan", "chongqing", "hubei", "hubei-20", "hunan"]
# Shipped for demonstration, citing no document because none of our sources gives their numbers:
# the regulation says so instead of posing as a provincial text.
EXAMPLES = {"step-bands"}
CITES = re.compile("〔|《|报表编号")


def profile(name: str, overrides: dict | None = None) -> Profile:
    loaded, problems = load_profile(name, overrides)
    assert problems == [] and loaded is not None
    return loaded


def d(value) -> Decimal | None:
    return None if value is None else D(str(value))


def form(budget, executed, transfer=None, *, initial=None, weight=None, rate=None, score=None,
         name="财政拨款", rows=()) -> Report:
    source = FundSource(name, d(budget), d(executed), d(transfer), d(initial))
    return Report(Department("test-dept", "测试单位"), 2021, "project", (source,), funds_weight=d(weight),
                  reported_funds=ReportedFunds(initial_budget=d(initial), budget=d(budget), executed=d(executed),
                                               transfer=d(transfer), rate=d(rate), score=d(score)),
                  indicators=tuple(replace(r, index=i) for i, r in enumerate(rows)))


def funds_findings(report: Report, prof: Profile) -> list[tuple[str, Decimal | None, Decimal | None]]:
    """The findings on the printed rate and execution score (over-execution is a separate remark)."""
    return [(f.code, f.reported, f.computed) for f in audit_report(score_report(report, prof)).findings
            if f.code.startswith(("rate-", "execution-score-"))]


def execution(name: str, budget, executed, transfer=None, **kw) -> tuple[Decimal, Decimal]:
    ex = score_execution(form(budget, executed, transfer, **kw), profile(name))
    return ex.rate, ex.score


# ---------------------------------------------------------------- citations


# Fragments copied from real-examples.md exactly as it gives them; where it gives no 文号 the
# pack must say the number was not collected and must not carry one (no 〔…〕号 of our making).
@pytest.mark.parametrize(("name", "fragments", "no_number"), [
    ("national", ["财预〔2020〕10号《项目支出绩效评价管理办法》"], False),
    ("beijing-2016", ["北京市海淀区学院路街道 2016 年《项目支出绩效自评表》",
                      "执行率*该指标分值，最高不得超过分值上限"], True),
    ("sichuan", ["《部门预算项目支出绩效自评表》", "报表编号 510000_0013zp",
                 "预算执行率=预算执行数/调整后预算数"], True),
    ("chongqing", ["重庆《部门整体绩效自评表》（2021 年及以后）", "执行率得分 = 执行率 × 执行率权重"], True),
    ("hubei", ["鄂财绩发〔2020〕3号", "文件名称未收集"], False),
    ("hubei-20", ["鄂财绩发〔2020〕3号", "文件名称未收集"], False),
    ("hunan", ["湘财绩〔2020〕7号《湖南省预算支出绩效评价管理办法》", "(B-C)/A"], False),
])
def test_profile_cites_its_regulation(name, fragments, no_number):
    p = profile(name)
    assert p.title.strip() and CITES.search(p.regulation), p.regulation
    for fragment in fragments:
        assert fragment in p.regulation, (name, fragment)
    if no_number:
        assert "文号未收集" in p.regulation and "〔" not in p.regulation


@pytest.mark.parametrize("name", available_profiles())
def test_every_shipped_profile_loads_and_cites_a_document(name):
    p = profile(name)
    assert p.title.strip() and p.regulation.strip()
    if name in EXAMPLES:
        assert not CITES.search(p.regulation) and "示例" in p.regulation and "不依据" in p.regulation
    else:
        assert CITES.search(p.regulation), p.regulation
    # the docs table has a row for it
    assert re.search(rf"^\| `{re.escape(name)}` \|", DOCS.read_text(encoding="utf-8"), re.M), name


def test_the_provincial_packs_are_shipped():
    assert set(PROVINCIAL) | EXAMPLES | {"deviation"} == set(available_profiles())


# ---------------------------------------------------------------- national (财预〔2020〕10号)


def test_national_reproduces_r4_funds():
    # R4 云南 丽江 2020: 7.29 / 7.29 / 7.29 → 7.29/7.29 = 100.00 %; 10 × min(1, 1) = 10.00;
    # printed 执行率 100 %, 得分 10.00: both agree (100 and 100.00 are the same number)
    r4 = form("7.29", "7.29", initial="7.29", weight=10, rate="100", score="10.00", name="当年财政拨款")
    ex = score_execution(r4, profile("national"))
    assert (ex.rate, ex.score) == (D("100.00"), D("10.00"))
    assert funds_findings(r4, profile("national")) == []


def test_national_rounding_tie():
    # 87.65/100 = 87.65 %; 10 × 0.8765 = 8.765, a tie at two places: half-up 8.77 (half-even 8.76)
    assert execution("national", "100", "87.65") == (D("87.65"), D("8.77"))
    half_even = score_execution(form("100", "87.65"), profile("national", {"rounding": {"mode": "half_even"}}))
    assert half_even.score == D("8.76")


# ---------------------------------------------------------------- 北京 2016 (R1)


def test_beijing_2016_reproduces_r1():
    # R1: 154.74/310.2 = 0.498839… → 49.88 %; rate_places 0 → printed 50 %; rate first: 10 × 0.50 = 5.00,
    # printed 得分 5. National would give 49.88 % and 10 × 0.4988 = 4.988 → 4.99.
    r1 = form("310.2", "154.74", weight=10, rate="50", score="5")
    assert execution("beijing-2016", "310.2", "154.74") == (D("50"), D("5.00"))
    assert execution("national", "310.2", "154.74") == (D("49.88"), D("4.99"))
    assert funds_findings(r1, profile("beijing-2016")) == []


def test_beijing_2016_whole_percent_tie():
    # 97/200 = 48.5 % exactly: half-up to a whole percent → 49 → 10 × 0.49 = 4.90
    # (half-even would make it 48 → 4.80)
    assert execution("beijing-2016", "200", "97") == (D("49"), D("4.90"))
    even = score_execution(form("200", "97"), profile("beijing-2016", {"rounding": {"rate_mode": "half_even"}}))
    assert (even.rate, even.score) == (D("48"), D("4.80"))


# ---------------------------------------------------------------- 四川 510000_0013zp (R2)


def test_sichuan_reproduces_r2_on_the_adjusted_budget():
    # R2 工资性支出: 年初 238.93, 调整后 251.89 (our A), 执行 251.89.
    # 执行率 = 执行数/调整后预算数 = 251.89/251.89 = 100.00 %, as printed; 10 × 1 = 10.00 (R2's 得分 is blank,
    # so 10.00 is our computation, nothing printed to compare). On the 年初 budget it would be
    # 251.89/238.93 = 1.054241… → 105.42 %, which R2 does not print.
    r2 = form("251.89", "251.89", initial="238.93", weight=10, rate="100.00", name="工资性支出")
    sichuan = profile("sichuan")
    assert sichuan.rate_basis == "executed"
    ex = score_execution(r2, sichuan)
    assert (ex.rate, ex.score, ex.reported_score) == (D("100.00"), D("10.00"), None)
    assert funds_findings(r2, sichuan) == []


def test_sichuan_rounding_tie():
    # 调整后 100, 执行 87.65 → 87.65 %; 10 × 0.8765 = 8.765 → half-up 8.77
    assert execution("sichuan", "100", "87.65", initial="90") == (D("87.65"), D("8.77"))


# ---------------------------------------------------------------- 重庆 部门整体绩效自评表 (2021–)


@pytest.mark.parametrize(("budget", "executed", "weight", "rate", "score"), [
    ("80", "70", None, D("87.50"), D("8.75")),     # 70/80 = 87.5 %; 87.5 % × 10 = 8.75
    ("80", "70", 20, D("87.50"), D("17.50")),      # the form's 权重 20 wins: 87.5 % × 20 = 17.50
    ("100", "59.99", None, D("59.99"), D("6.00")),  # no bands: 59.99 % × 10 = 5.999 → 6.00 (bands would give 0)
    ("100", "87.65", None, D("87.65"), D("8.77")),  # tie: 87.65 % × 10 = 8.765 → half-up 8.77
    ("100", "110", None, D("110.00"), D("10.00")),  # above 100 %: capped at the weight (our choice, see the YAML)
])
def test_chongqing_rate_times_weight(budget, executed, weight, rate, score):
    assert profile("chongqing").execution_method == "capped"
    assert execution("chongqing", budget, executed, weight=weight) == (rate, score)


# ---------------------------------------------------------------- 湖北 鄂财绩发〔2020〕3号


@pytest.mark.parametrize(("budget", "executed", "weight", "rate", "score"), [
    ("80", "70", None, D("87.50"), D("8.75")),     # 得分 = 分值 × 执行率 = 10 × 0.875 = 8.75
    ("80", "70", 20, D("87.50"), D("17.50")),      # a form with 分值 20 under this pack keeps two places: 17.50
    ("100", "87.65", None, D("87.65"), D("8.77")),  # tie: 10 × 0.8765 = 8.765 → half-up 8.77
])
def test_hubei_weight_times_rate(budget, executed, weight, rate, score):
    assert execution("hubei", budget, executed, weight=weight) == (rate, score)


@pytest.mark.parametrize(("budget", "executed", "rate", "score"), [
    ("80", "70", D("87.50"), D("18")),        # 20 × 0.875 = 17.5 → whole points half-up → 18
    ("200", "165", D("82.50"), D("17")),      # 165/200 = 82.5 %; 20 × 0.825 = 16.5 → 17 (half-even/truncate: 16)
    ("100", "87.49", D("87.49"), D("17")),    # 20 × 0.8749 = 17.498 → 17; the rate keeps two places
    ("100", "87.495", D("87.50"), D("18")),   # 87.495 % → 87.50 first (rate_first), 20 × 0.875 = 17.5 → 18;
                                              # on the unrounded rate it would be 17.499 → 17
])
def test_hubei_20_whole_points(budget, executed, rate, score):
    p = profile("hubei-20")
    assert (p.execution_weight, p.places, p.rate_places, p.rounding_mode) == (D("20"), 0, 2, "half_up")
    assert execution("hubei-20", budget, executed) == (rate, score)


def test_hubei_20_tie_depends_on_the_mode():
    # 16.5 is the tie: half-up 17 is the pack's choice; half-even and truncation give 16
    for mode, expected in (("half_up", D("17")), ("half_even", D("16")), ("truncate", D("16"))):
        ex = score_execution(form("200", "165"), profile("hubei-20", {"rounding": {"mode": mode}}))
        assert ex.score == expected, mode


def test_hubei_20_indicator_scores_are_whole_points_and_two_places_are_explained():
    # a missed row ≥30个 with 17个, 分值 3: 3 × 17/30 = 1.7 → 2
    missed = Indicator(0, "产出指标", "数量指标", "", "测试指标", parse_value("30个"), parse_value("17个"), D("3"))
    assert score_indicator(missed, profile("hubei-20")).score == D("2")
    # a form printing 17.50 for 20 × 87.5 % follows the same rule at two places: explained, not an error
    printed = form("80", "70", weight=20, score="17.50")
    assert funds_findings(printed, profile("hubei-20")) == [("execution-score-other-rule", D("17.50"), D("18"))]


def test_hubei_20_differs_from_hubei_only_where_it_says():
    # hubei-20 is written out in full (see its YAML: extends could not drop national's 50/30/10),
    # so check it has not drifted from hubei in anything else
    hubei, twenty = profile("hubei").options, profile("hubei-20").options
    strip = {"title", "regulation", "level1_weights", "rounding"}
    assert {k: v for k, v in hubei.items() if k not in strip and k != "execution"} == \
        {k: v for k, v in twenty.items() if k not in strip and k != "execution"}
    assert {**hubei["execution"], "weight": 20} == twenty["execution"]
    assert {**hubei["rounding"], "places": 0, "rate_places": 2} == twenty["rounding"]
    assert twenty["level1_weights"] == {}


# ---------------------------------------------------------------- 湖南 湘财绩〔2020〕7号 (the seed form)


def seed_report() -> Report:
    result, problems = read_department_folder(REPO / SEED, SEED)
    assert problems == [] and result is not None
    (report,) = result[1]
    return report


def test_hunan_reproduces_the_seed_forms_printed_rate_not_its_score():
    # Seed: A 302, B 363.88, C 5.56; header 执行率 ((B-C)/A); printed 118.65 % and 7.95.
    # (B − C)/A = 358.32/302 = 1.186490… → 118.65 %: reproduced.
    # Deviation on it, rate first: 10 × (1 − 0.1865) = 8.135 (a tie) → half-up 8.14.
    # The printed 7.95 is 10 × (1 − (363.88/302 − 1)) = 10 × (1 − 0.2049) = 7.951 → 7.95: deviation on B/A,
    # not on the header's (B−C)/A. The pack does not reproduce it; the audit explains it as another rule.
    report = seed_report()
    hunan = profile("hunan")
    scored = audit_report(score_report(report, hunan))
    assert (scored.execution.rate, scored.execution.reported_rate) == (D("118.65"), D("118.65"))
    assert scored.execution.score == D("8.14")
    assert funds_findings(report, hunan) == [("execution-score-other-rule", D("7.95"), D("8.14"))]
    other = next(f for f in scored.findings if f.code == "execution-score-other-rule")
    assert "B/A" in other.message and "偏离度" in other.message
    # every legible indicator score agrees (10+5+5+5+5+5+15+15+10 … no indicator finding); the
    # total: 8.14 + 80 legible, plus 0–10 for the illegible row → 88.14–98.14, holding the printed 94.52
    assert not [f for f in scored.findings if f.path.startswith("indicators[") and f.code != "illegible"]
    assert (scored.total, scored.total_high) == (D("88.14"), D("98.14"))
    assert [f.code for f in scored.findings if f.path == "reported.total"] == ["total-unconfirmed"]


def test_hunan_basis_and_method_against_the_alternatives():
    # On the same seed: national (B/A capped) gives 120.49 % and 10.00; capped on (B−C)/A would give 10.00,
    # which can never show the printed over-execution penalty; the pack's choice gives 8.14.
    report = seed_report()
    national = score_execution(report, profile("national"))
    assert (national.rate, national.score) == (D("120.49"), D("10.00"))
    capped = score_execution(report, profile("hunan", {"execution": {"method": "capped"}}))
    assert (capped.rate, capped.score) == (D("118.65"), D("10.00"))


def test_hunan_rounding_tie():
    # A 100, B 117.35, C 5: (117.35 − 5)/100 = 112.35 %; 10 × (1 − 0.1235) = 8.765 → half-up 8.77
    # (half-even 8.76); on B/A it would be 117.35 % → 10 × (1 − 0.1735) = 8.265 → 8.27
    assert execution("hunan", "100", "117.35", "5") == (D("112.35"), D("8.77"))
    even = score_execution(form("100", "117.35", "5"), profile("hunan", {"rounding": {"mode": "half_even"}}))
    assert even.score == D("8.76")
