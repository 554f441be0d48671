"""A workbook file as grids of cells, and one cell read as a field's value.

Workbooks come from anyone, so loading is guarded: size limits before unpacking, only
sheets named 自评表…, at most 5000 rows by 40 columns, and a formula is taken at its
saved result (a formula without one is a problem). :class:`SheetReader` then finds
labels and table columns by their text (spaces and full-width brackets do not matter), and
reads one cell as the kind of value its field holds; the numbers rules are in
:mod:`generator.excel_numbers`.
"""

from __future__ import annotations

import datetime
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .errors import Location, Problem
from .excel_layout import CHOICES, ILLEGIBLE_MARKS, SHEET, norm_label
from .excel_numbers import format_section, number_text, read_number
from .schema import describe_value, suggest
from .yamlsource import KeyPath, format_path

MAX_WORKBOOK_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = 40


@dataclass(frozen=True)
class Cell:
    """One non-empty cell as openpyxl read it."""

    value: object
    kind: str  # openpyxl data type: n(umber), s(tring), b(ool), d(ate), e(rror), f(ormula)
    fmt: str


def load_grids(path: Path, display: str) -> tuple[list[tuple[str, dict]], list[Problem]]:
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
            grid: dict[tuple[int, int], Cell] = {}
            for row in ws.iter_rows(min_row=1, max_row=MAX_ROWS + 1, max_col=MAX_COLUMNS):
                for cell in row:
                    if getattr(cell, "value", None) is None:
                        continue
                    if cell.row > MAX_ROWS:
                        problems.append(Problem(Location(f"{display}!{ws.title}"), "",
                                                f"more than {MAX_ROWS} rows", "one form per sheet"))
                        break
                    grid[(cell.row, cell.column)] = Cell(cell.value, cell.data_type, cell.number_format or "")
            grids.append((ws.title, grid))
        return grids, problems
    finally:
        book.close()


class SheetReader:
    """One form sheet's grid: find labels and table columns, read cells as field values.

    Problems are collected in :attr:`problems`, each located by its cell (``file.xlsx!自评表!C12``).
    """

    def __init__(self, grid: dict[tuple[int, int], Cell], display: str):
        self.grid, self.display = grid, display
        self.problems: list[Problem] = []
        self.labels: dict[str, list[tuple[int, int]]] = {}
        for (row, column), cell in sorted(grid.items()):
            if isinstance(cell.value, str):
                self.labels.setdefault(norm_label(cell.value), []).append((row, column))

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
        for row, col in self.labels.get(norm_label(label), []):
            if first <= row <= last and (column is None or col == column):
                return row, col
        return None

    def blank(self, row: int, column: int) -> bool:
        cell = self.grid.get((row, column))
        return cell is None or cell.value is None or (isinstance(cell.value, str) and not cell.value.strip())

    def illegible(self, row: int, column: int, path: KeyPath, locs: dict) -> bool:
        """Whether the cell reads 【无法辨认】; if so it locates ``path`` and its record's ``illegible``."""
        cell = self.grid.get((row, column))
        if cell is None or not isinstance(cell.value, str) or cell.value.strip() not in ILLEGIBLE_MARKS:
            return False
        locs.setdefault(path[:-1] + ("illegible",), self.loc(row, column))
        locs[path] = self.loc(row, column)
        return True

    def columns(self, row: int, columns: list, what: str, required: set[str]) -> dict[str, int] | None:
        """Map a table's keys to columns by the header texts in ``row``."""
        found: dict[str, int] = {}
        by_text = {norm_label(header): key for key, header, *_ in columns}
        for column in range(1, MAX_COLUMNS + 1):
            cell = self.grid.get((row, column))
            if cell is not None and isinstance(cell.value, str) and norm_label(cell.value) in by_text:
                found.setdefault(by_text[norm_label(cell.value)], column)
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
            number = read_number(value, cell.fmt) if not isinstance(value, bool) else value
            if kind == "integer" and isinstance(number, Decimal) and number == number.to_integral_value():
                number = int(number)
            return number
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = read_number(value, cell.fmt)
            if kind == "value" and "%" not in format_section(cell.fmt):
                return number
            return number_text(number) + ("%" if "%" in format_section(cell.fmt) else "")
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
