"""Open-data downloads: every form as JSON (the ``check`` contract), CSV and its source YAML.

CSV files are UTF-8 with a BOM so Excel shows Chinese correctly; numbers are written
from their exact Decimal text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ..score.scoring import ScoredReport
from .export import dumps, form_to_dict
from .sitemodel import YEAR_FOLDER, data_base, report_url

REPORT_COLUMNS = [
    "department", "department_name", "fictional", "year", "form", "budget", "executed", "transfer",
    "rate", "reported_rate", "execution_weight", "execution_score", "reported_execution_score",
    "total", "total_min", "total_max", "reported_total", "grade", "errors", "warnings", "infos", "profile", "url",
    "project_id", "project", "project_code", "authority", "implementer", "layout", "untranscribed",
]
INDICATOR_COLUMNS = [
    "department", "year", "path", "level1", "level2", "level3", "content", "target", "actual",
    "weight", "score", "computed_score", "reported_score", "kind", "direction", "achievement",
    "reason", "measures", "project_id", "nature", "unit", "coefficient", "core", "note", "illegible",
]


_FORMULA_START = frozenset(("=", "+", "-", "@", "\t", "\r"))


def _cell(value: object) -> str:
    kind = type(value)
    if kind is str:  # most cells: checked first, by exact type, as it is the hot path
        # a text cell starting like a formula would be run by spreadsheet programs
        return "'" + value if value[:1] in _FORMULA_START else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Decimal, int)):
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    text = str(value)
    return "'" + text if text[:1] in _FORMULA_START else text


def csv_lines(rows: list[list[object]]) -> str:
    """CSV text of some rows (CRLF line ends), to be joined under a header."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([map(_cell, row) for row in rows])
    return buffer.getvalue()


def csv_document(columns: list[str], fragments: list[bytes]) -> bytes:
    """A whole CSV file from UTF-8 row fragments: BOM (so Excel reads Chinese right), header, rows."""
    return ("\ufeff" + csv_lines([columns])).encode("utf-8") + b"".join(fragments)


def report_row(form: ScoredReport) -> list[object]:
    r, ex = form.report, form.execution
    severities = [f.severity for f in form.findings]
    return [r.department.slug, r.department.name, r.department.fictional, r.year, r.form,
            ex.totals.budget, ex.totals.executed, ex.totals.transfer, ex.rate, ex.reported_rate,
            ex.weight, ex.score if ex.score_high is None else None, ex.reported_score,
            form.total if form.total_known else None, form.total,
            form.total if form.total_known else form.total_high, r.reported_total, form.grade,
            severities.count("error"), severities.count("warning"), severities.count("info"),
            form.profile.name, report_url(r), r.project_id, r.project, r.project_code, r.authority,
            r.implementer, r.layout.name, "; ".join(u.part for u in r.untranscribed)]


def indicator_rows(form: ScoredReport) -> list[list[object]]:
    r = form.report
    return [[r.department.slug, r.year, row.indicator.path, row.indicator.level1, row.indicator.level2,
             row.indicator.level3, row.indicator.content,
             row.indicator.target.text if row.indicator.target else "",
             row.indicator.actual.text if row.indicator.actual else "",
             row.indicator.weight, row.score, row.computed, row.indicator.score, row.kind,
             row.direction, row.achievement, row.indicator.reason, row.indicator.measures,
             r.project_id, row.indicator.nature, row.indicator.unit, row.indicator.coefficient, row.indicator.core,
             row.indicator.note, " ".join(row.indicator.illegible)]
            for row in form.indicators]


@dataclass(frozen=True)
class FormOutputs:
    """Everything one form contributes to the downloads, made once: its three files and its
    pieces of the bulk files (compact JSON object, summary CSV row, indicator CSV rows)."""

    files: dict[str, bytes]
    json_fragment: bytes
    report_csv: bytes
    indicators_csv: bytes
    year: int = 0  # which year's bulk files the pieces also go to


def form_outputs(form: ScoredReport, source_bytes: bytes) -> FormOutputs:
    r = form.report
    base = data_base(r)
    fragment = dumps(form_to_dict(form), indent=None).encode("utf-8")
    indicators = csv_lines(indicator_rows(form)).encode("utf-8")
    files = {  # the checked form as JSON only in its year's bulk file: at scale it was a seventh of the site
        f"{base}.csv": csv_document(INDICATOR_COLUMNS, [indicators]),
        f"{base}.yaml": source_bytes,
    }
    return FormOutputs(files, fragment, csv_lines([report_row(form)]).encode("utf-8"), indicators, r.year)


# Frictionless Data types of the CSV columns (everything else is a string); numbers are exact
# decimal text, booleans "true"/"false", an empty cell is missing (never zero).
_INTEGERS = {"year", "errors", "warnings", "infos"}
_NUMBERS = {"budget", "executed", "transfer", "rate", "reported_rate", "execution_weight", "execution_score",
            "reported_execution_score", "total", "total_min", "total_max", "reported_total", "weight", "score",
            "computed_score", "reported_score", "coefficient"}
_BOOLEANS = {"fictional", "core"}
_TITLES = {
    "department": "部门标识", "department_name": "部门（单位）名称", "fictional": "虚构示例", "year": "年度",
    "form": "表的种类", "budget": "全年预算数", "executed": "全年执行数", "transfer": "上级财政转移支付",
    "rate": "复核执行率（%）", "reported_rate": "自评执行率（%）", "execution_weight": "执行率分值",
    "execution_score": "复核执行率得分", "reported_execution_score": "自评执行率得分",
    "total": "复核总分（为范围时空）", "total_min": "复核总分下限", "total_max": "复核总分上限",
    "reported_total": "自评总分",
    "grade": "复核等级", "errors": "错误数", "warnings": "警告数", "infos": "提示数", "profile": "评分规则",
    "url": "表页地址", "project_id": "项目标识", "project": "项目名称", "project_code": "项目编码",
    "authority": "主管部门", "implementer": "实施单位", "layout": "表样", "untranscribed": "未转录的部分",
    "path": "记录中的位置", "level1": "一级指标", "level2": "二级指标", "level3": "三级指标", "content": "目标内容",
    "target": "目标值", "actual": "完成值", "weight": "分值", "score": "复核得分", "computed_score": "公式得分",
    "reported_score": "自评得分", "kind": "计分方式", "direction": "指标方向", "achievement": "定性档次",
    "reason": "未完成原因", "measures": "改进措施", "nature": "指标性质", "unit": "度量单位",
    "coefficient": "得分系数（%）", "core": "是否核心指标", "note": "备注", "illegible": "无法辨认的栏目",
}


def _field(name: str) -> dict:
    kind = "integer" if name in _INTEGERS else "number" if name in _NUMBERS else \
        "boolean" if name in _BOOLEANS else "string"
    return {"name": name, "title": _TITLES.get(name, name), "type": kind}


def _resources(prefix: str, label: str) -> list[dict]:
    csv_dialect = {"delimiter": ",", "lineTerminator": "\r\n", "header": True}
    return [
        {"name": f"reports{label}", "path": f"{prefix}reports.csv", "profile": "tabular-data-resource",
         "format": "csv", "mediatype": "text/csv", "encoding": "utf-8-sig", "dialect": csv_dialect,
         "schema": {"fields": [_field(c) for c in REPORT_COLUMNS], "missingValues": [""]}},
        {"name": f"indicators{label}", "path": f"{prefix}indicators.csv", "profile": "tabular-data-resource",
         "format": "csv", "mediatype": "text/csv", "encoding": "utf-8-sig", "dialect": csv_dialect,
         "schema": {"fields": [_field(c) for c in INDICATOR_COLUMNS], "missingValues": [""]}},
        {"name": f"reports-json{label}", "path": f"{prefix}reports.json", "profile": "data-resource",
         "format": "json", "mediatype": "application/json", "encoding": "utf-8"},
    ]


def datapackage(title: str, years: Iterable[int], all_years: bool = False) -> bytes:
    """A Frictionless Data Package describing the bulk files: every year together (when made),
    then each year."""
    resources = _resources("", "") if all_years else []
    for year in sorted(set(years)):
        resources += _resources(f"{YEAR_FOLDER}/{year}/", f"-{year}")
    package = {"profile": "tabular-data-package", "name": "perfsite-performance-self-evaluations",
               "title": title, "resources": resources}
    return (dumps(package) + "\n").encode("utf-8")

