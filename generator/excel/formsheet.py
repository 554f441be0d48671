"""One form sheet laid out from record data: title, header block, funds, texts, indicators.

Used for the blank template and for export alike, so both look like the official form.
Row positions follow from the data, top to bottom (tables grow with their rows); labels,
columns and drop-down choices come from :mod:`generator.excel.layout`.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from ..read.schema import LEVEL1, LEVEL2, MONEY_UNITS
from .layout import (
    CHOICES,
    FUND_COLUMNS,
    FUNDS_TOTAL,
    GRADE_LABEL,
    GRADES,
    HEADER_FIELDS,
    ILLEGIBLE,
    INDICATOR_COLUMNS,
    INDICATOR_HEADERS,
    LAST_COLUMN,
    NARRATIVES,
    TEMPLATE_FORMATS,
    TITLE,
    TOTAL_LABEL,
    TRAILERS,
)
from .numbers import number_cell


@dataclass
class FormData:
    """What one form sheet shows: raw record data as the YAML holds it."""

    slug: str
    department: dict
    report: dict
    blank_sources: int = 0
    blank_indicators: int = 5


class SheetWriter:
    """Lays out one form sheet; every row position comes from the data, top to bottom."""

    def __init__(self, sheet, form: FormData):
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
            cell.value, cell.number_format = number_cell(kind, value)
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
                self.validate(cells, list(CHOICES[key]), INDICATOR_HEADERS[key])
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
