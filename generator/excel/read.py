"""One form sheet → department and report data, every value located by its cell.

Import finds the header block by its labels and the tables by their header rows and end
rows, so rows may be inserted inside the tables; a table column is found by its header
text. Rows with nothing in them are skipped; a source row without amounts is skipped too
(the template lists 财政拨款 and 其他资金). A cell reading 【无法辨认】 becomes the record's
``illegible`` list. The result is raw record data, like a YAML file holds it, for the
schema and the cross checks to judge; its problems point at cells (``file.xlsx!自评表!C12``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Location, Problem
from ..read.records import SLUG
from ..read.schema import DEPARTMENT_SCHEMA, FUND_FIELDS, INDICATOR_FIELDS, REPORT_SCHEMA
from ..read.validate import describe_value
from ..read.yamlsource import Document, KeyPath
from .grid import SheetReader
from .layout import (
    FUND_COLUMNS,
    FUNDS_ANCHOR,
    FUNDS_TOTAL,
    GRADE_LABEL,
    HEADER_FIELDS,
    INDICATOR_COLUMNS,
    INDICATORS_ANCHOR,
    NARRATIVES,
    TOTAL_LABEL,
    TRAILERS,
)


@dataclass
class SheetDocument(Document):
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
class Form:
    """One form sheet read into record data, with the cell of every value."""

    display: str  # "file.xlsx!自评表"
    slug: str | None
    department: SheetDocument
    report: SheetDocument
    slug_where: Location
    year_where: Location


def read_form(grid: dict, display: str) -> tuple[Form | None, list[Problem]]:
    """One form sheet → department and report documents located in the sheet's cells."""
    sheet = SheetReader(grid, display)
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
    report_doc = SheetDocument(display, data, cells=locs)
    dept_doc = SheetDocument(display, dept_data, cells=dept_locs)
    return Form(display, slug, dept_doc, report_doc, slug_where, year_where), sheet.problems


def _narrative(text: str) -> str:
    """Prose is written as a ``|`` block, which ends with a line break."""
    return text + "\n"


def _read_funds(sheet: SheetReader, at: tuple[int, int], limit: int, locs: dict) -> tuple[dict, int]:
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
            if sheet.illegible(row, columns[key], path + (key,), locs):
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


def _read_indicators(sheet: SheetReader, at: tuple[int, int], locs: dict):
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
            if key in INDICATOR_FIELDS and sheet.illegible(row, column, path + (key,), locs):
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
