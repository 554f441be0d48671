"""Where everything sits on the Excel form sheet: labels, cells, table columns, drop-down choices.

Writing (:mod:`generator.excel.write`) and reading (:mod:`generator.excel.read`) share these
tables, so a label or a column is named once and the two directions cannot drift apart.

Departments fill 部门整体支出绩效自评表 in Excel. Layout of the sheet ``自评表`` (a workbook
may hold several form sheets whose names start with 自评表, e.g. ``自评表2022``; the sheet
``说明`` explains how to fill it in):

* Row 1: the title. Rows 2-6: the header block, labels and values at fixed cells::

      A2 部门(单位)名称  B2:E2     F2 年度            G2   H2 金额单位  I2:J2
      A3 部门标识(slug)  B3:E3     F3 所属独立核算单位个数 G3   H3 表样      I3:J3
      A4 所属地区        B4:E4     F4 部门编码        G4   H4 虚构示例  I4:J4
      A5 项目名称        B5:E5     F5 公开日期        G5
      A6 部门备注        B6:J6

* The funds table: a header row whose column A reads 资金来源 (row 8 in the template),
  columns 资金来源 | 年初预算数 | 全年预算数(A) | 全年执行数(B) | 上级财政转移支付(C) |
  分值 | 执行率(%) | 得分; one row per source, then the row 年度资金总额 with the totals as
  reported, the execution weight (分值), the reported rate and score.
* Labels in column A with their text in B:J: 部门职能概述, 年初设定目标, 目标完成情况.
* The indicator table: a header row whose column A reads 一级指标, columns 一级指标 |
  二级指标 | 三级指标 | 目标内容 | 目标值 | 完成值 | 分值 | 得分 | 未完成原因 | 改进措施 |
  指标方向 | 定性评价 | 是否适用 | 备注; one row per indicator, ended by the row 总分 (the
  reported total under 得分, 等级 and the grade to its right).
* Labels in column A with their text in B:J: 来源, 转录说明.

A cell reading 【无法辨认】 is an illegible cell (``illegible`` in the record). No cell holds
a formula: every number is what the department reports, and perfsite recomputes and audits it.
"""

from __future__ import annotations

import re
import unicodedata

from ..read.schema import LEVEL2_BY_LEVEL1, REPORT_SCHEMA

SHEET = "自评表"
HELP_SHEET = "说明"
TITLE = {"department": "部门整体支出绩效自评表", "project": "项目支出绩效自评表"}
ILLEGIBLE = "【无法辨认】"
ILLEGIBLE_MARKS = {ILLEGIBLE, "无法辨认", "[无法辨认]"}  # also read as illegible

#: header block: key, label, row, label column, last column of the value, record, kind
HEADER_FIELDS = [
    ("name", "部门(单位)名称", 2, 1, 5, "department", "text"),
    ("year", "年度", 2, 6, 7, "report", "integer"),
    ("money_unit", "金额单位", 2, 8, 10, "report", "text"),
    ("slug", "部门标识(slug)", 3, 1, 5, "slug", "text"),
    ("units", "所属独立核算单位个数", 3, 6, 7, "report", "integer"),
    ("form", "表样", 3, 8, 10, "report", "choice"),
    ("region", "所属地区", 4, 1, 5, "department", "text"),
    ("code", "部门编码", 4, 6, 7, "department", "text"),
    ("fictional", "虚构示例", 4, 8, 10, "department", "choice"),
    ("project", "项目名称", 5, 1, 5, "report", "text"),
    ("published", "公开日期", 5, 6, 7, "report", "date"),
    ("note", "部门备注", 6, 1, 10, "department", "text"),
]
FUNDS_ANCHOR, FUNDS_TOTAL = "资金来源", "年度资金总额"
#: funds table columns: key, header, kind (money/rate/points)
FUND_COLUMNS = [
    ("name", "资金来源", "text"),
    ("initial_budget", "年初预算数", "money"),
    ("budget", "全年预算数(A)", "money"),
    ("executed", "全年执行数(B)", "money"),
    ("transfer", "上级财政转移支付(C)", "money"),
    ("weight", "分值", "weight"),
    ("rate", "执行率(%)", "rate"),
    ("score", "得分", "score"),
]
NARRATIVES = [(("functions",), "部门职能概述"), (("goals", "planned"), "年初设定目标"),
              (("goals", "achieved"), "目标完成情况")]
INDICATORS_ANCHOR, TOTAL_LABEL, GRADE_LABEL = "一级指标", "总分", "等级"
#: indicator table columns: key, header, kind, column width
INDICATOR_COLUMNS = [
    ("level1", "一级指标", "text", 16),
    ("level2", "二级指标", "text", 14),
    ("level3", "三级指标", "text", 16),
    ("content", "目标内容", "text", 26),
    ("target", "目标值", "value", 16),
    ("actual", "完成值", "value", 16),
    ("weight", "分值", "weight", 12),
    ("score", "得分", "score", 12),
    ("reason", "未完成原因", "text", 24),
    ("measures", "改进措施", "text", 24),
    ("direction", "指标方向", "choice", 12),
    ("assessment", "定性评价", "choice", 12),
    ("applicable", "是否适用", "choice", 10),
    ("note", "备注", "text", 20),
    ("base", "基数", "value", 14),
]
INDICATOR_HEADERS = {key: header for key, header, *_ in INDICATOR_COLUMNS}
TRAILERS = [(("source",), "来源"), (("notes",), "转录说明")]
LAST_COLUMN = 10  # J: narratives and notes span B:J

#: drop-down choices shown in Chinese, stored as the record's codes
CHOICES: dict[str, dict[str, object]] = {
    "form": {"部门整体支出": "department", "项目支出": "project"},
    "fictional": {"是": True, "否": False},
    "direction": {"越高越好": "higher", "越低越好": "lower"},
    "assessment": {"达成": "achieved", "部分达成": "partial", "未达成": "missed"},
    "applicable": {"是": True, "否": False},
}
GRADES = REPORT_SCHEMA["properties"]["reported"]["properties"]["grade"]["enum"]

#: number formats of the blank template, by kind
TEMPLATE_FORMATS = {"money": "#,##0.00", "rate": "0.00", "score": "0.00", "weight": "General",
                    "integer": "0", "text": "@", "value": "@", "date": "@", "choice": "General"}
#: the official form prints every 二级 row; the template lists them once each
TEMPLATE_ROWS = [("产出指标", name) for name in LEVEL2_BY_LEVEL1["产出指标"]] + [
    ("效益指标", name) for name in LEVEL2_BY_LEVEL1["效益指标"]] + [("满意度指标", "服务对象满意度指标")]


def norm_label(text: str) -> str:
    """Labels compare without spaces and with full-width brackets as ASCII: 执行率（%） = 执行率(%)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
