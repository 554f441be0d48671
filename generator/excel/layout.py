"""Where everything sits on the Excel form sheet: labels, cells, table columns, drop-down choices.

Writing (:mod:`generator.excel.write`) and reading (:mod:`generator.excel.read`) share these
tables, so a label or a column is named once and the two directions cannot drift apart.

A sheet is laid out for one form layout (:mod:`generator.read.layouts`): the funds and
indicator columns, their headers and the 一级/二级 drop-down lists come from the layout's data;
this module only adds perfsite's own columns and the header block. Layout of the sheet
``自评表`` (a workbook may hold several form sheets whose names start with 自评表, e.g.
``自评表2022``; the sheet ``说明`` explains how to fill it in):

* Row 1: the title. Rows 2-6 (a department form) or 2-7 (a project form): the header block,
  labels and values at fixed cells::

      A2 部门(单位)名称  B2:E2     F2 年度            G2   H2 金额单位  I2:J2
      A3 部门标识(slug)  B3:E3     F3 所属独立核算单位个数 G3   H3 表的种类  I3:J3
      A4 所属地区        B4:E4     F4 部门编码        G4   H4 虚构示例  I4:J4
      A5 项目名称        B5:E5     F5 公开日期        G5   H5 表样      I5:J5
      A6 部门备注        B6:E6     F6 评分规则        G6   H6 项目标识  I6:J6   (项目标识: project forms)
      A7 主管部门        B7:E7     F7 项目编码        G7   H7 实施单位  I7:J7   (project forms)

  表的种类 is 部门整体支出 or 项目支出 (``form``), 表样 a shipped layout name (``layout``),
  评分规则 a shipped profile name (``profile``). 项目标识 names a project form's file:
  ``<year>-<项目标识>.yaml`` (lowercase letters, digits, hyphens).
* The funds table: a header row whose column A reads 资金来源, then the layout's funds columns
  with the layout's words (a rate column says (%)), then any standard column the layout does
  not print that the record uses (a department sheet always offers 年初预算数). One row per
  source and the total row (the layout's 年度资金总额): last on a department form, first on a
  project form, whose first source then reads 其中：<name> as the official form prints it.
* Labels in column A with their text in B:J: 部门职能概述 (department forms), 年初设定目标,
  目标完成情况.
* The indicator table: a header row whose column A reads 一级指标, then the layout's columns with
  its words, any standard column the layout does not print that a row uses, and perfsite's own
  columns 指标方向 | 定性评价 | 是否适用 | 备注 | 基数; one row per indicator, ended by the row
  总分 (the reported total under 得分, 等级 and the grade to its right).
* Labels in column A with their text in B:J: 来源, 转录说明; then the table 未转录的部分 | 说明
  (parts of the source not transcribed, one per row).

A cell reading 【无法辨认】 is an illegible cell (``illegible`` in the record), one reading 【未转录】
a cell the stored copy lacks (``untranscribed``). No cell holds
a formula: every number is what the department reports, and perfsite recomputes and audits it.
Reading finds every label and column by its text (any shipped layout's words are known), so
rows may be inserted and a workbook made for one layout still reads under another.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ..read.layouts import Layout, Rules
from ..read.schema import REPORT_SCHEMA

SHEET = "自评表"
HELP_SHEET = "说明"
TITLE = {"department": "部门整体支出绩效自评表", "project": "项目支出绩效自评表"}
ILLEGIBLE = "【无法辨认】"
ILLEGIBLE_MARKS = {ILLEGIBLE, "无法辨认", "[无法辨认]"}  # also read as illegible
UNTRANSCRIBED = "【未转录】"  # a cell the stored copy lacks (``untranscribed`` in the record)
UNTRANSCRIBED_MARKS = {UNTRANSCRIBED, "未转录", "[未转录]"}

FORM_LABEL = "表的种类"  # workbooks made before layouts wrote the form kind under 表样, read as such
#: header block: key, label, row, label column, last column of the value, record, kind
HEADER_FIELDS = [
    ("name", "部门(单位)名称", 2, 1, 5, "department", "text"),
    ("year", "年度", 2, 6, 7, "report", "integer"),
    ("money_unit", "金额单位", 2, 8, 10, "report", "text"),
    ("slug", "部门标识(slug)", 3, 1, 5, "slug", "text"),
    ("units", "所属独立核算单位个数", 3, 6, 7, "report", "integer"),
    ("form", FORM_LABEL, 3, 8, 10, "report", "choice"),
    ("region", "所属地区", 4, 1, 5, "department", "text"),
    ("code", "部门编码", 4, 6, 7, "department", "text"),
    ("fictional", "虚构示例", 4, 8, 10, "department", "choice"),
    ("project", "项目名称", 5, 1, 5, "report", "text"),
    ("published", "公开日期", 5, 6, 7, "report", "date"),
    ("layout", "表样", 5, 8, 10, "report", "text"),
    ("note", "部门备注", 6, 1, 5, "department", "text"),
    ("profile", "评分规则", 6, 6, 7, "report", "text"),
]
#: the header cells a project form adds
PROJECT_HEADER_FIELDS = [
    ("project_id", "项目标识", 6, 8, 10, "project_id", "text"),
    ("authority", "主管部门", 7, 1, 5, "report", "text"),
    ("project_code", "项目编码", 7, 6, 7, "report", "text"),
    ("implementer", "实施单位", 7, 8, 10, "report", "text"),
]
PROJECT_FIELDS = ("project_code", "authority", "implementer")  # a sheet showing any of them has the project block


def header_fields(project_block: bool) -> list[tuple]:
    """The header block of a department sheet, or of a project sheet (two more cells, one more row)."""
    return HEADER_FIELDS + (PROJECT_HEADER_FIELDS if project_block else [])


FUNDS_ANCHOR, FUNDS_TOTAL = "资金来源", "年度资金总额"
AMONG = "其中："  # the first source under a total row printed first: 其中：当年财政拨款
AMONG_PREFIX = re.compile(r"其中\s*[：:]\s*")

#: every funds column the sheet can show, in the standard order: key → (header, kind)
FUND_FIELDS = {
    "name": ("资金来源", "text"),
    "initial_budget": ("年初预算数", "money"),
    "budget": ("全年预算数(A)", "money"),
    "executed": ("全年执行数(B)", "money"),
    "transfer": ("上级财政转移支付(C)", "money"),
    "weight": ("分值", "weight"),
    "rate": ("执行率(%)", "rate"),
    "score": ("得分", "score"),
}
TOTAL_ONLY_FUND_FIELDS = ("weight",)  # printed on the total row only (funds.weight)
DEPARTMENT_FUND_FIELDS = ("initial_budget",)  # a department sheet always offers these

NARRATIVES = [(("functions",), "部门职能概述"), (("goals", "planned"), "年初设定目标"),
              (("goals", "achieved"), "目标完成情况")]
INDICATORS_ANCHOR, TOTAL_LABEL, GRADE_LABEL = "一级指标", "总分", "等级"
#: every indicator column the sheet can show, in the standard order: key → (header, kind, width)
INDICATOR_FIELDS = {
    "level1": ("一级指标", "text", 16),
    "level2": ("二级指标", "text", 14),
    "level3": ("三级指标", "text", 16),
    "content": ("目标内容", "text", 26),
    "nature": ("指标性质", "text", 10),
    "target": ("目标值", "value", 16),
    "unit": ("度量单位", "text", 10),
    "actual": ("完成值", "value", 16),
    "weight": ("分值", "weight", 12),
    "coefficient": ("得分系数(%)", "rate", 12),
    "score": ("得分", "score", 12),
    "core": ("是否核心指标", "choice", 10),
    "reason": ("未完成原因", "text", 24),
    "measures": ("改进措施", "text", 24),
    "direction": ("指标方向", "choice", 12),
    "assessment": ("定性评价", "choice", 12),
    "applicable": ("是否适用", "choice", 10),
    "note": ("备注", "text", 20),
    "base": ("基数", "value", 14),
}
#: perfsite's own columns, after the form's (unless the layout prints them itself)
OWN_INDICATOR_FIELDS = ("direction", "assessment", "applicable", "note", "base")
TRAILERS = [(("source",), "来源"), (("notes",), "转录说明"), (("source_url",), "原始文件网址")]
UNTRANSCRIBED_LABEL, UNTRANSCRIBED_NOTE = "未转录的部分", "说明"
LAST_COLUMN = 10  # J: narratives and notes span B:J

#: drop-down choices shown in Chinese, stored as the record's codes
CHOICES: dict[str, dict[str, object]] = {
    "form": {"部门整体支出": "department", "项目支出": "project"},
    "fictional": {"是": True, "否": False},
    "direction": {"越高越好": "higher", "越低越好": "lower"},
    "assessment": {"达成": "achieved", "部分达成": "partial", "未达成": "missed"},
    "applicable": {"是": True, "否": False},
    "core": {"是": True, "否": False},
    "part": {"资金情况": "funds", "年度总体目标": "goals", "绩效指标": "indicators", "得分": "scores",
             "总分": "total", "其他": "other"},
}
GRADES = REPORT_SCHEMA["properties"]["reported"]["properties"]["grade"]["enum"]
NATURES = REPORT_SCHEMA["properties"]["indicators"]["items"]["properties"]["nature"]["enum"]
LIST_LIMIT = 255  # Excel refuses a drop-down list written out longer than this

#: number formats of the blank template, by kind
TEMPLATE_FORMATS = {"money": "#,##0.00", "rate": "0.00", "score": "0.00", "weight": "General",
                    "integer": "0", "text": "@", "value": "@", "date": "@", "choice": "General"}
#: 一级 blocks the template does not pre-fill: the 成本指标 block (财预〔2021〕) is printed only when used
OPTIONAL_LEVEL1 = ("成本指标",)


@dataclass(frozen=True)
class SheetColumn:
    key: str
    header: str
    kind: str
    width: int = 12


def norm_label(text: str) -> str:
    """Labels compare without spaces and with full-width brackets as ASCII: 执行率（%） = 执行率(%)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def sheet_header(key: str, header: str) -> str:
    """A layout's word as the sheet prints it: brackets as ASCII, a rate column saying (%)."""
    text = unicodedata.normalize("NFKC", header)
    return text + "(%)" if key == "rate" and "%" not in text else text


def _merged(base: list[str], wanted: list[str], order: list[str]) -> list[str]:
    """``base`` with every field of ``wanted`` it lacks inserted at its standard place: before
    the first field of ``base`` that follows it in ``order`` (else at the end)."""
    out = list(base)
    for field in order:
        if field not in wanted or field in out:
            continue
        after = order[order.index(field) + 1:]
        at = next((i for i, f in enumerate(out) if f in after), len(out))
        out.insert(at, field)
    return out


def fund_columns(layout: Layout, used: set[str] = frozenset()) -> list[SheetColumn]:
    """The funds table of a sheet for ``layout`` whose record uses the funds fields ``used``."""
    order = [key for key in FUND_FIELDS if key != "name"]
    base = [c.field for c in layout.fund_columns]
    wanted = set(used) | (set(DEPARTMENT_FUND_FIELDS) if layout.form == "department" else set())
    words = {c.field: c.header for c in layout.fund_columns}
    columns = [SheetColumn("name", FUND_FIELDS["name"][0], "text")]
    for key in _merged(base, [k for k in order if k in wanted], order):
        header = sheet_header(key, words[key]) if key in words else FUND_FIELDS[key][0]
        columns.append(SheetColumn(key, header, FUND_FIELDS[key][1]))
    return columns


def indicator_columns(layout: Layout, used: set[str] = frozenset()) -> list[SheetColumn]:
    """The indicator table of a sheet for ``layout`` whose rows use the fields ``used``."""
    order = [key for key in INDICATOR_FIELDS if key not in OWN_INDICATOR_FIELDS or key == "note"]
    base = [c.field for c in layout.indicator_columns]
    words = {c.field: c.header for c in layout.indicator_columns}
    needed = [key for key in order if key in used or key in ("level1", "level2", "score")]
    keys = _merged(base, [k for k in needed if k not in OWN_INDICATOR_FIELDS], order)
    keys += [key for key in OWN_INDICATOR_FIELDS if key not in keys]
    columns = []
    for key in keys:
        header, kind, width = INDICATOR_FIELDS[key]
        columns.append(SheetColumn(key, sheet_header(key, words[key]) if key in words else header, kind, width))
    return columns


def header_map(table: dict, rules: Rules, layout: Layout | None, funds: bool) -> dict[str, str]:
    """Every header text a column of the table may carry → its key: perfsite's words, every
    shipped layout's words (as printed and as the sheet prints them), ``layout``'s winning."""
    by_text = {norm_label(header): key for key, (header, *_) in table.items()}
    ordered = sorted(rules.layouts.values(), key=lambda x: (x is layout, x.name))
    for each in ordered:
        for column in each.fund_columns if funds else each.indicator_columns:
            if column.field in table:
                by_text[norm_label(column.header)] = column.field
                by_text[norm_label(sheet_header(column.field, column.header))] = column.field
    return by_text


def total_labels(rules: Rules) -> set[str]:
    return {norm_label(FUNDS_TOTAL)} | {norm_label(x.total_row) for x in rules.layouts.values()}


def level_lists(layout: Layout) -> tuple[list[str], list[str] | None]:
    """The 一级 drop-down list and the 二级 one (None when the layout leaves 二级 names open)."""
    level1 = list(layout.levels)
    if not all(layout.levels.values()):
        return level1, None
    level2 = list(dict.fromkeys(name for names in layout.levels.values() for name in names))
    return level1, level2


def template_rows(layout: Layout) -> list[dict]:
    """The official form prints every 二级 row; the template lists them once each (a layout that
    leaves 二级 names open: one row per 一级 block, its 二级 to be filled in)."""
    rows = []
    for level1, names in layout.levels.items():
        if level1 in OPTIONAL_LEVEL1 and any(level1 in other for other in layout.levels.values()):
            continue
        rows += [{"level1": level1, "level2": name} for name in names] or [{"level1": level1}]
    return rows


def strip_among(name: str) -> str:
    """A source name without the 其中： the sheet prints before the first source under the total."""
    match = AMONG_PREFIX.match(name)
    return name[match.end():] if match else name
