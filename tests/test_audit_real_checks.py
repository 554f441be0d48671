"""Form-level checks found on real forms (/work/shared real-examples R2–R4; score/form_checks.py).

Each check is tested on the real form's shape (numbers as printed) and on the cases that must
stay silent: a false accusation about a real department is worse than a missed one. Expected
values are worked out by hand in the comments.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from test_audit import SRC, assert_messages, audit, check, codes, form, funds, one, profile, row

from generator.read.model import FundSource
from generator.score.audit import CODES, INFO, WARNING
from generator.score.form_checks import FORM_CODES, goal_sum

D = Decimal


def test_form_codes_are_audit_codes():
    assert FORM_CODES.items() <= CODES.items()
    assert CODES["budget-cut"] == INFO
    assert {CODES[c] for c in FORM_CODES if c != "budget-cut"} == {WARNING}


# ---------------------------------------------------------------- 1. a mid-year budget cut (R3)

def cut_form(budget, executed, initial, *, printed_initial=None):
    """Indicators clean (50 + 27 + 10); the execution score is B/A capped, 10.00 when B = A."""
    sources = (FundSource("本年财政拨款", D(budget), D(executed), initial_budget=_d(initial)),)
    reported = replace(funds(budget, executed, rate="100.00", score="10.00"), initial_budget=_d(printed_initial))
    return form(sources=sources, reported_funds=reported, total="97.00")  # 10.00 + 50 + 27 + 10


def _d(value):
    return None if value is None else D(value)


def test_r3_budget_cut_states_both_rates():
    # R3: 年初 202.64, 全年 132.912, 执行 132.912.  B/A = 100.00 %.
    # B/年初 = 132.912 / 202.64: 202.64 × 0.6559 = 132.911576, rest 0.000424 / 202.64 = 0.0000021
    # → 65.590 % → 65.59 (two places, half-up)
    findings = audit(cut_form("132.912", "132.912", "202.64"))
    assert codes(findings) == ["budget-cut"]
    f = findings[0]
    check(f, "budget-cut", "funds.sources", D("100.00"), D("65.59"))
    assert "202.64" in f.message and "202.64" in f.message_en


def test_budget_cut_from_the_printed_initial_total():
    # no source gives 年初; the 年度资金总额 row prints it: the same 65.59 %
    findings = audit(cut_form("132.912", "132.912", None, printed_initial="202.64"))
    check(one(findings, "budget-cut"), "budget-cut", "funds.sources", D("100.00"), D("65.59"))


@pytest.mark.parametrize(("budget", "executed", "initial", "flagged"), [
    ("90", "90", "100", False),        # 90/100 = 90.00 %: on the line, not below it
    ("90", "90", "100.02", True),      # 90/100.02 = 0.89982 → 89.98 % < 90
    ("132.912", "132.912", "140", False),  # 132.912/140 = 94.94 %: a small cut, still ≥ 90
    ("100", "100", "95", False),       # the budget was raised, not cut (105.26 % of 年初)
    ("100", "100", None, False),       # no 年初: nothing to compare
])
def test_budget_cut_threshold(budget, executed, initial, flagged):
    assert ("budget-cut" in codes(audit(cut_form(budget, executed, initial)))) == flagged


def test_no_budget_cut_when_the_full_year_rate_is_already_low():
    # 88.6 % of the full-year budget: the rate itself already shows the low spending
    # 132.912 / 150 = 0.88608 → 88.61 % (score 8.86), 132.912 / 202.64 = 65.59 %
    sources = (FundSource("财政拨款", D(150), D("132.912"), initial_budget=D("202.64")),)
    r = form(sources=sources, reported_funds=funds(150, "132.912", rate="88.61", score="8.86"), total="95.86")
    assert codes(audit(r)) == []  # 8.86 + 50 + 27 + 10 = 95.86


# ---------------------------------------------------------------- 2. met targets docked (R4)

def r4_rows():
    """R4 as printed: every row met its target; 10 → 9.00, 20 → 19, 20.00 → 19.00, 30.00 → 27.00;
    the satisfaction row's score is cut off the stored copy."""
    return [
        row("72890元", "72890元", "10.00", "9.00", level2="数量指标", content="卫片执法补助经费"),
        row("100%", "100%", "20", "19", level2="质量指标", content="验收合格率"),
        row("100%", "100%", "20.00", "19.00", level2="时效指标", content="完成及时率"),
        row("≥95%", "95%", "30.00", "27.00", level1="效益指标", level2="社会效益指标", content="违法行为责停率"),
        row("≥95%", "95%", "10.00", None, level1="满意度指标", level2="服务对象满意度指标", content="满意度",
            illegible=("score",)),
    ]


def r4_form():
    # funds 7.29 / 7.29, 100 %, 10.00; weights 10 + 10 + 20 + 20 + 30 + 10 = 100; no printed total
    r = form(sources=(FundSource("当年财政拨款", D("7.29"), D("7.29")),), rows=r4_rows(),
             reported_funds=funds("7.29", "7.29", rate="100", score="10.00"), total=None, grade=None)
    return replace(r, form="project")


def test_r4_every_met_target_docked_is_one_warning():
    findings = audit(r4_form())
    # shares 9/10 = 90 %, 19/20 = 95 %, 19/20 = 95 %, 27/30 = 90 %: each share on two rows
    # printed 9.00 + 19 + 19.00 + 27.00 = 74.00 of weights 10.00 + 20 + 20.00 + 30.00 = 80.00
    assert codes(findings) == ["met-targets-docked", "illegible"]  # no error per row, no reason per row
    f = findings[0]
    check(f, "met-targets-docked", "indicators", D("74.00"), D("80.00"))
    assert f.message.startswith("4 项已达成目标的指标未得满分")
    assert "95%、90%" in f.message and "95%, 90%" in f.message_en


def docked_form(third, total):
    """Two met rows docked 90 % (10 → 9, 20 → 18), a third row given, 效益 and 满意度 clean."""
    rows = [row("100个", "100个", 10, 9), row("100个", "100个", 20, 18, level2="质量指标"), third,
            row("良好以上", "良好以上", 30, 27, level1="效益指标", level2="社会效益指标"),
            row("90%以上", "95%", 10, 10, level1="满意度指标", level2="服务对象满意度指标")]
    return form(rows=rows, total=total, grade=None)


def test_a_row_docked_by_its_own_share_keeps_its_error():
    # the third row met its target and printed 15 of 20 (75 %): no other row shares 75 %
    # recomputed 9.50 + 10 + 20 + 20 + 27 + 10 = 96.50; printed 9.50 + 9 + 18 + 15 + 27 + 10 = 88.50
    findings = audit(docked_form(row("100个", "100个", 20, 15, level2="时效指标"), "88.50"))
    assert codes(findings) == ["met-targets-docked", "indicator-score-mismatch", "total-follows-scores"]
    check(findings[0], "met-targets-docked", "indicators", D("27"), D("30"))  # 9 + 18 of 10 + 20
    check(findings[1], "indicator-score-mismatch", "indicators[2].score", D("15"), D("20.00"))
    check(findings[2], "total-follows-scores", "reported.total", D("88.50"), D("96.50"))


def test_a_missed_target_keeps_its_error():
    # third row: 90 of 100 → 20 × 0.9 = 18.00, printed 16.20 (not 90 % of anything the rule gives)
    # recomputed 9.50 + 10 + 20 + 18 + 27 + 10 = 94.50; printed 9.50 + 9 + 18 + 16.20 + 27 + 10 = 89.70
    third = row("100个", "90个", 20, "16.20", level2="时效指标", reason="r", measures="m")
    findings = audit(docked_form(third, "89.70"))
    assert codes(findings) == ["met-targets-docked", "indicator-score-mismatch", "total-follows-scores"]
    check(findings[1], "indicator-score-mismatch", "indicators[2].score", D("16.20"), D("18.00"))


def test_a_rounding_variant_is_not_docking():
    # weights 7.5 printed 7: 7.5 truncated to whole points (indicator-score-other-rule), not a cut
    # recomputed 9.50 + 7.5 + 7.5 + 35 + 27 + 10 = 96.50, printed 9.50 + 7 + 7 + 35 + 27 + 10 = 95.50
    rows = [row("100个", "100个", "7.5", 7), row("100个", "100个", "7.5", 7, level2="质量指标"),
            row("100个", "100个", 35, 35, level2="时效指标"),
            row("良好以上", "良好以上", 30, 27, level1="效益指标", level2="社会效益指标"),
            row("90%以上", "95%", 10, 10, level1="满意度指标", level2="服务对象满意度指标")]
    findings = audit(form(rows=rows, total="95.50", grade=None))
    assert codes(findings) == ["indicator-score-other-rule", "indicator-score-other-rule", "total-follows-scores"]


def test_a_total_that_adds_the_docked_scores_follows_them():
    # 10 → 9, 20 → 18, 20 → 20: printed 9.50 + 9 + 18 + 20 + 27 + 10 = 93.50, recomputed 96.50
    findings = audit(docked_form(row("100个", "100个", 20, 20, level2="时效指标"), "93.50"))
    assert codes(findings) == ["met-targets-docked", "total-follows-scores"]  # not total-mismatch
    check(findings[1], "total-follows-scores", "reported.total", D("93.50"), D("96.50"))


def test_one_docked_met_row_is_not_a_pattern():
    # only 10 → 9 (the 20s printed in full): its own error, as before
    # printed 9.50 + 9 + 20 + 20 + 27 + 10 = 95.50, recomputed 96.50
    r = docked_form(row("100个", "100个", 20, 20, level2="时效指标"), "95.50")
    r = replace(r, indicators=(r.indicators[0], replace(r.indicators[1], score=D(20))) + r.indicators[2:])
    findings = audit(r)
    assert codes(findings) == ["indicator-score-mismatch", "total-follows-scores"]
    check(findings[0], "indicator-score-mismatch", "indicators[0].score", D("9"), D("10.00"))
    # 50 → 45 on the clean form: 9.50 + 45 + 27 + 10 = 91.50
    findings = audit(form(change={0: row("100个", "100个", 50, 45)}, total="91.50"))
    assert codes(findings) == ["indicator-score-mismatch", "total-follows-scores"]


# ---------------------------------------------------------------- 3. unexplained deviations

def test_project_form_asks_a_reason_for_a_score_below_its_weight():
    # the clean form's 良好以上 row scored 27 of 30 (inside its band): fine on a department form,
    # but the national project form's 偏差原因分析 asks why 3 points were lost
    project = replace(form(), form="project")
    findings = audit(project)
    assert codes(findings) == ["missing-deviation-reason"]
    check(findings[0], "missing-deviation-reason", "indicators[1].reason", D("27"), D("30"))
    assert codes(audit(form())) == []
    explained = replace(form(change={1: row("良好以上", "良好以上", 30, 27, level1="效益指标",
                                            level2="社会效益指标", reason="宣传覆盖面不足")}), form="project")
    assert codes(audit(explained)) == []


def test_an_illegible_reason_is_not_a_missing_one():
    illegible = row("良好以上", "良好以上", 30, 27, level1="效益指标", level2="社会效益指标", illegible=("reason",))
    r = replace(form(change={1: illegible}), form="project")
    assert codes(audit(r)) == ["illegible"]
    over = form(change={0: row("100个", "130个", 50, 50, illegible=("reason",))})
    assert codes(audit(over, guangxi())) == ["illegible"]


def test_a_missed_target_gets_missing_reason_only():
    # 80 of 100 → 50 × 0.8 = 40.00, printed 40; total 9.50 + 40 + 27 + 10 = 86.50 → 良
    r = replace(form(change={0: row("100个", "80个", 50, 40)}, total="86.50", grade="良"), form="project")
    assert codes(audit(r)) == ["missing-reason", "missing-deviation-reason"]
    # the second is the 27-of-30 row; the missed row is missing-reason's alone
    assert one(audit(r), "missing-reason").path == "indicators[0].reason"


def guangxi(ratio="1.3"):
    return profile("national", {"indicators": {"explain_over_achievement_ratio": D(ratio)}})


@pytest.mark.parametrize(("actual", "option", "flagged"), [
    ("130个", "1.3", True),   # 130/100 = 130 % ≥ 130 %
    ("129个", "1.3", False),  # 129 %
    ("130个", None, False),   # the option is off by default
    ("140个", "1.5", False),  # 140 % below a site's 150 %
])
def test_over_achievement_needs_a_reason_when_the_profile_says(actual, option, flagged):
    r = form(change={0: row("100个", actual, 50, 50)})
    findings = audit(r, guangxi(option) if option else profile())
    assert ("unexplained-over-achievement" in codes(findings)) == flagged
    if flagged:
        check(one(findings, "unexplained-over-achievement"), "unexplained-over-achievement",
              "indicators[0].reason", D("130"), None)


def test_over_achievement_with_a_reason_is_fine():
    r = form(change={0: row("100个", "130个", 50, 50, reason="追加任务")})
    assert codes(audit(r, guangxi())) == []


def test_the_option_defaults_to_off_and_refuses_below_one():
    from generator.read.profiles import load_profile
    assert profile().explain_over_achievement_ratio is None
    assert guangxi().explain_over_achievement_ratio == D("1.3")
    _, problems = load_profile("national", {"indicators": {"explain_over_achievement_ratio": D("0.9")}})
    assert [p.path for p in problems] == ["indicators.explain_over_achievement_ratio"]


# ---------------------------------------------------------------- 4. a form published without scores (R2)

def r2_form():
    # 工资性支出: 年初 238.93, 调整后 251.89, 执行 251.89, 100.00 %, 权重 10, 得分 blank;
    # 产出 覆盖率 = 100 % 权重 60 (完成值, 得分 blank); 效益 足额保障率 = 100 % 权重 30 (the rest not given)
    sources = (FundSource("财政资金", D("251.89"), D("251.89"), initial_budget=D("238.93")),)
    rows = [row("100%", None, 60, None, level2="数量指标", content="发放(缴纳)覆盖率"),
            row("100%", None, 30, None, level1="效益指标", level2="社会效益指标", content="足额保障率")]
    r = form(sources=sources, rows=rows, reported_funds=funds("251.89", "251.89", rate="100.00"),
             total=None, grade=None)
    return replace(r, form="project")


def test_r2_blank_scores_are_one_finding():
    findings = audit(r2_form())
    # 251.89 / 238.93 = 105.4 % of 年初: raised, not cut; 产出 60 ≠ 50 is level1-weights (info, on the
    # national layout this test form uses; the 四川 layout declares no standard); the blank 完成值 of the
    # unfilled form are part of its one finding
    assert codes(findings) == ["scores-blank", "level1-weights", "level1-weights"]  # 效益 30 ≠ 30 + 10
    f = findings[0]
    check(f, "scores-blank", "indicators", None, None)
    assert "全部 2 项指标" in f.message and "执行率得分也未填报" in f.message and "2 项的完成值也空白" in f.message
    assert "None of the 2 indicators" in f.message_en and "execution score" in f.message_en


def test_some_blank_scores_stay_per_row():
    # two of three rows blank (the 90%以上 row scores 10.00 whatever is printed): per row, as before
    r = form(change={0: row("100个", "100个", 50, None),
                     2: row("90%以上", "95%", 10, None, level1="满意度指标", level2="服务对象满意度指标")})
    assert codes(audit(r)) == ["missing-score", "missing-score"]


# ---------------------------------------------------------------- 5. amounts in the goal text (R3)

R3_PLANNED = ("全镇村级补助及运转经费合计2,026,400元，其中：村干部报酬400,000元，村级组织运转经费252,000元，"
              "报刊订阅28,000元，村级公益事业960,000元，其他补助100,000元。")
R3_ACHIEVED = ("全年共计支出1,329,120.67元，其中：村干部报酬439,120.67元，村级组织运转经费152,000元，"
               "报刊订阅28,000元，村级公益事业660,000元，其他补助50,000元。")


def test_r3_goal_parts_that_do_not_add_up():
    # 400,000 + 252,000 = 652,000; + 28,000 = 680,000; + 960,000 = 1,640,000; + 100,000 = 1,740,000
    # ≠ 2,026,400.  Achieved: 439,120.67 + 152,000 = 591,120.67; + 28,000 = 619,120.67;
    # + 660,000 = 1,279,120.67; + 50,000 = 1,329,120.67 = the stated total: silent
    r = replace(form(), goals_planned=R3_PLANNED, goals_achieved=R3_ACHIEVED)
    findings = audit(r)
    assert codes(findings) == ["goal-amounts-sum"]
    check(findings[0], "goal-amounts-sum", "goals.planned", "2026400", "1740000")
    assert "5 项" in findings[0].message


def test_goal_amounts_in_wan_yuan():
    # 202.64 万元 = 2,026,400 元; 40 + 100 = 140 万元 = 1,400,000 元
    assert goal_sum("合计202.64万元，其中：A 40万元，B 162.64万元。").sum == D("2026400.00")  # adds up
    found = goal_sum("预算总额202.64万元，其中：A 40万元，B 100万元。")
    assert (found.total, found.sum) == (D("2026400.00"), D("1400000"))
    found = goal_sum("合计100万元，其中：A 60万元，B 50万元。")  # parts above the total: 110 万元
    assert (found.total, found.sum) == (D("1000000"), D("1100000"))
    findings = audit(replace(form(), goals_achieved="合计100万元，其中：A 60万元，B 50万元。"))
    check(one(findings, "goal-amounts-sum"), "goal-amounts-sum", "goals.achieved", "1000000", "1100000")


@pytest.mark.parametrize("text", [
    "拨付资金2,026,400元，其中：村干部报酬400,000元，运转经费252,000元。",       # no 合计/共计/总计/总额
    "经费合计2,026,400元，其中中央资金400,000元。",                               # one part is not a list
    "经费合计500,000元，其中：培训100,000元、宣传50,000元等。",                    # 等: the list is partial
    "补助合计120,000元，其中：每村20,000元，村级运转40,000元。",                   # per-unit amounts
    "补助合计120,000元，其中：6个村各10,000元，村级运转40,000元。",                # another number in the list
    "预算合计300万元，其中A 100万元、B 100万元；执行合计200万元，其中A 100万元、B 100万元。",  # two totals
    "预算合计300万元，其中A 100万元、B 100万元。执行合计200万元，其中A 100万元、B 100万元。",  # two sentences
    "合计100万元，其中：A约40万元，B约50万元。",                                   # approximate amounts
    "A 400,000元，B 252,000元，合计700,000元。",                                   # parts before the total
    "合计100元，其中：A 400，000元，B 20元。",                                     # a full-width thousands comma
    "合计100万元，其中：其余资金40万元，B 50万元。",                               # 其余: not a listed part
    "",
])
def test_goal_texts_that_must_not_trigger(text):
    assert goal_sum(text) is None
    assert "goal-amounts-sum" not in codes(audit(replace(form(), goals_planned=text, goals_achieved=text)))


def test_every_form_code_is_raised_here_in_both_languages():
    r = replace(cut_form("132.912", "132.912", "202.64"), goals_planned=R3_PLANNED, form="project")
    over = form(change={0: row("100个", "130个", 50, 50)})
    findings = audit(r) + audit(r4_form()) + audit(r2_form()) + audit(over, guangxi())
    assert set(FORM_CODES) <= set(codes(findings))
    for f in findings:
        assert f.file == SRC
        assert_messages(f)


def test_a_zero_rate_that_follows_a_zero_total_row_is_explained_by_it():
    """The 年度资金总额 row prints 0 / 0 and 执行率 0 % but a score of 5 (so it was not simply left
    unfilled): the 0 % follows the row as printed (0 of 0), a warning naming that basis, not an
    unexplained rate; the score 5 follows nothing and stays an error. Sources: A 100, B 95."""
    sources = (FundSource("本年财政拨款", D(100), D(95)),)
    report = form(sources=sources, reported_funds=funds(0, 0, rate=0, score=5), total="96.50")
    found = audit(report)
    rate = one(found, "rate-other-rule")
    assert rate.severity == WARNING and "年度资金总额行所填金额（0/0）" in rate.message
    assert "follows the amounts printed on the total row (0 of 0)" in rate.message_en and "95.00%" in rate.message_en
    assert "execution-score-mismatch" in codes(found) and "rate-mismatch" not in codes(found)
