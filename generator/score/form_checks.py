"""Checks that need the whole form, found on real published forms (docs/real-examples R1–R4).

Each one reports a pattern once per form instead of once per row (one root cause, one
finding), or reads what no single row holds: the 年初 budget behind a mid-year cut, the
amounts in the goal text. :func:`audit_form` runs after the row checks and may replace
their per-row findings by the form's one; it never accuses where a legitimate reading exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from ..read.model import Report
from ..read.yamlsource import format_path
from .explain import explain_indicator_score
from .scoring import ZERO, ScoredReport, round_to

# A full-year rate at or above this that is below it on the 年初 budget: the cut made the rate.
# 90 % is the line below which the national and 四川 (R2) forms require an explanation.
CUT_RATE_LINE = Decimal(90)

FORM_CODES = {
    "budget-cut": "info",
    "met-targets-docked": "warning",
    "scores-blank": "warning",
    "missing-deviation-reason": "warning",
    "unexplained-over-achievement": "warning",
    "goal-amounts-sum": "warning",
}


def audit_form(scored: ScoredReport, findings: list, add) -> None:
    """Add the form-level findings; fold per-row findings a form-level one explains."""
    _budget_cut(scored, add)
    docked = docked_met_rows(scored)
    if docked:
        _fold(findings, "indicator-score-mismatch", {i for i, _ in docked},
              lambda: _met_targets_docked(scored, docked, add))
    blank = _blank_rows(scored)
    if len(blank) >= 2 and len(blank) == len(_scored_rows(scored)):
        # published unfilled: blank 完成值 of the same rows are part of it, not findings of their own
        actuals = {i for i in blank if scored.report.indicators[i].actual is None
                   and "actual" not in scored.report.indicators[i].illegible}
        _fold(findings, "missing-value", actuals, lambda: None, cell="actual")
        _fold(findings, "missing-score", set(blank), lambda: _scores_blank(scored, blank, add, len(actuals)))
    _deviation_reasons(scored, {i for i, _ in docked}, add)
    for key, label, en in (("planned", "预期目标", "planned goals"), ("achieved", "实际完成情况", "achieved goals")):
        _goal_amounts(scored.report, key, label, en, add)


def _fold(findings: list, code: str, rows: set[int], make, cell: str = "score") -> None:
    """Replace the per-row ``code`` findings of ``rows`` (at their ``cell``) by the one finding
    ``make`` appends (if it appends one), where the first of them stood."""
    paths = {format_path(("indicators", i, cell)) for i in rows}
    at = next((k for k, f in enumerate(findings) if f.code == code and f.path in paths), len(findings))
    findings[:] = [f for f in findings if not (f.code == code and f.path in paths)]
    before = len(findings)
    make()  # appends one finding, or none
    if len(findings) > before:
        findings.insert(at, findings.pop())


def _scored_rows(scored: ScoredReport) -> list:
    return [r for r in scored.indicators if r.kind in ("quantity", "qualitative")]


# ---------------------------------------------------------------- 1. a mid-year budget cut

def initial_budget(report: Report) -> Decimal | None:
    """年初预算数: the printed total, else the sum of the sources when every source gives one."""
    if report.reported_funds.initial_budget:
        return report.reported_funds.initial_budget
    values = [s.initial_budget for s in report.sources]
    if values and all(v is not None for v in values):
        return sum(values, ZERO)
    return None


def _budget_cut(scored: ScoredReport, add) -> None:
    totals, profile = scored.execution.totals, scored.profile
    initial = initial_budget(scored.report)
    if not initial or not totals.budget or totals.executed is None:
        return
    places, mode = profile.places, profile.rounding_mode
    full = round_to(Fraction(totals.executed) * 100 / Fraction(totals.budget), places, mode)
    first = round_to(Fraction(totals.executed) * 100 / Fraction(initial), places, mode)
    if full >= CUT_RATE_LINE > first:
        add("budget-cut", ("funds", "sources"),
            f"全年预算数 {totals.budget} 较年初预算数 {initial} 调减：全年执行数 {totals.executed} 占全年预算数的 "
            f"{full}%，占年初预算数的 {first}%。", full, first,
            en=f"The full-year budget {totals.budget} is below the initial budget {initial}: the {totals.executed} "
               f"executed is {full}% of the full-year budget and {first}% of the initial one.")


# ---------------------------------------------------------------- 2. met targets docked

def docked_met_rows(scored: ScoredReport) -> list[tuple[int, Fraction]]:
    """Rows that met their target yet print less than their weight, by a share two or more rows share.

    A met quantity row earns its full weight; when several are docked by the same share the form
    applied a house rule (R4: 10 → 9, 20 → 19, 20 → 19, 30 → 27): one finding for the form. A lone
    share is not a pattern, and keeps its own ``indicator-score-mismatch``; over-achieved rows are
    cut 按偏离度 and reported as ``over-achievement``."""
    tolerance = scored.profile.tolerance
    found = []
    for r in scored.indicators:
        ind = r.indicator
        if (r.kind == "quantity" and r.met and not r.over_achieved and ind.score is not None and ind.weight
                and ind.score >= ZERO and r.computed - ind.score > tolerance
                and explain_indicator_score(r, scored.profile) is None):  # a rounding variant is no docking
            found.append((ind.index, Fraction(ind.score) / Fraction(ind.weight)))
    shares = [share for _, share in found]
    return [(i, share) for i, share in found if shares.count(share) >= 2]


def _met_targets_docked(scored: ScoredReport, docked: list[tuple[int, Fraction]], add) -> None:
    rows = {r.indicator.index: r.indicator for r in scored.indicators}
    printed = sum((rows[i].score for i, _ in docked), ZERO)
    weights = sum((rows[i].weight for i, _ in docked), ZERO)
    shares = "、".join(f"{_percent(s)}%" for s in sorted(set(s for _, s in docked), reverse=True))
    add("met-targets-docked", ("indicators",),
        f"{len(docked)} 项已达成目标的指标未得满分：得分合计 {printed}，分值合计 {weights}"
        f"（得分为分值的 {shares}）。按全国规则，达成目标应得满分。", printed, weights,
        en=f"{len(docked)} indicators that met their targets scored below their weights: {printed} of "
           f"{weights} in all ({shares.replace('、', ', ')} of the weight). Under the national rule a met "
           "target earns its full weight.")


def _percent(share: Fraction) -> str:
    return format(round_to(share * 100, 2, "half_up").normalize(), "f")


# ---------------------------------------------------------------- 4. a form published without scores

def _blank_rows(scored: ScoredReport) -> list[int]:
    if scored.report.missing("scores"):  # not transcribed is not blank
        return []
    return [r.indicator.index for r in _scored_rows(scored)
            if r.indicator.score is None and "score" not in r.indicator.illegible]


def _scores_blank(scored: ScoredReport, blank: list[int], add, blank_actuals: int = 0) -> None:
    execution = "，执行率得分也未填报" if scored.execution.reported_score is None else ""
    execution_en = ", nor has the execution score" if execution else ""
    actuals = f"，其中 {blank_actuals} 项的完成值也空白" if blank_actuals else ""
    actuals_en = f"; {blank_actuals} of them have no actual either" if blank_actuals else ""
    add("scores-blank", ("indicators",),
        f"全部 {len(blank)} 项指标都没有填报得分{execution}{actuals}：此表公开时未评分。",
        en=f"None of the {len(blank)} indicators has a reported score{execution_en}{actuals_en}: the form was "
           "published without scores.")


# ---------------------------------------------------------------- 3. unexplained deviations

def _deviation_reasons(scored: ScoredReport, folded: set[int], add) -> None:
    """The national project form asks a reason (偏差原因分析) for every score below its weight; a
    profile may also ask one for an actual far above its target (广西: 130 %)."""
    project = scored.report.form == "project"
    limit = scored.profile.explain_over_achievement_ratio
    for r in _scored_rows(scored):
        ind = r.indicator
        name = ind.name
        if ind.reason or "reason" in ind.illegible or r.met is False:  # a missed target: ``missing-reason``
            continue
        base = ("indicators", ind.index, "reason")
        if (project and ind.index not in folded and ind.score is not None and ind.weight is not None
                and ind.weight - ind.score > scored.profile.tolerance):
            add("missing-deviation-reason", base,
                f"“{name}”得分 {ind.score} 低于分值 {ind.weight}，但没有填写偏差原因。", ind.score, ind.weight,
                en=f"“{name}”: score {ind.score} is below its weight {ind.weight}, but no reason is given.")
        elif (limit is not None and r.kind == "quantity" and r.direction == "higher" and r.ratio is not None
              and r.ratio >= Fraction(limit)):
            ratio = round_to(r.ratio * 100, 0, "half_up")
            add("unexplained-over-achievement", base,
                f"“{name}”完成值达目标的 {ratio}%（不低于 {_percent(Fraction(limit))}% 需说明），但没有填写原因。",
                ratio, None,
                en=f"“{name}”: actual is {ratio}% of target (an explanation is required from "
                   f"{_percent(Fraction(limit))}%), but no reason is given.")


# ---------------------------------------------------------------- 5. amounts in the goal text

_NUMBER = r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?"
_AMOUNT = re.compile(_NUMBER + r"\s*(万元|元)")
_TOTAL = re.compile(r"(?:合计|共计|总计|总额)[^\d，,。；;、]{0,4}?\s*" + _NUMBER + r"\s*(万元|元)")  # 共计支出 X 元
_PARTS_START = re.compile(r"其中[:：，,]?")
# words that make a listed amount something other than a plain part of the total
_NOT_PARTS = re.compile(r"每|×|\*|/|%|％|约|余元|多元|以上|以内|左右|不超过|不少于|等|其余|剩余|另|"
                        r"累计|合计|共计|总计|总额")


@dataclass(frozen=True)
class GoalSum:
    total: Decimal    # in 元
    parts: tuple[Decimal, ...]

    @property
    def sum(self) -> Decimal:
        return sum(self.parts, ZERO)


def goal_sum(text: str) -> GoalSum | None:
    """A total the text states (合计/共计/总计/总额 + amount) and the parts it then lists after 其中,
    within the same sentence; None unless that reading is unambiguous (one total in the text, two or
    more parts, no other number, nothing approximate, per-unit or partial). Amounts in 元 (万元 × 10000)."""
    sentences = [s for s in re.split(r"[。！？]", text) if s.strip()]  # a list may run over ；and lines
    found = None
    for sentence in sentences:
        totals = list(_TOTAL.finditer(sentence))
        if not totals:
            continue
        if len(totals) > 1 or found is not None:
            return None  # more than one total: which parts belong to which is a guess
        total = totals[0]
        start = _PARTS_START.search(sentence, total.end())
        if start is None:
            continue
        listed = sentence[start.end():]
        amounts = list(_AMOUNT.finditer(listed))
        if len(amounts) < 2 or _NOT_PARTS.search(listed) or re.search(r"\d", _AMOUNT.sub("", listed)):
            continue  # a number that is not a listed amount (3个村, 1., 400，000元): not a plain list
        found = GoalSum(_yuan(total.group(1), total.group(2), total.group(3)),
                        tuple(_yuan(m.group(1), m.group(2), m.group(3)) for m in amounts))
    return found


def _yuan(whole: str, fraction: str | None, unit: str) -> Decimal:
    value = Decimal(whole.replace(",", "") + (f".{fraction}" if fraction else ""))
    return value * 10000 if unit == "万元" else value


def _goal_amounts(report: Report, key: str, label: str, en: str, add) -> None:
    text = report.goals_planned if key == "planned" else report.goals_achieved
    found = goal_sum(text or "")
    if found is None or found.sum == found.total:
        return
    total, parts = _plain(found.total), _plain(found.sum)  # strings: the sentence's own numbers
    add("goal-amounts-sum", ("goals", key),
        f"{label}写明合计 {total} 元，其后所列 {len(found.parts)} 项金额之和为 {parts} 元，两者不一致。",
        total, parts,
        en=f"The {en} state a total of {total} yuan, but the {len(found.parts)} amounts listed after it add "
           f"up to {parts} yuan.")


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
