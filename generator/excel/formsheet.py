"""One form sheet laid out from record data: title, header block, funds, texts, indicators.

Used for the blank template and for export alike, so both look like the official form of the
record's layout. Row positions follow from the data, top to bottom (tables grow with their
rows); labels, columns and drop-down choices come from :mod:`generator.excel.layout`.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from ..read.layouts import Layout, available_layouts, shipped_layout
from ..read.profiles import available_profiles
from ..read.schema import MONEY_UNITS
from .layout import (
    AMONG,
    CHOICES,
    FUND_FIELDS,
    GRADE_LABEL,
    GRADES,
    ILLEGIBLE,
    INDICATOR_FIELDS,
    LAST_COLUMN,
    LIST_LIMIT,
    NARRATIVES,
    NATURES,
    PROJECT_FIELDS,
    TEMPLATE_FORMATS,
    TITLE,
    TOTAL_LABEL,
    TOTAL_ONLY_FUND_FIELDS,
    TRAILERS,
    UNTRANSCRIBED,
    UNTRANSCRIBED_LABEL,
    UNTRANSCRIBED_NOTE,
    fund_columns,
    header_fields,
    indicator_columns,
    level_lists,
    strip_among,
)
from .numbers import number_cell


@dataclass
class FormData:
    """What one form sheet shows: raw record data as the YAML holds it, for its layout."""

    slug: str
    department: dict
    report: dict
    layout: Layout = field(default_factory=lambda: shipped_layout("national-department"))
    project_id: str = ""
    blank_sources: int = 0
    blank_indicators: int = 5
    blank_untranscribed: int = 1

    @property
    def kind(self) -> str:
        """The form kind, as the reader decides it (``form:``, else the file name)."""
        return self.report.get("form") or ("project" if self.project_id else "department")

    @property
    def project_block(self) -> bool:
        return self.kind == "project" or self.layout.form == "project" or any(
            self.report.get(key) is not None for key in PROJECT_FIELDS)


def _used(rows: list[dict], known) -> set[str]:
    """The fields of ``known`` that some row holds a value for or lists as illegible or untranscribed."""
    out = set()
    for row in rows:
        out |= {key for key, value in row.items() if key in known and value is not None}
        out |= set(row.get("illegible") or []) & set(known)
        out |= set(row.get("untranscribed") or []) & set(known)
    return out


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
        funds = form.report.get("funds") or {}
        fund_rows = list(funds.get("sources") or []) + [funds.get("reported") or {}]
        used = _used(fund_rows, FUND_FIELDS) | ({"weight"} if funds.get("weight") is not None else set())
        self.fund_columns = fund_columns(form.layout, used)
        rows = list(form.report.get("indicators") or [])
        self.indicator_columns = indicator_columns(form.layout, _used(rows, INDICATOR_FIELDS))

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
        if value in (ILLEGIBLE, UNTRANSCRIBED):
            cell.value = value
            cell.fill, cell.font, cell.number_format = self.illegible_fill, self.illegible_font, "@"
        elif isinstance(value, bool):
            cell.value = value
        elif isinstance(value, (int, Decimal)):
            cell.value, cell.number_format = number_cell(kind, value)
        else:
            cell.value = str(value).rstrip("\n")
            cell.data_type = "s"  # text, even when it starts with "=" (never a formula)

    def validate(self, cells: str, choices: list[str], title: str) -> None:
        if len(",".join(choices)) + 2 > LIST_LIMIT:  # too long for Excel: no drop-down, the checks still apply
            return
        self.validations.setdefault("\0".join((title, *choices)), []).append(cells)

    # sections ---------------------------------------------------------------------------

    def write(self) -> None:
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        ws = self.ws
        for index, column in enumerate(self.indicator_columns, start=1):
            ws.column_dimensions[get_column_letter(index)].width = column.width
        title = ws.cell(1, 1, TITLE.get(self.form.kind, TITLE["department"]))
        title.font, title.alignment = Font(bold=True, size=16), self.center
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=LAST_COLUMN)
        ws.row_dimensions[1].height = 30
        last = self.header()
        row = self.funds(last + 2)
        row = self.narratives(row + 2)
        row = self.indicators(row + 2)
        row = self.trailers(row + 1)
        self.untranscribed(row + 2)
        ws.freeze_panes = "A3"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = "1:2"
        self.add_validations()

    def header(self) -> int:
        """The header block; returns its last row."""
        from openpyxl.utils import get_column_letter

        form = self.form
        last = 0
        for key, label, row, column, end, record, kind in header_fields(form.project_block):
            self.label(row, column, label)
            if record == "slug":
                value = form.slug or None
            elif record == "project_id":
                value = form.project_id or None
            else:
                value = (form.department if record == "department" else form.report).get(key)
            if kind == "choice" and value is not None:
                value = _choice_label(key, value)
            self.put(row, column + 1, value, kind, end)
            cell = f"{get_column_letter(column + 1)}{row}"
            if key == "money_unit":
                self.validate(cell, MONEY_UNITS, label)
            elif key in CHOICES:
                self.validate(cell, list(CHOICES[key]), label)
            elif key == "layout":
                self.validate(cell, available_layouts(), label)
            elif key == "profile":
                self.validate(cell, available_profiles(), label)
            last = max(last, row)
        return last

    def funds(self, top: int) -> int:
        """The funds table from its header row ``top``; returns its last row."""
        form = self.form
        funds = form.report.get("funds") or {}
        for column, spec in enumerate(self.fund_columns, start=1):
            self.label(top, column, spec.header, header=True)
        self.ws.row_dimensions[top].height = 30
        sources = list(funds.get("sources") or []) + [{}] * form.blank_sources
        total_first = form.layout.form == "project"
        row = top
        if total_first:
            row = self.fund_total(row + 1)
        for index, source in enumerate(sources):
            row += 1
            for column, spec in enumerate(self.fund_columns, start=1):
                value = _marked(source, spec.key)
                if spec.key == "name" and isinstance(value, str):
                    value = _source_name(value, total_first and index == 0)
                self.put(row, column, value, spec.kind)
        if not total_first:
            row = self.fund_total(row + 1)
        return row

    def fund_total(self, row: int) -> int:
        funds = self.form.report.get("funds") or {}
        reported = funds.get("reported") or {}
        self.label(row, 1, self.form.layout.total_row)
        for column, spec in enumerate(self.fund_columns[1:], start=2):
            value = funds.get(spec.key) if spec.key in TOTAL_ONLY_FUND_FIELDS else _marked(reported, spec.key)
            self.put(row, column, value, spec.kind)
        return row

    def long_text(self, row: int, label: str, value: object) -> None:
        self.label(row, 1, label)
        self.put(row, 2, value, "text", LAST_COLUMN)
        self.ws.row_dimensions[row].height = self._text_height(value)

    def narratives(self, row: int) -> int:
        report = self.form.report
        shown = [(path, label) for path, label in NARRATIVES
                 if path != ("functions",) or self.form.kind == "department" or report.get("functions") is not None]
        for index, (path, label) in enumerate(shown):
            value = report.get(path[0]) if len(path) == 1 else (report.get(path[0]) or {}).get(path[1])
            self.long_text(row + index, label, value)
        return row + len(shown) - 1

    def indicators(self, top: int) -> int:
        from openpyxl.utils import get_column_letter

        columns = self.indicator_columns
        for column, spec in enumerate(columns, start=1):
            self.label(top, column, spec.header, header=True)
        self.ws.row_dimensions[top].height = 30
        rows = list(self.form.report.get("indicators") or []) + [{}] * self.form.blank_indicators
        row = top
        for data in rows:
            row += 1
            for column, spec in enumerate(columns, start=1):
                value = _marked(data, spec.key)
                if spec.kind == "choice" and value is not None:
                    value = _choice_label(spec.key, value)
                self.put(row, column, value, spec.kind)
        first, last = top + 1, max(row, top + 1)
        level1, level2 = level_lists(self.form.layout)
        for column, spec in enumerate(columns, start=1):
            cells = f"{get_column_letter(column)}{first}:{get_column_letter(column)}{last}"
            if spec.key == "level1":
                self.validate(cells, level1, spec.header)
            elif spec.key == "level2" and level2:
                self.validate(cells, level2, spec.header)
            elif spec.key == "nature":
                self.validate(cells, list(NATURES), spec.header)
            elif spec.key in CHOICES:
                self.validate(cells, list(CHOICES[spec.key]), spec.header)
        total_row = row + 1
        reported = self.form.report.get("reported") or {}
        self.label(total_row, 1, TOTAL_LABEL)
        score_column = [c.key for c in columns].index("score") + 1
        for column in range(2, score_column):
            self.put(total_row, column, None, "text")
        self.put(total_row, score_column, reported.get("total"), "score")
        self.label(total_row, score_column + 1, GRADE_LABEL)
        self.put(total_row, score_column + 2, reported.get("grade"), "text")
        self.validate(f"{get_column_letter(score_column + 2)}{total_row}", GRADES, GRADE_LABEL)
        return total_row

    def trailers(self, row: int) -> int:
        for index, (path, label) in enumerate(TRAILERS):
            self.long_text(row + index, label, self.form.report.get(path[0]))
        return row + len(TRAILERS) - 1

    def untranscribed(self, top: int) -> None:
        """The table of parts not transcribed: 未转录的部分 | 说明, one part a row."""

        self.label(top, 1, UNTRANSCRIBED_LABEL, header=True)
        self.label(top, 2, UNTRANSCRIBED_NOTE, header=True)
        for other in range(3, LAST_COLUMN + 1):
            self.ws.cell(top, other).border = self.border
        self.ws.merge_cells(start_row=top, start_column=2, end_row=top, end_column=LAST_COLUMN)
        parts = list(self.form.report.get("untranscribed") or []) + [{}] * self.form.blank_untranscribed
        row = top
        for part in parts:
            row += 1
            value = part.get("part") if isinstance(part, dict) else None
            self.put(row, 1, _choice_label("part", value) if value is not None else None, "choice")
            self.put(row, 2, part.get("note") if isinstance(part, dict) else None, "text", LAST_COLUMN)
        self.validate(f"A{top + 1}:A{max(row, top + 1)}", list(CHOICES["part"]), UNTRANSCRIBED_LABEL)

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

    def _text_height(self, value: object) -> float:
        """A row tall enough for the text (Excel does not size merged cells itself)."""
        if not value:
            return 20
        width = sum(c.width for c in self.indicator_columns[1:LAST_COLUMN])
        lines = 0
        for line in str(value).rstrip("\n").split("\n"):
            chars = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
            lines += max(1, math.ceil(chars * 1.1 / width))
        return min(409, 15 * lines + 6)


def _source_name(name: str, first_under_total: bool) -> str:
    """其中：<name> for the first source under a total printed first, and for any name the reader
    would otherwise shorten (so that it reads back whole)."""
    return AMONG + name if first_under_total or strip_among(name) != name else name


def _choice_label(key: str, value: object) -> object:
    for label, code in CHOICES[key].items():
        if code == value and type(code) is type(value):
            return label
    return value


def _marked(row: dict, key: str):
    """A cell's value as written: the illegible or untranscribed mark, or the record's value."""
    if key in (row.get("untranscribed") or ()):
        return UNTRANSCRIBED
    return ILLEGIBLE if key in (row.get("illegible") or ()) else row.get(key)
