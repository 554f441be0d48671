"""Excel round trip: a fill-in workbook laid out like the official form, export and import.

Departments fill 部门整体支出绩效自评表 in Excel. ``perfsite template`` writes a blank
workbook, ``perfsite export`` writes every record as one filled workbook
(``<out>/<slug>/<year>.xlsx``, the same layout as ``content/departments``) and
``perfsite import`` turns filled workbooks back into YAML records.

Layout of the sheet ``自评表`` (a workbook may hold several form sheets whose names
start with 自评表, e.g. ``自评表2022``; the sheet ``说明`` explains how to fill it in):

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

Import finds the header block by its labels and the tables by their header rows and
end rows, so rows may be inserted inside the tables; a table column is found by its
header text. Rows with nothing in them are skipped; a source row without amounts is
skipped too (the template lists 财政拨款 and 其他资金). A cell reading 【无法辨认】 is an
illegible cell (``illegible`` in the record). No cell holds a formula: every number is
what the department reports, and perfsite recomputes and audits it.

Numbers are read as Excel shows them and never through binary floats: a numeric cell
is taken at Excel's 15 significant digits (``0.1+0.2`` reads as 0.3) and padded to the
decimals its number format shows (363.8 in a ``0.00`` cell is 363.80; a value with
more digits than shown keeps them); a percent format (``0.00%``) is read as the
percentage shown. A number typed into a text cell is read exactly from its text.
Export writes each number with the format of its own decimals, so import gives back
the same digits; a number with more than 15 significant digits is written as text.
"""

from __future__ import annotations

import argparse
import datetime
import io
import math
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml

from .errors import ConfigError, ContentError, Location, Problem
from .records import SLUG, cross_check, read_content
from .schema import (
    DEPARTMENT_SCHEMA,
    FUND_FIELDS,
    INDICATOR_FIELDS,
    LEVEL1,
    LEVEL2,
    LEVEL2_BY_LEVEL1,
    MONEY_UNITS,
    REPORT_SCHEMA,
    describe_value,
    suggest,
    validate,
)
from .yamlsource import Document, KeyPath, format_path, parse_source, read_yaml

SHEET = "自评表"
HELP_SHEET = "说明"
TITLE = {"department": "部门整体支出绩效自评表", "project": "项目支出绩效自评表"}
ILLEGIBLE = "【无法辨认】"
_ILLEGIBLE_MARKS = {ILLEGIBLE, "无法辨认", "[无法辨认]"}
FIXED_TIME = datetime.datetime(2020, 1, 1)  # workbook properties: same input, same bytes
EXCEL_DIGITS = 15  # Excel keeps 15 significant digits
EXCEL_CELL_CHARS = 32767
MAX_WORKBOOK_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = 40

# --- layout -------------------------------------------------------------------------------

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
]
_HEADERS = {key: header for key, header, *_ in INDICATOR_COLUMNS}
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


def _norm(text: str) -> str:
    """Labels compare without spaces and with full-width brackets as ASCII: 执行率（%） = 执行率(%)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


# --- writing workbooks --------------------------------------------------------------------

@dataclass
class _FormData:
    """What one form sheet shows: raw record data as the YAML holds it."""

    slug: str
    department: dict
    report: dict
    blank_sources: int = 0
    blank_indicators: int = 5


def write_template(path: Path) -> None:
    """A blank fill-in workbook: the 自评表 sheet with drop-down lists, and the 说明 sheet."""
    rows = [{"level1": level1, "level2": level2} for level1, level2 in TEMPLATE_ROWS]
    form = _FormData(slug="", department={},
                     report={"form": "department", "money_unit": "万元",
                             "funds": {"sources": [{"name": "财政拨款"}, {"name": "其他资金"}]},
                             "indicators": rows},
                     blank_sources=2, blank_indicators=30)
    _save(_workbook([form]), path)


def export_records(project_dir: Path, out_dir: Path) -> list[Path]:
    """Every form of the project as ``out_dir/<slug>/<year>.xlsx``; returns the files written."""
    from .config import load_config

    config = load_config(project_dir)
    content = read_content(config)
    departments: dict[str, dict] = {}
    forms: list[_FormData] = []
    problems: list[Problem] = []
    for report in content.reports:
        slug = report.department.slug
        if slug not in departments:
            doc, found = read_yaml(config.departments_dir / slug / "department.yaml",
                                   f"content/departments/{slug}/department.yaml")
            if found:  # pragma: no cover - read_content has just read it
                raise ContentError(found)
            departments[slug] = doc.data
        forms.append(_FormData(slug=slug, department=departments[slug], report=report.doc.data))
        _too_long(report.doc.data, (), report.where, problems)
    for slug, data in departments.items():
        rel = f"content/departments/{slug}/department.yaml"
        _too_long(data, (), lambda path, rel=rel: Location(rel), problems)
    if problems:
        raise ContentError(problems)
    written = []
    for form in forms:
        target = Path(out_dir) / form.slug / f"{form.report['year']}.xlsx"
        _save(_workbook([form]), target)
        written.append(target)
    return written


def _too_long(value: object, path: KeyPath, where: Callable[[KeyPath], Location], out: list[Problem]) -> None:
    """Texts an Excel cell cannot hold (checked before any file is written)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _too_long(item, path + (key,), where, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _too_long(item, path + (index,), where, out)
    elif isinstance(value, str) and len(value.rstrip("\n")) > EXCEL_CELL_CHARS:
        out.append(Problem(where(path), format_path(path), f"too long for one Excel cell: {len(value)} "
                           f"characters, limit {EXCEL_CELL_CHARS}", "shorten it, or keep this form in YAML"))


def _workbook(forms: list[_FormData]):
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for index, form in enumerate(forms):
        sheet = book.create_sheet(SHEET if index == 0 else f"{SHEET}{index + 1}")
        _SheetWriter(sheet, form).write()
    _write_help(book.create_sheet(HELP_SHEET))
    book.active = 0
    props = book.properties
    props.creator, props.lastModifiedBy = "perfsite", None
    props.created = props.modified = FIXED_TIME
    props.title = TITLE["department"]
    return book


def _save(book, path: Path) -> None:
    """Write the workbook with fixed timestamps (zip entries included): same input, same bytes."""
    from openpyxl.writer.excel import ExcelWriter

    raw = io.BytesIO()
    ExcelWriter(book, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(info.filename))
    _write_atomic(Path(path), out.getvalue())


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)  # like any file the user saves, not mkstemp's 0600
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _scale(value: int | Decimal) -> int:
    return 0 if isinstance(value, int) else max(0, -value.as_tuple().exponent)


def _number_format(kind: str, value: int | Decimal) -> str:
    places = _scale(value)
    body = "#,##0" if kind == "money" else "0"
    return body + ("." + "0" * places if places else "")


def _digits(value: int | Decimal) -> int:
    return len(Decimal(value).as_tuple().digits)


class _SheetWriter:
    """Lays out one form sheet; every row position comes from the data, top to bottom."""

    def __init__(self, sheet, form: _FormData):
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        self.ws, self.form = sheet, form
        thin = Side(style="thin", color="808080")
        self.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.label_font = Font(bold=True)
        self.label_fill = PatternFill("solid", fgColor="F2F2F2")
        self.header_fill = PatternFill("solid", fgColor="DDEBF7")
        self.illegible_fill = PatternFill("solid", fgColor="FFF2CC")
        self.illegible_font = Font(italic=True, color="7F6000")
        self.wrap = Alignment(wrap_text=True, vertical="top")
        self.center = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.validations: dict[str, list[str]] = {}

    # cells ------------------------------------------------------------------------------

    def label(self, row: int, column: int, text: str, header: bool = False) -> None:
        cell = self.ws.cell(row, column, text)
        cell.font, cell.border, cell.alignment = self.label_font, self.border, self.center
        cell.fill = self.header_fill if header else self.label_fill

    def put(self, row: int, column: int, value: object, kind: str, last_column: int | None = None) -> None:
        """One value cell (merged up to ``last_column``) with the format of its kind."""
        cell = self.ws.cell(row, column)
        cell.border, cell.alignment = self.border, self.wrap
        cell.number_format = TEMPLATE_FORMATS[kind]
        if last_column and last_column > column:
            for other in range(column + 1, last_column + 1):
                self.ws.cell(row, other).border = self.border
            self.ws.merge_cells(start_row=row, start_column=column, end_row=row, end_column=last_column)
        if value is None:
            return
        if value == ILLEGIBLE:
            cell.value = ILLEGIBLE
            cell.fill, cell.font, cell.number_format = self.illegible_fill, self.illegible_font, "@"
        elif isinstance(value, bool):
            cell.value = value
        elif isinstance(value, (int, Decimal)):
            if _digits(value) > EXCEL_DIGITS:  # beyond Excel's precision: keep the exact text
                cell.value, cell.number_format = f"{value:f}", "@"
            else:
                cell.value = int(value) if _scale(value) == 0 else float(value)
                cell.number_format = _number_format(kind, value)
        else:
            cell.value = str(value).rstrip("\n")
            cell.data_type = "s"  # text, even when it starts with "=" (never a formula)

    def validate(self, cells: str, choices: list[str], title: str) -> None:
        self.validations.setdefault("\0".join((title, *choices)), []).append(cells)

    # sections ---------------------------------------------------------------------------

    def write(self) -> None:
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        ws, report = self.ws, self.form.report
        widths = [width for *_, width in INDICATOR_COLUMNS]
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        title = ws.cell(1, 1, TITLE.get(report.get("form"), TITLE["department"]))
        title.font, title.alignment = Font(bold=True, size=16), self.center
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=LAST_COLUMN)
        ws.row_dimensions[1].height = 30
        self.header()
        row = self.funds(8)
        row = self.narratives(row + 2)
        row = self.indicators(row + 2)
        self.trailers(row + 1)
        ws.freeze_panes = "A3"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = "1:2"
        self.add_validations()

    def header(self) -> None:
        form = self.form
        for key, label, row, column, last, record, kind in HEADER_FIELDS:
            self.label(row, column, label)
            if record == "slug":
                value = form.slug or None
            else:
                value = (form.department if record == "department" else form.report).get(key)
            if kind == "choice" and value is not None:
                value = _choice_label(key, value)
            self.put(row, column + 1, value, kind, last)
        self.validate("I2", MONEY_UNITS, "金额单位")
        self.validate("I3", list(CHOICES["form"]), "表样")
        self.validate("I4", list(CHOICES["fictional"]), "虚构示例")

    def funds(self, top: int) -> int:
        funds = self.form.report.get("funds") or {}
        for column, (_, header, _) in enumerate(FUND_COLUMNS, start=1):
            self.label(top, column, header, header=True)
        self.ws.row_dimensions[top].height = 30
        sources = list(funds.get("sources") or []) + [{}] * self.form.blank_sources
        row = top
        for source in sources:
            row += 1
            illegible = set(source.get("illegible") or ())
            for column, (key, _, kind) in enumerate(FUND_COLUMNS, start=1):
                value = ILLEGIBLE if key in illegible else source.get(key)
                self.put(row, column, value, kind)
        row += 1
        reported = funds.get("reported") or {}
        self.label(row, 1, FUNDS_TOTAL)
        for column, (key, _, kind) in enumerate(FUND_COLUMNS[1:], start=2):
            value = funds.get("weight") if key == "weight" else reported.get(key)
            self.put(row, column, value, kind)
        return row

    def long_text(self, row: int, label: str, value: object) -> None:
        self.label(row, 1, label)
        self.put(row, 2, value, "text", LAST_COLUMN)
        self.ws.row_dimensions[row].height = _text_height(value)

    def narratives(self, row: int) -> int:
        report = self.form.report
        for index, (path, label) in enumerate(NARRATIVES):
            value = report.get(path[0]) if len(path) == 1 else (report.get(path[0]) or {}).get(path[1])
            self.long_text(row + index, label, value)
        return row + len(NARRATIVES) - 1

    def indicators(self, top: int) -> int:
        from openpyxl.utils import get_column_letter

        for column, (_, header, _, _) in enumerate(INDICATOR_COLUMNS, start=1):
            self.label(top, column, header, header=True)
        self.ws.row_dimensions[top].height = 30
        rows = list(self.form.report.get("indicators") or []) + [{}] * self.form.blank_indicators
        row = top
        for data in rows:
            row += 1
            illegible = set(data.get("illegible") or ())
            for column, (key, _, kind, _) in enumerate(INDICATOR_COLUMNS, start=1):
                value = ILLEGIBLE if key in illegible else data.get(key)
                if kind == "choice" and value is not None:
                    value = _choice_label(key, value)
                self.put(row, column, value, kind)
        first, last = top + 1, max(row, top + 1)
        for column, (key, _, _, _) in enumerate(INDICATOR_COLUMNS, start=1):
            cells = f"{get_column_letter(column)}{first}:{get_column_letter(column)}{last}"
            if key == "level1":
                self.validate(cells, LEVEL1, "一级指标")
            elif key == "level2":
                self.validate(cells, LEVEL2, "二级指标")
            elif key in CHOICES:
                self.validate(cells, list(CHOICES[key]), _HEADERS[key])
        total_row = row + 1
        reported = self.form.report.get("reported") or {}
        self.label(total_row, 1, TOTAL_LABEL)
        score_column = [k for k, *_ in INDICATOR_COLUMNS].index("score") + 1
        for column in range(2, score_column):
            self.put(total_row, column, None, "text")
        self.put(total_row, score_column, reported.get("total"), "score")
        self.label(total_row, score_column + 1, GRADE_LABEL)
        self.put(total_row, score_column + 2, reported.get("grade"), "text")
        self.validate(f"{get_column_letter(score_column + 2)}{total_row}", GRADES, "等级")
        return total_row

    def trailers(self, row: int) -> None:
        for index, (path, label) in enumerate(TRAILERS):
            self.long_text(row + index, label, self.form.report.get(path[0]))

    def add_validations(self) -> None:
        from openpyxl.worksheet.datavalidation import DataValidation

        for key, ranges in self.validations.items():
            title, *choices = key.split("\0")
            dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True,
                                showErrorMessage=True, showInputMessage=True, errorStyle="stop",
                                errorTitle=title, error=f"请从下拉列表中选择{title}：{'、'.join(choices)}",
                                promptTitle=title, prompt="从下拉列表中选择")
            for cells in ranges:
                dv.add(cells)
            self.ws.add_data_validation(dv)


def _choice_label(key: str, value: object) -> object:
    for label, code in CHOICES[key].items():
        if code == value and type(code) is type(value):
            return label
    return value


def _text_height(value: object) -> float:
    """A row tall enough for the text (Excel does not size merged cells itself)."""
    if not value:
        return 20
    width = sum(w for *_, w in INDICATOR_COLUMNS[1:LAST_COLUMN])
    lines = 0
    for line in str(value).rstrip("\n").split("\n"):
        chars = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
        lines += max(1, math.ceil(chars * 1.1 / width))
    return min(409, 15 * lines + 6)


HELP_ROWS = [
    ("用途", "本工作簿用于填写《部门整体支出绩效自评表》，填好后由 perfsite import 导入为 YAML 记录。"
           "一个工作表“自评表”是一个部门一个年度的一张表；同一工作簿可以有多张表，工作表名称以“自评表”开头即可。"),
    ("版式", "不要改动蓝色表头和灰色标签的文字：导入时按这些文字查找各栏。表格中间可以插入行；全空的行会被忽略。"
           "不要把表格拆开或移动列的顺序。"),
    ("部门(单位)名称", "必填，与自评表上的名称一致。"),
    ("部门标识(slug)", "必填，部门文件夹名：小写字母、数字和连字符，例如 wangcheng-kexie。"
                     "导入写入 content/departments/<部门标识>/<年度>.yaml。"),
    ("年度", "必填，四位数字，例如 2021。"),
    ("所属独立核算单位个数", "整数。"),
    ("金额单位", "从下拉列表选择：万元、元、亿元。全表金额都用这个单位。"),
    ("表样", "部门整体支出 或 项目支出；项目支出表填写“项目名称”。"),
    ("部门编码", "预算单位编码，按文本保存，前导零不会丢失（单元格已设为文本格式）。"),
    ("虚构示例", "“是”表示演示数据，网站会醒目标注；真实数据留空或选“否”。"),
    ("公开日期", "文本 YYYY-MM-DD，例如 2022-03-31；留空时按次年 1 月 1 日。"),
    ("资金来源", "每个资金来源一行（财政拨款、其他资金等）；没有金额的来源行会被忽略。"
             "年度资金总额一行照原表填写合计数、执行率分值（分值）、执行率(%) 和得分。"
             "这里不用公式：系统会重新计算并核对原表数字。"),
    ("执行率(%)", "填百分数的数值，例如 118.65 表示 118.65%。"),
    ("部门职能概述、年度总体目标", "照原文填写，可以多行（Alt+Enter 换行），编号如“1.”保持原样。"),
    ("一级指标、二级指标", "从下拉列表选择；二级指标必须属于它的一级指标："
                      + "；".join(f"{k}：{'、'.join(v)}" for k, v in LEVEL2_BY_LEVEL1.items()) + "。"),
    ("空行", "原表印出的只有一、二级指标而没有内容的行，保留一、二级指标即可（分值、得分可填 0）；"
           "用不到的预置行可以删除。"),
    ("目标值、完成值", "照原表书写，例如 12000人次、≥90%、不少于800篇、良好以上（单元格为文本格式）。"),
    ("分值、得分", "数字；得分为部门填报的得分，系统会按评分规则重新计算并核对。"),
    ("指标方向", "可选：越高越好 / 越低越好（成本类指标）；留空按评分规则判断。"),
    ("定性评价", "可选，定性指标的档次：达成 / 部分达成 / 未达成。"),
    ("是否适用", "可选：“否”表示该指标不适用。"),
    ("无法辨认", f"转录纸质或扫描件时，无法辨认的金额或指标栏目填写 {ILLEGIBLE}，不要猜测；审核会注明。"),
    ("数字", "数字按单元格显示的样子读取：0.00 格式里的 363.8 读作 363.80；百分比格式按显示的百分数读取。"
           "也可以在文本格式的单元格里填写数字，按文字原样读取。不要填写单位、逗号以外的文字。"),
    ("总分、等级", "照原表填写；等级从下拉列表选择：优、良、中、差。"),
    ("来源、转录说明", "来源：原始文件的说明（公开网址或文件名）。转录说明：转录时的说明，例如哪些栏目无法辨认。"),
    ("导入", "perfsite import 文件.xlsx …：检查全部内容后一次报告所有问题，位置写作 文件.xlsx!自评表!C12；"
           "没有问题才写入。已有的记录只有加 --overwrite 才会被替换。"),
]


def _write_help(ws) -> None:
    from openpyxl.styles import Alignment, Font

    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 100
    ws.cell(1, 1, "如何填写《部门整体支出绩效自评表》").font = Font(bold=True, size=14)
    for index, (topic, text) in enumerate(HELP_ROWS, start=3):
        ws.cell(index, 1, topic).font = Font(bold=True)
        cell = ws.cell(index, 2, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[index].height = 15 * math.ceil(len(text) * 2.1 / 100) + 6


# --- reading workbooks --------------------------------------------------------------------

@dataclass(frozen=True)
class _Cell:
    value: object
    kind: str  # openpyxl data type: n(umber), s(tring), b(ool), d(ate), e(rror), f(ormula)
    fmt: str


@dataclass
class _SheetDocument(Document):
    """Record data read from a sheet: every key path is located by its cell (``file.xlsx!自评表!C12``)."""

    cells: dict[KeyPath, Location] = field(default_factory=dict)

    def where(self, path: KeyPath, *, key: bool = False) -> Location:
        probe = tuple(path)
        while probe:
            if probe in self.cells:
                return self.cells[probe]
            probe = probe[:-1]
        return self.cells.get((), Location(self.file))


@dataclass
class _Form:
    """One form sheet read into record data, with the cell of every value."""

    display: str  # "file.xlsx!自评表"
    slug: str | None
    department: _SheetDocument
    report: _SheetDocument
    slug_where: Location
    year_where: Location


class _SheetReader:
    def __init__(self, grid: dict[tuple[int, int], _Cell], display: str):
        self.grid, self.display = grid, display
        self.problems: list[Problem] = []
        self.labels: dict[str, list[tuple[int, int]]] = {}
        for (row, column), cell in sorted(grid.items()):
            if isinstance(cell.value, str):
                self.labels.setdefault(_norm(cell.value), []).append((row, column))

    def loc(self, row: int, column: int = 0) -> Location:
        from openpyxl.utils import get_column_letter

        if not column:
            return Location(self.display)
        return Location(f"{self.display}!{get_column_letter(column)}{row}")

    def fail(self, where: Location, path: KeyPath | str, message: str, hint: str = "") -> None:
        text = path if isinstance(path, str) else format_path(path)
        self.problems.append(Problem(where, text, message, hint))

    def find(self, label: str, first: int = 1, last: int = MAX_ROWS + 1,
             column: int | None = None) -> tuple[int, int] | None:
        for row, col in self.labels.get(_norm(label), []):
            if first <= row <= last and (column is None or col == column):
                return row, col
        return None

    def blank(self, row: int, column: int) -> bool:
        cell = self.grid.get((row, column))
        return cell is None or cell.value is None or (isinstance(cell.value, str) and not cell.value.strip())

    def columns(self, row: int, columns: list, what: str, required: set[str]) -> dict[str, int] | None:
        """Map a table's keys to columns by the header texts in ``row``."""
        found: dict[str, int] = {}
        by_text = {_norm(header): key for key, header, *_ in columns}
        for column in range(1, MAX_COLUMNS + 1):
            cell = self.grid.get((row, column))
            if cell is not None and isinstance(cell.value, str) and _norm(cell.value) in by_text:
                found.setdefault(by_text[_norm(cell.value)], column)
        missing = [header for key, header, *_ in columns if key in required and key not in found]
        for header in missing:
            self.fail(self.loc(row, 1), "", f"the {what} header row has no column {header}",
                      "keep the header texts of the perfsite template")
        return None if missing else found

    # values -----------------------------------------------------------------------------

    def read(self, row: int, column: int, kind: str, path: KeyPath, locs: dict, key: str = "") -> object:
        """The value of one cell for a field of ``kind``; None when blank; problems are collected."""
        where = self.loc(row, column)
        locs[path] = where
        cell = self.grid.get((row, column))
        if cell is None or cell.value is None:
            return None
        value = cell.value
        if cell.kind == "e":
            self.fail(where, path, f"the cell shows the Excel error {value}", "type the value itself")
            return None
        if isinstance(value, str):
            value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
            if not value:
                return None
        if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
            value = _date_text(value)
        if kind == "choice":
            return self.choice(key, value, where, path)
        if kind in ("money", "rate", "weight", "score", "integer"):
            number = _number(value, cell.fmt) if not isinstance(value, bool) else value
            if kind == "integer" and isinstance(number, Decimal) and number == number.to_integral_value():
                number = int(number)
            return number
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = _number(value, cell.fmt)
            if kind == "value" and "%" not in _format_section(cell.fmt):
                return number
            return _number_text(number) + ("%" if "%" in _format_section(cell.fmt) else "")
        return value

    def choice(self, key: str, value: object, where: Location, path: KeyPath) -> object:
        options = CHOICES[key]
        if isinstance(value, bool) and any(isinstance(code, bool) for code in options.values()):
            return value
        if isinstance(value, str):
            if value in options:
                return options[value]
            for code in options.values():
                if str(code).lower() == value.lower():
                    return code
        self.fail(where, path, f"expected one of {', '.join(options)}, got {describe_value(value)}",
                  suggest(str(value), list(options)))
        return None


def _date_text(value) -> str:
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    return value.isoformat()


_PLAIN_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z")
_PLAIN_DECIMAL = re.compile(r"[-+]?[0-9]+\.[0-9]+\Z")


def _format_section(fmt: str) -> str:
    """The positive-number section of a number format, without literals and colours."""
    section = (fmt or "General").split(";")[0]
    return re.sub(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.', "", section)


def _number(value: object, fmt: str) -> object:
    """A numeric cell as Excel shows it (see the module docstring); text is parsed exactly."""
    if isinstance(value, str):
        text = value.strip()
        if _PLAIN_INT.match(text):
            return int(text)
        if _PLAIN_DECIMAL.match(text):
            return Decimal(text)
        return value  # the schema says what is wrong with it
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        number = Decimal(format(value, f".{EXCEL_DIGITS}g"))
    else:
        return value
    section = _format_section(fmt)
    places = None  # General, text and scientific formats show the number as it is
    if section not in ("General", "@") and not re.search(r"[eE][+-]", section):
        match = re.search(r"0\.(0+)", section)
        places = len(match.group(1)) if match else (0 if re.search(r"[0#]", section) else None)
    if "%" in section:
        number *= 100
    number = number.normalize()
    if number.as_tuple().exponent > 0:
        number = number.quantize(Decimal(1))
    if places and _scale(number) < places:
        number = number.quantize(Decimal(1).scaleb(-places))
    return int(number) if number.as_tuple().exponent >= 0 else number


def _number_text(number: object) -> str:
    return f"{number:f}" if isinstance(number, Decimal) else str(number)


def _is_illegible(cell: _Cell | None) -> bool:
    return cell is not None and isinstance(cell.value, str) and cell.value.strip() in _ILLEGIBLE_MARKS


def _load_grids(path: Path, display: str) -> tuple[list[tuple[str, dict]], list[Problem]]:
    """The form sheets of a workbook as {(row, column): cell}; formulas give their saved results."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return [], [Problem(Location(display), "", f"cannot read: {exc.strerror}")]
    if size > MAX_WORKBOOK_BYTES:
        return [], [Problem(Location(display), "", f"file too large: {size / 1024 / 1024:.1f} MiB, limit 20 MiB")]
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        hint = "save it as an Excel workbook (.xlsx)"
        if path.suffix.lower() == ".xls":
            hint = "this is the old .xls format: open it in Excel and save it as .xlsx"
        return [], [Problem(Location(display), "", "not an Excel workbook (.xlsx)", hint)]
    if unpacked > MAX_UNPACKED_BYTES:
        return [], [Problem(Location(display), "", "the workbook unpacks to more than 200 MiB")]
    grids, problems = _read_grids(path, display, data_only=False)
    formulas = {(name, pos) for name, grid in grids for pos, cell in grid.items() if cell.kind == "f"}
    if formulas and not problems:
        saved, problems = _read_grids(path, display, data_only=True)
        for name, grid in saved:
            for pos in sorted(p for n, p in formulas if n == name):
                if grid.get(pos) is None or grid[pos].value is None:
                    from openpyxl.utils import get_column_letter

                    problems.append(Problem(Location(f"{display}!{name}!{get_column_letter(pos[1])}{pos[0]}"),
                                            "", "a formula without a saved result",
                                            "open the workbook in Excel and save it, or type the value"))
        grids = saved
    return grids, problems


def _read_grids(path: Path, display: str, data_only: bool):
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=data_only)
    except Exception as exc:  # a broken file is the user's problem, not a bug: name it
        return [], [Problem(Location(display), "", f"cannot open the workbook: {exc}",
                            "save it again from Excel as .xlsx")]
    try:
        sheets = [ws for ws in book.worksheets if ws.title.startswith(SHEET)]
        if not sheets:
            names = ", ".join(ws.title for ws in book.worksheets)
            return [], [Problem(Location(display), "", f"no sheet named {SHEET} (sheets: {names})",
                                "start from the perfsite template")]
        grids, problems = [], []
        for ws in sheets:
            grid: dict[tuple[int, int], _Cell] = {}
            for row in ws.iter_rows(min_row=1, max_row=MAX_ROWS + 1, max_col=MAX_COLUMNS):
                for cell in row:
                    if getattr(cell, "value", None) is None:
                        continue
                    if cell.row > MAX_ROWS:
                        problems.append(Problem(Location(f"{display}!{ws.title}"), "",
                                                f"more than {MAX_ROWS} rows", "one form per sheet"))
                        break
                    grid[(cell.row, cell.column)] = _Cell(cell.value, cell.data_type, cell.number_format or "")
            grids.append((ws.title, grid))
        return grids, problems
    finally:
        book.close()


def _read_form(grid: dict, display: str) -> tuple[_Form | None, list[Problem]]:
    """One form sheet → department and report documents located in the sheet's cells."""
    sheet = _SheetReader(grid, display)
    dept_locs: dict[KeyPath, Location] = {(): Location(display)}
    locs: dict[KeyPath, Location] = {(): Location(display)}
    funds_at = sheet.find(FUNDS_ANCHOR)
    indicators_at = sheet.find(INDICATORS_ANCHOR, first=funds_at[0] + 1) if funds_at else None
    if not funds_at or not indicators_at:
        missing = FUNDS_ANCHOR if not funds_at else INDICATORS_ANCHOR
        sheet.fail(Location(display), "", f"cannot find the table headed {missing}",
                   "start from the perfsite template and keep its header texts")
        return None, sheet.problems

    # header block, above the funds table
    department: dict = {}
    header: dict = {}
    slug, slug_where, year_where = None, Location(display), Location(display)
    for key, label, _, _, _, record, kind in HEADER_FIELDS:
        at = sheet.find(label, last=funds_at[0] - 1)
        if at is None:
            if key in ("name", "slug", "year"):
                sheet.fail(Location(display), "", f"cannot find the label {label} above the funds table",
                           "keep the header block of the perfsite template")
            continue
        row, column = at[0], at[1] + 1
        if record == "slug":
            slug_where = sheet.loc(row, column)
            slug = sheet.read(row, column, "text", ("slug",), {}, key)
            continue
        target, where = (department, dept_locs) if record == "department" else (header, locs)
        value = sheet.read(row, column, kind, (key,), where, key)
        if key == "year":
            year_where = sheet.loc(row, column)
        if value is not None:
            target[key] = value
    if slug is None:
        sheet.fail(slug_where, "slug", "required: the department's folder name (部门标识)",
                   "lowercase letters, digits and hyphens, e.g. wangcheng-kexie")
    elif not isinstance(slug, str) or not SLUG.match(slug):
        sheet.fail(slug_where, "slug", f"expected lowercase letters, digits and hyphens, got {describe_value(slug)}",
                   "e.g. wangcheng-kexie; it names the folder content/departments/<slug>")
        slug = None

    funds, total_row = _read_funds(sheet, funds_at, indicators_at[0], locs)
    texts: dict[KeyPath, str] = {}
    for path, label in NARRATIVES:
        at = sheet.find(label, first=total_row + 1, last=indicators_at[0] - 1)
        if at:
            value = sheet.read(at[0], at[1] + 1, "text", path, locs)
            if value is not None:
                texts[path] = _narrative(value) if isinstance(value, str) else value
    indicators, end = _read_indicators(sheet, indicators_at, locs)
    reported: dict = {}
    if end is not None:
        locs[("reported",)] = sheet.loc(end[0], indicators_at[1])
        total = sheet.read(end[0], end[1], "score", ("reported", "total"), locs)
        if total is not None:
            reported["total"] = total
        at = sheet.find(GRADE_LABEL, first=end[0])
        if at:
            grade = sheet.read(at[0], at[1] + 1, "text", ("reported", "grade"), locs)
            if grade is not None:
                reported["grade"] = grade
        for path, label in TRAILERS:
            at = sheet.find(label, first=end[0] + 1)
            if at:
                value = sheet.read(at[0], at[1] + 1, "text", path, locs)
                if value is not None:
                    texts[path] = _narrative(value) if path == ("notes",) and isinstance(value, str) else value

    data: dict = {}
    goals = {path[1]: texts[path] for path, _ in NARRATIVES[1:] if path in texts}
    parts = {**header, "funds": funds, "functions": texts.get(("functions",)), "goals": goals or None,
             "indicators": indicators or None, "reported": reported or None,
             "source": texts.get(("source",)), "notes": texts.get(("notes",))}
    for key in REPORT_SCHEMA["properties"]:
        if parts.get(key) is not None:
            data[key] = parts[key]
    dept_data = {key: department[key] for key in DEPARTMENT_SCHEMA["properties"] if key in department}
    report_doc = _SheetDocument(display, data, cells=locs)
    dept_doc = _SheetDocument(display, dept_data, cells=dept_locs)
    return _Form(display, slug, dept_doc, report_doc, slug_where, year_where), sheet.problems


def _narrative(text: str) -> str:
    """Prose is written as a ``|`` block, which ends with a line break."""
    return text + "\n"


def _read_funds(sheet: _SheetReader, at: tuple[int, int], limit: int, locs: dict) -> tuple[dict, int]:
    top, base = at
    locs[("funds",)] = locs[("funds", "sources")] = sheet.loc(top, base)
    columns = sheet.columns(top, FUND_COLUMNS, "funds", {"name", "budget", "executed"})
    end = sheet.find(FUNDS_TOTAL, first=top + 1, last=limit - 1, column=base)
    if end is None:
        sheet.fail(sheet.loc(top, base), "funds", f"cannot find the row {FUNDS_TOTAL} below the funds table",
                   "keep the 年度资金总额 row of the template")
    funds: dict = {"sources": []}
    if columns is None or end is None:
        return funds, end[0] if end else top
    kinds = {key: kind for key, _, kind in FUND_COLUMNS}
    amounts = [key for key in FUND_FIELDS if key in columns]
    totals_only = [key for key in ("weight", "rate", "score") if key in columns]
    for row in range(top + 1, end[0]):
        if all(sheet.blank(row, columns[key]) for key in amounts + totals_only):
            continue
        index = len(funds["sources"])
        path = ("funds", "sources", index)
        locs[path] = sheet.loc(row, columns["name"])
        source: dict = {}
        name = sheet.read(row, columns["name"], "text", path + ("name",), locs)
        if name is not None:
            source["name"] = name
        illegible = []
        for key in amounts:
            if _is_illegible(sheet.grid.get((row, columns[key]))):
                locs.setdefault(path + ("illegible",), sheet.loc(row, columns[key]))
                locs[path + (key,)] = sheet.loc(row, columns[key])
                illegible.append(key)
                continue
            value = sheet.read(row, columns[key], kinds[key], path + (key,), locs)
            if value is not None:
                source[key] = value
        for key in totals_only:
            if not sheet.blank(row, columns[key]):
                sheet.fail(sheet.loc(row, columns[key]), path,
                           f"{dict((k, h) for k, h, _ in FUND_COLUMNS)[key]} belongs on the {FUNDS_TOTAL} row",
                           "leave it empty on a source row")
        if illegible:
            source["illegible"] = illegible
        funds["sources"].append(source)
    locs[("funds", "reported")] = sheet.loc(end[0], end[1])
    reported = {}
    for key, _, kind in FUND_COLUMNS[1:]:
        if key not in columns:
            continue
        path = ("funds", "weight") if key == "weight" else ("funds", "reported", key)
        value = sheet.read(end[0], columns[key], kind, path, locs)
        if value is None:
            continue
        if key == "weight":
            funds = {"weight": value, **funds}
        else:
            reported[key] = value
    if reported:
        funds["reported"] = reported
    return funds, end[0]


def _read_indicators(sheet: _SheetReader, at: tuple[int, int], locs: dict):
    top, base = at
    locs[("indicators",)] = sheet.loc(top, base)
    columns = sheet.columns(top, INDICATOR_COLUMNS, "indicator", {"level1", "level2"})
    end = sheet.find(TOTAL_LABEL, first=top + 1, column=base)
    if end is None:
        sheet.fail(sheet.loc(top, base), "indicators", f"cannot find the row {TOTAL_LABEL} below the indicator table",
                   "keep the 总分 row of the template")
    if columns is None or end is None:
        return [], None
    kinds = {key: kind for key, _, kind, _ in INDICATOR_COLUMNS}
    rows = []
    for row in range(top + 1, end[0]):
        if all(sheet.blank(row, column) for column in columns.values()):
            continue
        path = ("indicators", len(rows))
        locs[path] = sheet.loc(row, columns["level1"])
        data: dict = {}
        illegible = []
        for key, *_ in INDICATOR_COLUMNS:
            if key not in columns:
                continue
            column = columns[key]
            if key in INDICATOR_FIELDS and _is_illegible(sheet.grid.get((row, column))):
                locs.setdefault(path + ("illegible",), sheet.loc(row, column))
                locs[path + (key,)] = sheet.loc(row, column)
                illegible.append(key)
                continue
            value = sheet.read(row, column, kinds[key], path + (key,), locs, key)
            if value is not None:
                data[key] = value
        if illegible:
            data["illegible"] = illegible
        rows.append({key: data[key] for key in (*(k for k, *_ in INDICATOR_COLUMNS), "illegible") if key in data})
    score_column = columns.get("score")
    if score_column is None:
        sheet.fail(sheet.loc(top, base), "", "the indicator header row has no column 得分")
        return rows, None
    return rows, (end[0], score_column)


# --- import -------------------------------------------------------------------------------

def import_workbooks(paths: list[Path], project_dir: Path, overwrite: bool = False) -> list[Path]:
    """Filled workbooks → ``content/departments/<slug>/<year>.yaml`` (+ department.yaml).

    Every problem in every workbook is collected first and raised as one
    :class:`ContentError`; nothing is written unless all forms are valid. An existing
    record (or a department.yaml that says something else) is replaced only with
    ``overwrite``. Returns the files written.
    """
    project_dir = Path(project_dir)
    content_dir = project_dir / "content"
    if not content_dir.is_dir():
        raise ConfigError(f"{project_dir}: no content/ folder here (run in a project folder or pass --project DIR)")
    departments_dir = content_dir / "departments"
    problems: list[Problem] = []
    forms: list[_Form] = []
    for path in paths:
        path = Path(path)
        display = str(path)
        grids, loading = _load_grids(path, display)
        problems += loading
        for name, grid in grids:
            form, found = _read_form(grid, f"{display}!{name}")
            problems += found
            if form is None:
                continue
            checked = validate(form.report, REPORT_SCHEMA) + validate(form.department, DEPARTMENT_SCHEMA)
            if not checked:
                checked = cross_check(form.report, form.report.data["year"])
            # one problem per cell: a cell that could not be read is not also "missing"
            flagged = {p.location for p in loading + found}
            problems += [p for p in checked if p.location not in flagged]
            if not found and not checked and not loading:
                forms.append(form)
    writes = _plan_writes(forms, departments_dir, overwrite, problems)
    if problems:
        raise ContentError(problems)
    for target, text in writes:
        _write_atomic(target, text.encode("utf-8"))
    return [target for target, _ in writes]


def _plan_writes(forms: list[_Form], departments_dir: Path, overwrite: bool,
                 problems: list[Problem]) -> list[tuple[Path, str]]:
    """The (file, text) pairs to write; conflicts become problems."""
    writes: list[tuple[Path, str]] = []
    seen: dict[tuple[str, int], str] = {}
    departments: dict[str, _Form] = {}
    for form in forms:
        slug, year = form.slug, form.report.data["year"]
        if slug is None:  # pragma: no cover - a bad slug is a problem already
            continue
        rel_dir = f"content/departments/{slug}"
        folder = departments_dir / slug
        if folder.exists() and (not folder.is_dir() or folder.is_symlink()):
            problems.append(Problem(form.slug_where, "slug", f"{rel_dir} exists and is not a folder"))
            continue
        if (slug, year) in seen:
            problems.append(Problem(form.year_where, "year",
                                    f"{slug} {year} is also in {seen[(slug, year)]}", "import each form once"))
            continue
        seen[(slug, year)] = form.display
        record = folder / f"{year}.yaml"
        if record.exists() and not overwrite:
            problems.append(Problem(form.year_where, "year", f"{rel_dir}/{year}.yaml already exists",
                                    "import with --overwrite to replace it"))
            continue
        text, found = _render_checked(form.report.data, f"{rel_dir}/{year}.yaml", _report_lines,
                                      form.display, form.report.where(()))
        problems += found
        writes.append((record, text))
        first = departments.setdefault(slug, form)
        if first is not form:
            if _department_key(first.department.data) != _department_key(form.department.data):
                problems.append(Problem(form.department.where(("name",)), "",
                                        f"the department {slug} is described differently in {first.display}",
                                        "make the header blocks agree"))
            continue
        info = folder / "department.yaml"
        if info.exists():
            doc, found = read_yaml(info, f"{rel_dir}/department.yaml")
            same = not found and isinstance(doc.data, dict) and \
                _department_key(doc.data) == _department_key(form.department.data)
            if same:
                continue
            if not overwrite:
                problems.append(Problem(form.department.where(("name",)), "",
                                        f"the header block differs from {rel_dir}/department.yaml",
                                        "correct the workbook, or import with --overwrite to replace it"))
                continue
        text, found = _render_checked(form.department.data, f"{rel_dir}/department.yaml", _department_lines,
                                      form.display, form.department.where(()))
        problems += found
        writes.append((info, text))
    return writes


def _department_key(data: dict) -> tuple:
    def text(key):
        value = data.get(key)
        return "" if value is None else str(value).strip()

    return (text("name"), text("region"), text("code"), bool(data.get("fictional", False)), text("note"))


# --- YAML writing -------------------------------------------------------------------------

_RESOLVER = yaml.resolver.Resolver()
_INDICATOR_START = set("-?:,[]{}#&*!|>'\"%@`")
_FLOW_CHARS = set(",[]{}")
_NARRATIVE_KEYS = {"functions", "planned", "achieved", "notes"}


def _printable(ch: str) -> bool:
    code = ord(ch)
    return not (code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF)
                or 0xD800 <= code <= 0xDFFF)


def _plain_ok(text: str, flow: bool) -> bool:
    if not text or text != text.strip() or text[0] in _INDICATOR_START:
        return False
    if not all(_printable(ch) for ch in text) or ": " in text or " #" in text or text.endswith(":"):
        return False
    if flow and any(ch in _FLOW_CHARS for ch in text):
        return False
    return _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str"


def _quoted(text: str) -> str:
    out = []
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif not _printable(ch):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


class _Emitter:
    def __init__(self, quote_all: bool):
        self.quote_all = quote_all

    def scalar(self, value: object, flow: bool = False) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, Decimal):
            return f"{value:f}"
        if isinstance(value, list):
            return "[" + ", ".join(self.scalar(item, flow=True) for item in value) + "]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k}: {self.scalar(v, flow=True)}" for k, v in value.items()) + "}"
        text = str(value)
        if not self.quote_all and _plain_ok(text, flow):
            return text
        return _quoted(text)

    def entry(self, key: str, value: object, indent: int) -> list[str]:
        pad = " " * indent
        if isinstance(value, str) and "\n" in value and not self.quote_all and _block_ok(value):
            body = value[:-1] if value.endswith("\n") else value
            chomp = "+" if value.endswith("\n\n") else ("" if value.endswith("\n") else "-")
            indicator = "2" if value[:1] in (" ", "\n") else ""
            lines = [f"{pad}{key}: |{indicator}{chomp}"]
            lines += [f"{pad}  {line}" if line else "" for line in body.split("\n")]
            return lines
        return [f"{pad}{key}: {self.scalar(value)}"]


def _block_ok(text: str) -> bool:
    return all(_printable(ch) or ch in "\n\t" for ch in text)


def _report_lines(data: dict, emit: _Emitter) -> list[str]:
    out: list[str] = []
    for key, value in data.items():
        if key == "funds":
            out.append("funds:")
            for k, v in value.items():
                if k == "sources":
                    out.append("  sources:")
                    out += [f"    - {emit.scalar(source, flow=True)}" for source in v]
                else:
                    out.append(f"  {k}: {emit.scalar(v)}")
        elif key == "goals":
            out.append("goals:")
            for k, v in value.items():
                out += emit.entry(k, v, 2)
        elif key == "indicators":
            out.append("indicators:")
            for row in value:
                lines = [line for k, v in row.items() for line in emit.entry(k, v, 4)]
                lines[0] = "  - " + lines[0][4:]
                out += lines
        elif key == "reported":
            out.append(f"reported: {emit.scalar(value)}")
        else:
            out += emit.entry(key, value, 0)
    return out


def _department_lines(data: dict, emit: _Emitter) -> list[str]:
    return [line for key, value in data.items() for line in emit.entry(key, value, 0)]


def _render_checked(data: dict, rel: str, lines: Callable, source: str, where: Location) -> tuple[str, list[Problem]]:
    """YAML text for ``data``, proved by reading it back with perfsite's own reader."""
    comment = "".join(ch if _printable(ch) else "?" for ch in os.path.basename(source))
    for quote_all in (False, True):
        text = "\n".join([f"# 由 perfsite import 从 Excel 导入：{comment}", *lines(data, _Emitter(quote_all))]) + "\n"
        doc, problems = parse_source(text.encode("utf-8"), rel)
        if problems:
            return text, [Problem(where, "", f"cannot be written as {rel}: {problems[0].message}")]
        if _same(doc.data, data):
            return text, []
    raise RuntimeError(f"perfsite bug: the YAML written for {rel} does not read back the same")  # pragma: no cover


def _same(a: object, b: object) -> bool:
    """Equal including the type and the written digits (1.50 is not 1.5 here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Decimal):
        return str(a) == str(b)
    return a == b


# --- command line -------------------------------------------------------------------------

def run_template(args) -> int:
    write_template(args.out)
    print(f"wrote the fill-in template {args.out} (sheets {SHEET} and {HELP_SHEET})")
    return 0


def run_import(args) -> int:
    written = import_workbooks(args.files, args.project, overwrite=args.overwrite)
    forms = sum(1 for path in written if path.name != "department.yaml")
    departments = len(written) - forms
    print(f"imported {forms} form{'s' if forms != 1 else ''} from {len(args.files)} workbook"
          f"{'s' if len(args.files) != 1 else ''} into content/departments "
          f"({departments} department.yaml written)")
    return 0


def run_export(args) -> int:
    out = args.out if args.out is not None else args.project / "excel"
    written = export_records(args.project, out)
    print(f"exported {len(written)} form{'s' if len(written) != 1 else ''} to {out} (one workbook per form, "
          "<slug>/<year>.xlsx)")
    return 0


def add_commands(sub, common: argparse.ArgumentParser) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``template``, ``import`` and ``export`` to the CLI's subparsers; returns name → handler."""
    template = sub.add_parser("template", help="write a blank Excel fill-in workbook of the form")
    template.add_argument("out", type=Path, metavar="OUT.xlsx", help="the workbook to write")
    template.set_defaults(func=run_template)

    imp = sub.add_parser("import", parents=[common], help="turn filled Excel workbooks into YAML records")
    imp.add_argument("files", type=Path, nargs="+", metavar="FILE.xlsx", help="filled workbooks")
    imp.add_argument("--overwrite", action="store_true", help="replace records that already exist")
    imp.set_defaults(func=run_import)

    exp = sub.add_parser("export", parents=[common], help="write every form as an Excel workbook")
    exp.add_argument("-o", "--out", type=Path, metavar="DIR", help="output folder (default: DIR/excel)")
    exp.set_defaults(func=run_export)
    return {"template": run_template, "import": run_import, "export": run_export}
