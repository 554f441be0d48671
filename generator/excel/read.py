"""One form sheet → department and report data, every value located by its cell.

Import finds the header block by its labels and the tables by their header rows and end
rows, so rows may be inserted inside the tables; a table column is found by its header
text (perfsite's words or any shipped layout's). Rows with nothing in them are skipped; a
source row without amounts is skipped too (the template lists the layout's sources). A cell
reading 【无法辨认】 becomes the record's ``illegible`` list. The result is raw record data,
like a YAML file holds it, for the schema and the cross checks to judge; its problems point
at cells (``file.xlsx!自评表!C12``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Location, Problem
from ..read.layouts import Layout, Rules
from ..read.records import SLUG
from ..read.schema import DEPARTMENT_SCHEMA, FUND_FIELDS, INDICATOR_FIELDS, REPORT_SCHEMA, REPORTED_FUND_FIELDS
from ..read.validate import describe_value
from ..read.yamlsource import Document, KeyPath
from .grid import SheetReader
from .layout import (
    CHOICES,
    FORM_LABEL,
    FUNDS_ANCHOR,
    GRADE_LABEL,
    INDICATORS_ANCHOR,
    NARRATIVES,
    TOTAL_LABEL,
    TOTAL_ONLY_FUND_FIELDS,
    TRAILERS,
    UNTRANSCRIBED_LABEL,
    fund_columns,
    header_fields,
    header_map,
    indicator_columns,
    norm_label,
    strip_among,
    total_labels,
)
from .layout import FUND_FIELDS as FUND_COLUMNS
from .layout import INDICATOR_FIELDS as INDICATOR_COLUMNS


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
    project_id: str = ""  # names the file <year>-<project_id>.yaml; empty: <year>.yaml
    project_where: Location | None = None

    @property
    def form_where(self) -> Location:
        """The cell that names the file besides the year: 项目标识 on a project form."""
        return self.project_where if self.project_id and self.project_where else self.year_where


def read_form(grid: dict, display: str, rules: Rules) -> tuple[Form | None, list[Problem]]:
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
    named: dict[str, object] = {}  # slug and project id: they name files, not record keys
    wheres = {"slug": Location(display), "project_id": None, "year": Location(display)}
    for key, label, _, _, _, record, kind in header_fields(True):
        at = sheet.find(label, last=funds_at[0] - 1)
        if at is None:
            if key in ("name", "slug", "year"):
                sheet.fail(Location(display), "", f"cannot find the label {label} above the funds table",
                           "keep the header block of the perfsite template")
            continue
        row, column = at[0], at[1] + 1
        if key in wheres:
            wheres[key] = sheet.loc(row, column)
        if record in ("slug", "project_id"):
            named[key] = sheet.read(row, column, "text", (key,), {}, key)
            continue
        target, where = (department, dept_locs) if record == "department" else (header, locs)
        if key == "layout" and sheet.find(FORM_LABEL, last=funds_at[0] - 1) is None:
            kind = _old_form_cell(sheet, row, column, kind)  # a workbook from before layouts
            if kind == "choice":
                key = "form"
        value = sheet.read(row, column, kind, (key,), where, key)
        if value is not None:
            target[key] = value
    slug = _safe_name(sheet, named.get("slug"), wheres["slug"], "slug", "the department's folder name (部门标识)",
                      "e.g. wangcheng-kexie; it names the folder content/departments/<slug>")
    project_id = named.get("project_id")
    layout = _layout(header, project_id, rules)
    if project_id is not None:
        project_id = _safe_name(sheet, project_id, wheres["project_id"], "project_id",
                                "the project form's file name (项目标识)",
                                "e.g. keji-puji; it names the file content/departments/<slug>/<year>-<项目标识>.yaml"
                                ) or ""
    elif header.get("form") == "project" or layout.form == "project":
        hint = _id_hint(header.get("project_code"))
        if wheres["project_id"] is None:
            sheet.fail(Location(display), "project_id", "a project form needs the label 项目标识 above the funds "
                       "table: it names the file <year>-<项目标识>.yaml",
                       "start from a project template, e.g. perfsite template --layout national-project")
        else:
            sheet.fail(wheres["project_id"], "project_id", "required for a project form: the file name (项目标识), "
                       "saved as <year>-<项目标识>.yaml", hint)
        project_id = ""
    else:
        project_id = ""

    section_end = min([at[0] for _, label in NARRATIVES
                       if (at := sheet.find(label, first=funds_at[0] + 1, last=indicators_at[0] - 1))]
                      + [indicators_at[0]])
    funds, readable = _read_funds(sheet, funds_at, section_end, locs, rules, layout)
    texts: dict[KeyPath, str] = {}
    for path, label in NARRATIVES:
        at = sheet.find(label, first=funds_at[0] + 1, last=indicators_at[0] - 1)
        if at:
            value = sheet.read(at[0], at[1] + 1, "text", path, locs)
            if value is not None:
                texts[path] = _narrative(value) if isinstance(value, str) else value
    indicators, end = _read_indicators(sheet, indicators_at, locs, rules, layout)
    reported: dict = {}
    untranscribed: list = []
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
        untranscribed = _read_untranscribed(sheet, end[0], locs)
    if readable and not funds.get("sources") and not funds.get("reported") and not any(
            isinstance(u, dict) and u.get("part") == "funds" for u in untranscribed):
        sheet.fail(locs[("funds",)], "funds", "expected the funds rows: a source row, or the 年度资金总额 row",
                   "type the amounts as printed; if the source does not show them, choose 资金情况 under 未转录的部分")

    data: dict = {}
    goals = {path[1]: texts[path] for path, _ in NARRATIVES[1:] if path in texts}
    parts = {**header, "funds": funds, "functions": texts.get(("functions",)), "goals": goals or None,
             "indicators": indicators or None, "reported": reported or None,
             "source": texts.get(("source",)), "source_url": texts.get(("source_url",)),
             "notes": texts.get(("notes",)), "untranscribed": untranscribed or None}
    for key in REPORT_SCHEMA["properties"]:
        if parts.get(key) is not None:
            data[key] = parts[key]
    dept_data = {key: department[key] for key in DEPARTMENT_SCHEMA["properties"] if key in department}
    report_doc = SheetDocument(display, data, cells=locs)
    dept_doc = SheetDocument(display, dept_data, cells=dept_locs)
    return Form(display, slug, dept_doc, report_doc, wheres["slug"], wheres["year"], project_id,
                wheres["project_id"]), sheet.problems


def _old_form_cell(sheet: SheetReader, row: int, column: int, kind: str) -> str:
    """Workbooks made before layouts hold the form kind under 表样 (and no 表的种类): read it as such."""
    cell = sheet.grid.get((row, column))
    if cell is not None and isinstance(cell.value, str) and cell.value.strip() in CHOICES["form"]:
        return "choice"
    return kind


def _safe_name(sheet: SheetReader, value: object, where: Location, key: str, what: str, hint: str) -> str | None:
    """A slug or project id: lowercase letters, digits and hyphens (it names a folder or a file)."""
    if value is None:
        if key == "slug":
            sheet.fail(where, key, f"required: {what}", "lowercase letters, digits and hyphens, e.g. wangcheng-kexie")
        return None
    if not isinstance(value, str) or not SLUG.match(value):
        sheet.fail(where, key, f"expected lowercase letters, digits and hyphens, got {describe_value(value)}", hint)
        return None
    return value


def _id_hint(code: object) -> str:
    """A project id to suggest: the project code in lowercase, when that is a safe name."""
    if isinstance(code, str) and SLUG.match(code.strip().lower()):
        return f"lowercase letters, digits and hyphens, e.g. {code.strip().lower()}, the 项目编码 in lowercase"
    return "lowercase letters, digits and hyphens, e.g. keji-puji"


def _layout(header: dict, project_id: object, rules: Rules) -> Layout:
    """The layout the record names, else the site's default for its form kind (an unknown name is
    the cross checks' to report)."""
    name = header.get("layout")
    if isinstance(name, str) and name in rules.layouts:
        return rules.layouts[name]
    kind = header.get("form") if header.get("form") in rules.default_layouts else None
    return rules.default_layout(kind or ("project" if project_id else "department"))


def _narrative(text: str) -> str:
    """Prose is written as a ``|`` block, which ends with a line break."""
    return text + "\n"


def _read_funds(sheet: SheetReader, at: tuple[int, int], limit: int, locs: dict, rules: Rules,
                layout: Layout) -> tuple[dict, bool]:
    """The funds table between its header row and ``limit``; whether it could be read."""
    top, base = at
    locs[("funds",)] = locs[("funds", "sources")] = sheet.loc(top, base)
    headers = {c.key: c.header for c in fund_columns(layout)}
    columns = sheet.columns(top, header_map(FUND_COLUMNS, rules, layout, funds=True), headers, "funds",
                            {"name", "budget", "executed"})
    totals = total_labels(rules)
    end = next(((row, column) for row, column in sorted(sheet.labels_in(totals, top + 1, limit - 1))
                if column == base), None)
    if end is None:
        sheet.fail(sheet.loc(top, base), "funds", f"cannot find the row {layout.total_row} in the funds table",
                   f"keep the {layout.total_row} row of the template")
    funds: dict = {}
    if columns is None or end is None:
        return funds, False
    kinds = {key: kind for key, (_, kind) in FUND_COLUMNS.items()}
    values = [key for key in FUND_COLUMNS if key in columns and key != "name"]
    sources = []
    for row in range(top + 1, limit):
        if row == end[0] or all(sheet.blank(row, columns[key]) for key in values):
            continue
        path = ("funds", "sources", len(sources))
        locs[path] = sheet.loc(row, columns["name"])
        source: dict = {}
        name = sheet.read(row, columns["name"], "text", path + ("name",), locs)
        if name is not None:
            source["name"] = strip_among(name) if isinstance(name, str) else name
        illegible, untranscribed = [], []
        for key in values:
            if key in TOTAL_ONLY_FUND_FIELDS:
                if not sheet.blank(row, columns[key]):
                    sheet.fail(sheet.loc(row, columns[key]), path,
                               f"{headers.get(key, FUND_COLUMNS[key][0])} belongs on the {layout.total_row} row",
                               "leave it empty on a source row")
                continue
            marked = sheet.illegible(row, columns[key], path + (key,), locs)
            if marked:
                (illegible if marked == "illegible" else untranscribed).append(key)
                continue
            value = sheet.read(row, columns[key], kinds[key], path + (key,), locs)
            if value is not None:
                source[key] = value
        source = {key: source[key] for key in ("name", *FUND_FIELDS) if key in source}
        if illegible:
            source["illegible"] = [key for key in FUND_FIELDS if key in illegible]
        if untranscribed:
            source["untranscribed"] = [key for key in FUND_FIELDS if key in untranscribed]
        sources.append(source)
    locs[("funds", "reported")] = sheet.loc(end[0], end[1])
    reported: dict = {}
    illegible, untranscribed = [], []
    for key in values:
        path = ("funds", key) if key in TOTAL_ONLY_FUND_FIELDS else ("funds", "reported", key)
        marked = sheet.illegible(end[0], columns[key], path, locs) if key in REPORTED_FUND_FIELDS else None
        if marked:
            (illegible if marked == "illegible" else untranscribed).append(key)
            continue
        value = sheet.read(end[0], columns[key], kinds[key], path, locs)
        if value is None:
            continue
        if key in TOTAL_ONLY_FUND_FIELDS:
            funds[key] = value
        else:
            reported[key] = value
    reported = {key: reported[key] for key in REPORTED_FUND_FIELDS if key in reported}
    if illegible:
        reported["illegible"] = [key for key in REPORTED_FUND_FIELDS if key in illegible]
    if untranscribed:
        reported["untranscribed"] = [key for key in REPORTED_FUND_FIELDS if key in untranscribed]
    if sources:
        funds["sources"] = sources
    if reported:
        funds["reported"] = reported
    return funds, True


def _read_indicators(sheet: SheetReader, at: tuple[int, int], locs: dict, rules: Rules, layout: Layout):
    top, base = at
    locs[("indicators",)] = sheet.loc(top, base)
    order = [c.key for c in indicator_columns(layout, set(INDICATOR_COLUMNS))]
    headers = {c.key: c.header for c in indicator_columns(layout)}
    columns = sheet.columns(top, header_map(INDICATOR_COLUMNS, rules, layout, funds=False), headers, "indicator",
                            {"level1", "level2"})
    end = sheet.find(TOTAL_LABEL, first=top + 1, column=base)
    if end is None:
        sheet.fail(sheet.loc(top, base), "indicators", f"cannot find the row {TOTAL_LABEL} below the indicator table",
                   "keep the 总分 row of the template")
    if columns is None or end is None:
        return [], None
    rows = []
    for row in range(top + 1, end[0]):
        if all(sheet.blank(row, column) for column in columns.values()):
            continue
        path = ("indicators", len(rows))
        locs[path] = sheet.loc(row, columns["level1"])
        data: dict = {}
        illegible, untranscribed = [], []
        for key in order:
            if key not in columns:
                continue
            column = columns[key]
            marked = sheet.illegible(row, column, path + (key,), locs) if key in INDICATOR_FIELDS else None
            if marked:
                (illegible if marked == "illegible" else untranscribed).append(key)
                continue
            value = sheet.read(row, column, INDICATOR_COLUMNS[key][1], path + (key,), locs, key)
            if value is not None:
                data[key] = value
        if illegible:
            data["illegible"] = [key for key in INDICATOR_FIELDS if key in illegible]
        if untranscribed:
            data["untranscribed"] = [key for key in INDICATOR_FIELDS if key in untranscribed]
        rows.append(data)
    score_column = columns.get("score")
    if score_column is None:
        sheet.fail(sheet.loc(top, base), "", f"the indicator header row has no column {headers['score']}")
        return rows, None
    return rows, (end[0], score_column)


def _read_untranscribed(sheet: SheetReader, below: int, locs: dict) -> list:
    """The rows of the table 未转录的部分 | 说明 (anywhere below the 总分 row), one part a row."""
    at = sheet.find(UNTRANSCRIBED_LABEL, first=below + 1)
    if at is None:
        return []
    top, base = at
    locs[("untranscribed",)] = sheet.loc(top, base)
    trailers = {norm_label(label) for _, label in TRAILERS}
    parts = []
    for row in range(top + 1, sheet.last_row + 1):
        if sheet.blank(row, base) and sheet.blank(row, base + 1):
            continue
        cell = sheet.grid.get((row, base))
        if cell is not None and isinstance(cell.value, str) and norm_label(cell.value) in trailers:
            continue
        path = ("untranscribed", len(parts))
        locs[path] = sheet.loc(row, base)
        entry: dict = {}
        part = sheet.read(row, base, "choice", path + ("part",), locs, "part")
        if part is not None:
            entry["part"] = part
        note = sheet.read(row, base + 1, "text", path + ("note",), locs)
        if note is not None:
            entry["note"] = note
        parts.append(entry)
    return parts
