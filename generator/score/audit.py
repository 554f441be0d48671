"""Compare what a department reported with what its own data gives, and say so plainly.

Every finding has a stable ``code`` (documented in docs/findings.md), a severity
(error: a reported number is wrong; warning: the form is incomplete or inconsistent;
info: worth a look), the record path and source line, both values and one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache

from ..read.profiles import Profile
from ..read.yamlsource import format_path
from .explain import explain_execution_score, explain_indicator_score, explain_rate
from .form_checks import FORM_CODES, audit_form
from .scoring import HUNDRED, SCORED_KINDS, ZERO, IndicatorResult, ScoredReport, possible_grades, round_to

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)

CODES = {
    "rate-mismatch": ERROR,
    "execution-score-mismatch": ERROR,
    "indicator-score-mismatch": ERROR,
    "rate-other-rule": WARNING,
    "execution-score-other-rule": WARNING,
    "indicator-score-other-rule": WARNING,
    "total-mismatch": ERROR,
    "total-follows-scores": INFO,
    "total-unconfirmed": INFO,
    "grade-mismatch": ERROR,
    "score-exceeds-weight": ERROR,
    "qualitative-out-of-band": ERROR,
    "sources-sum": ERROR,
    "unit-mismatch": ERROR,
    "weights-sum": WARNING,
    "execution-weight": WARNING,
    "missing-reason": WARNING,
    "missing-score": WARNING,
    "missing-value": WARNING,
    "unparseable-value": WARNING,
    "zero-budget": WARNING,
    "transfer-exceeds-executed": WARNING,
    "level1-weights": INFO,
    "over-execution": INFO,
    "over-achievement": INFO,
    "illegible": INFO,
    "untranscribed": INFO,
    "score-without-weight": WARNING,
    **FORM_CODES,  # checks of the whole form: score/form_checks.py
}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    path: str
    file: str
    line: int
    column: int
    reported: Decimal | str | None
    computed: Decimal | str | None
    message: str
    message_en: str = ""  # the same sentence for the English UI

    def as_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "path": self.path,
                "file": self.file, "line": self.line, "reported": self.reported,
                "computed": self.computed, "message": self.message}


class SlimFinding(Finding):
    """A finding reduced to its kind and severity, for the pages that count findings: one
    object per kind in a process (:func:`slim_finding`), also once the build cache is read
    back (it is stored as its kind), so 170,000 findings of 10,000 forms are a few dozen
    objects, counted by identity; sent from a worker process, it arrives as that object too."""

    __slots__ = ()

    def __reduce__(self):
        return slim_finding, (self.code, self.severity)


@cache
def slim_finding(code: str, severity: str) -> Finding:
    finding = SlimFinding(code, severity, "", "", 0, 0, None, None, "", "")
    SLIM_BY_ID[id(finding)] = finding
    return finding


# every slim finding by its id: they live as long as the process (cached above), so an id here
# is never another object's, and findings can be counted by id without a map of their own
SLIM_BY_ID: dict[int, Finding] = {}


def audit_report(scored: ScoredReport) -> ScoredReport:
    """The scored form with its findings attached, in form order."""
    findings: list[Finding] = []
    report = scored.report

    def add(code: str, path: tuple, message: str, reported=None, computed=None, en: str = "") -> None:
        where = report.where(path)
        findings.append(Finding(code, CODES[code], format_path(path), where.file, where.line,
                                where.column, reported, computed, message, en or message))

    _audit_untranscribed(scored, add)
    _audit_funds(scored, add)
    asks_measures = any(c.field == "measures" for c in report.layout.indicator_columns)
    for row in scored.indicators:
        _audit_indicator(row, scored.profile, add, scored.unknown_weight, report.missing("scores"), asks_measures)
    _audit_weightless(scored, add)
    _audit_weights(scored, add)
    audit_form(scored, findings, add)
    row_findings = sum(1 for f in findings if f.severity != INFO and (
        f.path.startswith(("indicators[", "funds.")) or f.code == "met-targets-docked"))
    _audit_total(scored, add, row_findings)
    return replace(scored, findings=tuple(findings))


PART_NAMES = {"funds": ("资金情况", "the funds"), "goals": ("年度总体目标", "the goals"),
              "indicators": ("部分指标行", "some indicator rows"), "scores": ("得分", "the scores"),
              "total": ("总分", "the total"), "other": ("部分内容", "part of the form")}


def _audit_untranscribed(scored: ScoredReport, add) -> None:
    """部分转录: say what the transcription left out, and that nothing was counted as zero for it."""
    for i, part in enumerate(scored.report.untranscribed):
        zh, en = PART_NAMES[part.part]
        why = f"（{part.note}）" if part.note else ""
        effect = ("，总分按其可能的最低和最高得分计为范围" if part.part == "indicators" and scored.unknown_weight
                  else "")
        add("untranscribed", ("untranscribed", i),
            f"部分转录：原表的{zh}没有转录{why}，相关数字按未知处理，不按 0 计{effect}。",
            en=f"Partly transcribed: {en} of the original form {'was' if part.part != 'scores' else 'were'} not "
               f"transcribed{f' ({part.note})' if part.note else ''}; what depends on it is unknown, not zero.")


def _audit_weightless(scored: ScoredReport, add) -> None:
    """Rows that print 得分 but no 分值: their printed scores enter the total; one warning per form."""
    rows = [r for r in scored.indicators if r.kind == "weightless"]
    if not rows:
        return
    scores = sum((r.score for r in rows), ZERO)
    add("score-without-weight", ("indicators", rows[0].indicator.index, "weight"),
        f"{len(rows)} 项指标印有得分、没有分值（合计 {_plain(scores)} 分）：得分按原表计入总分，无法按分值复核。",
        scores, None,
        en=f"{len(rows)} indicator(s) print a score but no weight ({_plain(scores)} points in all): the printed "
           "scores enter the total and cannot be checked against a weight.")


def _differs(reported: Decimal | None, computed: Decimal | None, profile: Profile) -> bool:
    return reported is not None and computed is not None and abs(reported - computed) > profile.tolerance


def total_row_left_at_zero(report, totals) -> bool:
    """The 年度资金总额 row prints 0 budget and 0 executed (rate and score 0 or blank) over sources
    that hold amounts (R3: 0 / 0 / 0 under 132.912): the row was left unfilled. One finding says
    so; the rate and score it prints follow from it and are not findings of their own."""
    printed = report.reported_funds
    return (bool(report.sources) and printed.budget == ZERO and printed.executed == ZERO
            and printed.rate in (None, ZERO) and printed.score in (None, ZERO)
            and bool(totals.budget or totals.executed))


def _audit_funds(scored: ScoredReport, add) -> None:
    report, profile, ex = scored.report, scored.profile, scored.execution
    totals, printed = ex.totals, report.reported_funds
    left_at_zero = total_row_left_at_zero(report, totals)
    if left_at_zero:
        add("sources-sum", ("funds", "reported", "budget"),
            f"{report.layout.total_row}行的金额、执行率和得分都填为 0，而其中各行合计全年预算数 {totals.budget}、"
            f"全年执行数 {totals.executed}：该行未按其中各行填写；执行率和得分按其中各行复核为 "
            f"{ex.rate}%、{ex.score}。", ZERO, totals.budget,
            en=f"The total row prints 0 for its amounts, rate and score while its sources hold a budget of "
               f"{totals.budget} and {totals.executed} executed: the row was left unfilled; the rate and score are "
               f"recomputed from the sources as {ex.rate}% and {ex.score}.")
    for name, label in (("budget", "全年预算数"), ("executed", "全年执行数"), ("transfer", "上级转移支付")):
        value, shown = getattr(totals, name), getattr(printed, name)
        if _differs(shown, value, profile) and not left_at_zero:
            add("sources-sum", ("funds", "reported", name),
                f"各资金来源的{label}合计为 {value}，与填报的年度资金总额 {shown} 不一致。", shown, value,
                en=f"The sources' {name} add up to {value}, not the reported total {shown}.")
    for i, source in enumerate(report.sources):
        if source.illegible:
            zh, en = _unknown(source.illegible, source.untranscribed)
            add("illegible", ("funds", "sources", i), f"资金来源“{source.name}”的{zh}。",
                en=f"Source “{source.name}”: {en}.")
    if printed.illegible:
        zh, en = _unknown(printed.illegible, printed.untranscribed)
        add("illegible", ("funds", "reported"), f"{report.layout.total_row}行的{zh}。", en=f"The total row: {en}.")
    if totals.budget is not None and totals.budget == ZERO:
        add("zero-budget", ("funds", "sources"), "全年预算数为 0，无法计算执行率，执行率得分按 0 计。",
            None, Decimal(0), en="The full-year budget is 0: no execution rate can be computed; its score is 0.")
    if totals.executed is not None and totals.transfer > totals.executed:
        add("transfer-exceeds-executed", ("funds", "sources"),
            f"上级转移支付 {totals.transfer} 大于全年执行数 {totals.executed}。", totals.transfer, totals.executed,
            en=f"Transfers {totals.transfer} exceed the amount executed {totals.executed}.")
    if ex.rate is not None and ex.rate > HUNDRED:
        add("over-execution", ("funds", "sources"),
            f"执行率 {ex.rate}% 超过 100%，执行数大于预算数，请核实是否有预算调整。", None, ex.rate,
            en=f"Execution rate {ex.rate}% is above 100%: more was spent than budgeted; check for adjustments.")
    basis = "(B−C)/A" if profile.rate_basis == "net_of_transfer" else "B/A"
    score_differs = _differs(ex.reported_score, ex.score, profile) and not left_at_zero
    if _differs(ex.reported_rate, ex.rate, profile) and not left_at_zero:
        variant = explain_rate(report, ex, profile)
        if variant is None:
            add("rate-mismatch", ("funds", "reported", "rate"),
                f"填报执行率 {ex.reported_rate}% 与按 {basis} 计算的 {ex.rate}% 不一致，已知的口径都得不出这个数。",
                ex.reported_rate, ex.rate,
                en=f"Reported execution rate {ex.reported_rate}% differs from {ex.rate}% computed as {basis}; "
                   "no known rule gives it.")
        else:
            both = ex.reported_score is not None and ex.reported_score == ex.score  # the score follows our rate
            gap = "" if variant.zh.endswith("）") else " "
            add("rate-other-rule", ("funds", "reported", "rate"),
                f"填报执行率 {ex.reported_rate}% 符合 {variant.zh}{gap}的口径；"
                + (f"得分 {ex.reported_score} 按 {basis} = {ex.rate}% 计算：两处口径不一致。" if both
                   else f"本表按“{profile.title}”以 {basis} 计算为 {ex.rate}%。"),
                ex.reported_rate, ex.rate,
                en=f"The reported rate {ex.reported_rate}% follows {variant.en}; "
                   + (f"the score {ex.reported_score} follows {basis} = {ex.rate}%: the form uses two rules."
                      if both else f"“{profile.title}” computes {basis} = {ex.rate}%."))
    if score_differs:
        variant = explain_execution_score(report, ex, profile)
        if variant is None:
            add("execution-score-mismatch", ("funds", "reported", "score"),
                f"填报执行率得分 {ex.reported_score} 与按“{profile.title}”计算的 {ex.score} 不一致，"
                "已知的计分口径都得不出这个数。", ex.reported_score, ex.score,
                en=f"Reported execution score {ex.reported_score} differs from {ex.score} under "
                   f"“{profile.title}”; no known rule gives it.")
        else:
            add("execution-score-other-rule", ("funds", "reported", "score"),
                f"填报执行率得分 {ex.reported_score} 可由{variant.zh}得出；按“{profile.title}”计算为 {ex.score}。",
                ex.reported_score, ex.score,
                en=f"The reported execution score {ex.reported_score} follows {variant.en}; "
                   f"“{profile.title}” gives {ex.score}.")
    if report.funds_weight is not None and report.funds_weight != profile.execution_weight:
        add("execution-weight", ("funds", "weight"),
            f"执行率分值 {report.funds_weight} 与评分规则的 {profile.execution_weight} 不同。",
            report.funds_weight, profile.execution_weight,
            en=f"Execution weight {report.funds_weight} differs from the profile's {profile.execution_weight}.")


def _audit_indicator(row: IndicatorResult, profile: Profile, add, unknown_weight: Decimal,
                     scores_untranscribed: bool = False, asks_measures: bool = True) -> None:
    ind = row.indicator
    base = ("indicators", ind.index)
    name = ind.name
    if ind.illegible:
        open_weight = "weight" in ind.illegible and unknown_weight > ZERO
        if open_weight:
            counted = (f"；分值合计 100 中尚余 {_plain(unknown_weight)} 分归无法辨认的分值，总分按其得 0 至 "
                       f"{_plain(unknown_weight)} 分计为范围")
            counted_en = (f"; the weights leave {_plain(unknown_weight)} of 100 for illegible weights, so the "
                          f"total is a range (0 to {_plain(unknown_weight)} points for them)")
        elif "weight" in ind.illegible:
            counted = "；其余分值已合计 100，该行未计入得分"
            counted_en = "; the other weights already make 100: not counted"
        else:
            counted, counted_en = "", ""
        zh, en = _unknown(ind.illegible, ind.untranscribed)
        add("illegible", base, f"“{name}”的{zh}{counted}。", en=f"“{name}”: {en}{counted_en}.")
    if row.kind in ("empty", "not_applicable", "illegible", "weightless"):
        return
    if ind.score is not None and ind.weight is not None and ind.score > ind.weight:
        add("score-exceeds-weight", base + ("score",),
            f"“{name}”得分 {ind.score} 超过分值 {ind.weight}。", ind.score, ind.weight,
            en=f"“{name}”: score {ind.score} is above its weight {ind.weight}.")
    if ind.score is None and "score" not in ind.illegible and not scores_untranscribed:
        add("missing-score", base + ("score",), f"“{name}”没有填报得分。", None, row.score,
            en=f"“{name}”: no score reported.")
    for cell in ("target", "actual"):
        if getattr(ind, cell) is None and cell not in ind.illegible:
            add("missing-value", base + (cell,), f"“{name}”没有填写{'目标值' if cell == 'target' else '完成值'}。",
                en=f"“{name}”: no {cell} given.")
    if row.unit_mismatch:
        add("unit-mismatch", base + ("actual",),
            f"“{name}”的目标值“{ind.target.text}”与完成值“{ind.actual.text}”单位不一致，无法计算。",
            ind.actual.text, ind.target.text,
            en=f"“{name}”: target “{ind.target.text}” and actual “{ind.actual.text}” are in different units.")
    if row.unparsed:
        cell = "target" if ind.target and ind.target.kind == "unparsed" else "actual"
        add("unparseable-value", base + (cell,),
            f"“{name}”的{'目标值' if cell == 'target' else '完成值'}含数字但无法解析为数量，按定性指标核对。",
            en=f"“{name}”: the {cell} has digits but is not a readable quantity; checked as qualitative.")
    elif row.mixed:
        add("unparseable-value", base + ("actual",),
            f"“{name}”的目标值与完成值一个是数量、一个是文字，无法计算，按定性指标核对。",
            en=f"“{name}”: one of target and actual is a quantity, the other text; checked as qualitative.")
    if row.kind == "quantity":
        _audit_quantity(row, profile, add, base, name)
    elif row.kind == "coefficient":
        if _differs(ind.score, row.computed, profile):
            add("indicator-score-mismatch", base + ("score",),
                f"“{name}”填报得分 {ind.score} 与 得分系数 {_plain(ind.coefficient)}% × 分值 {_plain(ind.weight)} = "
                f"{row.computed} 不一致。", ind.score, row.computed,
                en=f"“{name}”: reported score {ind.score} differs from coefficient {_plain(ind.coefficient)}% × "
                   f"weight {_plain(ind.weight)} = {row.computed}.")
    else:
        _audit_band(row, add, base, name)
    # a layout with one column for both (偏差原因分析及改进措施) asks only for that column
    if row.met is False and not (ind.reason and (ind.measures or not asks_measures)):
        missing = "未完成原因" if not ind.reason else "改进措施"
        add("missing-reason", base + ("reason" if not ind.reason else "measures",),
            f"“{name}”未达成目标，但没有填写{missing}。",
            en=f"“{name}”: target missed, but no {'reason' if not ind.reason else 'improvement measures'} given.")


def _audit_quantity(row: IndicatorResult, profile: Profile, add, base, name) -> None:
    ind = row.indicator
    if row.over_achieved and row.direction == "lower":
        # a ceiling far above the actual: the target was set too loose (actual/target, not target/actual)
        share = round_to(100 / row.ratio, 0, "half_up")
        add("over-achievement", base + ("target",),
            f"“{name}”完成值仅为目标上限的 {share}%，目标可能定得过宽。", None, None,
            en=f"“{name}”: the actual is only {share}% of the ceiling set as target; the target may have been "
               "set too loose.")
    elif row.over_achieved:
        ratio = round_to(row.ratio * 100, 0, "half_up")
        if row.score != row.computed:
            add("over-achievement", base + ("score",),
                f"“{name}”完成值达目标的 {ratio}%，评价人按偏离度扣分（{ind.score}，公式得 {row.computed}），"
                "已采用填报得分，请确认目标是否定得过低。", ind.score, row.computed,
                en=f"“{name}”: actual is {ratio}% of target; the evaluator cut the score for deviation "
                   f"({ind.score}, formula {row.computed}); the reported score is used. Was the target too low?")
        else:
            add("over-achievement", base + ("target",),
                f"“{name}”完成值达目标的 {ratio}%，目标可能定得过低，可按偏离度扣分。", None, None,
                en=f"“{name}”: actual is {ratio}% of target; the target may have been set too low.")
    elif _differs(ind.score, row.computed, profile):
        variant = explain_indicator_score(row, profile)
        if variant is None:
            add("indicator-score-mismatch", base + ("score",),
                f"“{name}”填报得分 {ind.score} 与按目标值和完成值计算的 {row.computed} 不一致。",
                ind.score, row.computed,
                en=f"“{name}”: reported score {ind.score} differs from {row.computed} computed from target and actual.")
        else:
            add("indicator-score-other-rule", base + ("score",),
                f"“{name}”填报得分 {ind.score} 可由{variant.zh}得出；按“{profile.title}”计算为 {row.computed}。",
                ind.score, row.computed,
                en=f"“{name}”: the reported score {ind.score} follows {variant.en}; “{profile.title}” gives "
                   f"{row.computed}.")


def _audit_band(row: IndicatorResult, add, base, name) -> None:
    ind = row.indicator
    low, high = row.band
    if ind.score is not None and not (low <= ind.score <= high):
        label = {"achieved": "达成", "partial": "部分达成", "missed": "未达成"}.get(row.achievement, "")
        add("qualitative-out-of-band", base + ("score",),
            f"“{name}”为定性指标{f'（{label}）' if label else ''}，得分应在 {_plain(low)}–{_plain(high)} 之间，"
            f"填报 {ind.score}。", ind.score, f"{_plain(low)}–{_plain(high)}",
            en=f"“{name}” is qualitative{f' ({row.achievement})' if row.achievement else ''}: its score should lie "
               f"within {_plain(low)}–{_plain(high)}; reported {ind.score}.")


def _audit_weights(scored: ScoredReport, add) -> None:
    rows = scored.indicators
    if not rows:
        return
    weights = [r.indicator.weight for r in rows if r.indicator.weight is not None]
    total = scored.execution.weight + sum(weights, ZERO)
    unknown = sum(1 for r in rows if r.kind == "illegible")
    left_out = scored.report.missing("indicators") or any(r.kind == "weightless" for r in rows)
    # illegible weights, rows left out and weightless rows may hold the rest of 100
    if total > HUNDRED or (total < HUNDRED and not unknown and not left_out):
        extra = f"（另有 {unknown} 项分值无法辨认）" if unknown else ""
        add("weights-sum", ("indicators",),
            f"执行率分值与各指标分值合计为 {_plain(total)}，不是 100{extra}。", total, HUNDRED,
            en=f"Execution and indicator weights add up to {_plain(total)}, not 100"
               f"{f' ({unknown} weight(s) illegible)' if unknown else ''}.")
    for level1, standard in standard_level1_weights(scored, rows).items():
        if left_out:
            break
        got = sum((r.indicator.weight or ZERO for r in rows if r.indicator.level1 == level1), ZERO)
        present = any(r.indicator.level1 == level1 for r in rows)
        open_weight = any(r.kind == "illegible" and r.indicator.level1 == level1 for r in rows)
        if open_weight and got <= standard <= got + scored.unknown_weight:
            continue  # the illegible weight may make up the difference
        if present and got != standard:
            add("level1-weights", ("indicators",),
                f"{level1}分值合计 {_plain(got)}，评分规则的标准权重为 {_plain(standard)}。", got, standard,
                en=f"{level1} weights add up to {_plain(got)}; the profile's standard is {_plain(standard)}.")


def standard_level1_weights(scored: ScoredReport, rows) -> dict[str, Decimal]:
    """The standard 一级 weights for this form: its layout's (none when the layout declares none),
    else the profile's; without a 满意度 indicator its weight goes to 效益, as the national rule says."""
    layout = scored.report.layout
    weights = dict(layout.level1_weights if layout.level1_weights is not None else scored.profile.level1_weights)
    present = {r.indicator.level1 for r in rows}
    if "满意度指标" in weights and "满意度指标" not in present and "效益指标" in weights:
        weights["效益指标"] += weights.pop("满意度指标")
    return weights


def _audit_total(scored: ScoredReport, add, row_findings: int) -> None:
    """The total: an error only when the reported one cannot be right whatever the unknown parts hold."""
    report, profile = scored.report, scored.profile
    reported, shown = report.reported_total, scored.total_shown
    if reported is not None and not scored.total_known:
        tolerance = profile.tolerance
        if scored.total - tolerance <= reported <= scored.total_high + tolerance:
            add("total-unconfirmed", ("reported", "total"),
                f"填报总分 {reported} 在可复核的范围 {shown} 之内；表中有无法辨认或未填的分值、得分，无法确认。",
                reported, str(shown),
                en=f"The reported total {reported} lies within the range {shown} that the legible parts allow; "
                   "illegible or blank weights or scores leave it unconfirmed.")
        else:
            add("total-mismatch", ("reported", "total"),
                f"填报总分 {reported} 不在可复核的范围 {shown} 之内（已计入无法辨认部分的最低和最高可能得分）。",
                reported, str(shown),
                en=f"The reported total {reported} lies outside {shown}, the range the legible parts allow "
                   "(illegible parts counted at their lowest and highest).")
    elif _differs(reported, scored.total, profile):
        if row_findings and not _differs(reported, _sum_of_reported(scored), profile):
            add("total-follows-scores", ("reported", "total"),
                f"填报总分 {reported} 等于表中各项填报得分之和；"
                f"与复核总分 {scored.total} 的差异来自上面已指出的得分差异。",
                reported, scored.total,
                en=f"The reported total {reported} is the sum of the reported scores; it differs from the "
                   f"recomputed {scored.total} only through the score differences listed above.")
        else:
            add("total-mismatch", ("reported", "total"),
                f"填报总分 {reported} 与重新计算的 {scored.total} 不一致。", reported, scored.total,
                en=f"Reported total {reported} differs from the recomputed {scored.total}.")
    possible = possible_grades(scored)
    if report.reported_grade and report.reported_grade not in possible:
        add("grade-mismatch", ("reported", "grade"),
            f"填报等级“{report.reported_grade}”与按总分 {shown} 评定的“{scored.grade}”不一致。",
            report.reported_grade, scored.grade,
            en=f"Reported grade “{report.reported_grade}” differs from “{scored.grade}” for the total {shown}.")


def _sum_of_reported(scored: ScoredReport) -> Decimal:
    """The total the form's own printed scores add up to (recomputed where it printed none)."""
    ex = scored.execution
    parts = [ex.reported_score if ex.reported_score is not None else ex.score]
    parts += [r.indicator.score if r.indicator.score is not None else r.score for r in scored.indicators
              if r.kind in SCORED_KINDS]
    return sum((p for p in parts if p is not None), ZERO)


CELL_NAMES = {
    "level3": "三级指标", "content": "目标内容", "target": "目标值", "actual": "完成值", "weight": "分值",
    "score": "得分", "reason": "未完成原因", "measures": "改进措施", "initial_budget": "年初预算数",
    "level2": "二级指标", "nature": "指标性质", "unit": "度量单位", "coefficient": "得分系数", "rate": "执行率",
    "budget": "全年预算数", "executed": "全年执行数", "transfer": "上级转移支付",
}


def _unknown(cells: tuple[str, ...], untranscribed: tuple[str, ...]) -> tuple[str, str]:
    """What is unknown about a row, in words: cells unreadable on the source, and cells the stored
    copy lacks (not transcribed; the original may well show them)."""
    unreadable = tuple(c for c in cells if c not in untranscribed)
    zh = [f"{_cells(unreadable)}在原表中无法辨认"] if unreadable else []
    en = [f"{', '.join(unreadable)} illegible on the original form"] if unreadable else []
    if untranscribed:
        zh.append(f"{_cells(untranscribed)}未转录（所存资料中没有）")
        en.append(f"{', '.join(untranscribed)} not transcribed (not in the stored copy)")
    return "，".join(zh), "; ".join(en)


def _cells(names: tuple[str, ...]) -> str:
    return "、".join(CELL_NAMES.get(n, n) for n in names)


def _plain(value: Decimal) -> str:
    """10.00 -> 10, 7.50 -> 7.5: for sentences, not for data."""
    return format(value.normalize(), "f")
