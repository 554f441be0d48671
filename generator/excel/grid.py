"""A workbook file as grids of cells, and one cell read as a field's value.

Workbooks come from anyone, so loading is guarded: the file is checked before openpyxl
parses it (:mod:`generator.excel.unpack`), only sheets named 自评表… are read, at most 5000
rows by 40 columns, a cell whose stored value cannot be read is reported by its cell (all of
them at once), and a formula is taken at its saved result (a formula without one is a
problem). :class:`SheetReader` then finds
labels and table columns by their text (spaces and full-width brackets do not matter), and
reads one cell as the kind of value its field holds; the numbers rules are in
:mod:`generator.excel.numbers`.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ..errors import Location, Problem
from ..read.validate import describe_value, suggest
from ..read.yamlsource import KeyPath, format_path
from .layout import CHOICES, ILLEGIBLE_MARKS, SHEET, UNTRANSCRIBED_MARKS, norm_label
from .numbers import format_section, number_text, read_number
from .unpack import read_workbook

MAX_ROWS = 5000
MAX_COLUMNS = 40


@dataclass(frozen=True)
class Cell:
    """One non-empty cell as openpyxl read it."""

    value: object
    kind: str  # openpyxl data type: n(umber), s(tring), b(ool), d(ate), e(rror), f(ormula), x (unreadable)
    fmt: str


@dataclass(frozen=True)
class Unreadable:
    """A cell whose stored value openpyxl cannot turn into one (``NaN`` in a number cell)."""

    text: str
    kind: str


def load_grids(path: Path, display: str) -> tuple[list[tuple[str, dict]], list[Problem]]:
    """The form sheets of a workbook as {(row, column): cell}; formulas give their saved results."""
    raw, problems = read_workbook(path, display)
    if raw is None:
        return [], problems
    grids, problems = _read_grids(raw, display, data_only=False)
    formulas = {(name, pos) for name, grid in grids for pos, cell in grid.items() if cell.kind == "f"}
    if formulas and not problems:
        saved, problems = _read_grids(raw, display, data_only=True)
        for name, grid in saved:
            for pos in sorted(p for n, p in formulas if n == name):
                if grid.get(pos) is None or grid[pos].value is None:
                    from openpyxl.utils import get_column_letter

                    problems.append(Problem(Location(f"{display}!{name}!{get_column_letter(pos[1])}{pos[0]}"),
                                            "", "a formula without a saved result",
                                            "open the workbook in Excel and save it, or type the value"))
        grids = saved
    return grids, problems


def _read_grids(raw: bytes, display: str, data_only: bool):
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=data_only)
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
            try:
                for cell in _cells(ws):
                    if cell.value is None or cell.column > MAX_COLUMNS:
                        continue
                    if cell.row > MAX_ROWS:
                        problems.append(Problem(Location(f"{display}!{ws.title}"), "",
                                                f"more than {MAX_ROWS} rows", "one form per sheet"))
                        break
                    grid[(cell.row, cell.column)] = Cell(cell.value, cell.data_type, _number_format(cell))
            except Exception as exc:  # a sheet openpyxl cannot read past (a bad row number): name it
                problems.append(Problem(Location(f"{display}!{ws.title}"), "", f"cannot read the sheet: {exc}",
                                        "save it again from Excel as .xlsx"))
            grids.append((ws.title, grid))
        return grids, problems
    finally:
        book.close()


def _cells(ws):
    """Every stored cell of a read-only sheet, in order; a value openpyxl cannot cast is :class:`Unreadable`.

    openpyxl's own ``iter_rows`` stops the whole sheet at the first such cell with a bare
    ``ValueError``; this parser keeps going, so every bad cell is reported at once, by its cell.
    """
    from openpyxl.cell.read_only import ReadOnlyCell
    from openpyxl.utils import coordinate_to_tuple
    from openpyxl.worksheet._reader import WorkSheetParser

    class Parser(WorkSheetParser):
        def parse_cell(self, element):
            try:
                return super().parse_cell(element)
            except (ValueError, TypeError, IndexError, KeyError, OverflowError):
                row, column = coordinate_to_tuple(element.get("r"))  # unlocated: the sheet's problem
                text = element.findtext(f"{{{SHEET_MAIN}}}v") or ""
                return {"row": row, "column": column, "value": Unreadable(text, element.get("t", "n")),
                        "data_type": "x", "style_id": 0}

    book = ws.parent
    with ws._get_source() as source:
        parser = Parser(source, ws._shared_strings, data_only=book.data_only, epoch=book.epoch,
                        date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        for _, row in parser.parse():
            for cell in row:
                yield ReadOnlyCell(ws, **cell)


SHEET_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _number_format(cell) -> str:
    try:
        return cell.number_format or ""
    except IndexError:  # a style number the workbook does not define: shown as General
        return ""


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

    def illegible(self, row: int, column: int, path: KeyPath, locs: dict) -> str | None:
        """``illegible`` when the cell reads 【无法辨认】, ``untranscribed`` when it reads 【未转录】, else
        None; a marked cell locates ``path`` and its record's list."""
        cell = self.grid.get((row, column))
        if cell is None or not isinstance(cell.value, str):
            return None
        text = cell.value.strip()
        kind = "illegible" if text in ILLEGIBLE_MARKS else "untranscribed" if text in UNTRANSCRIBED_MARKS else None
        if kind is not None:
            locs.setdefault(path[:-1] + (kind,), self.loc(row, column))
            locs[path] = self.loc(row, column)
        return kind

    def columns(self, row: int, by_text: dict[str, str], headers: dict[str, str], what: str,
                required: set[str]) -> dict[str, int] | None:
        """Map a table's keys to columns by the header texts in ``row`` (``by_text``: normalised
        header text → key); ``headers`` names the required columns in messages."""
        found: dict[str, int] = {}
        for column in range(1, MAX_COLUMNS + 1):
            cell = self.grid.get((row, column))
            if cell is not None and isinstance(cell.value, str) and norm_label(cell.value) in by_text:
                found.setdefault(by_text[norm_label(cell.value)], column)
        keys = (*headers, *sorted(required - headers.keys()))
        missing = [key for key in keys if key in required and key not in found]
        for key in missing:
            self.fail(self.loc(row, 1), "", f"the {what} header row has no column {headers.get(key, key)}",
                      "keep the header texts of the perfsite template")
        return None if missing else found

    def labels_in(self, labels: set[str], first: int, last: int) -> list[tuple[int, int]]:
        """Where any of the (normalised) ``labels`` sits between rows ``first`` and ``last``."""
        return [at for label in labels for at in self.labels.get(label, []) if first <= at[0] <= last]

    @property
    def last_row(self) -> int:
        return max((row for row, _ in self.grid), default=0)

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
        if isinstance(value, Unreadable):
            self.fail(where, path, f"the cell stores {describe_value(value.text)}, not "
                      f"{_STORED.get(value.kind, 'a value')} Excel can hold",
                      "type the number itself" if value.kind == "n" else "type the value itself")
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
            number = self.number(value, cell.fmt, where, path) if not isinstance(value, bool) else value
            if kind == "integer" and isinstance(number, Decimal) and number == number.to_integral_value():
                number = int(number)
            return number
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = self.number(value, cell.fmt, where, path)
            if number is None:
                return None
            if kind == "value" and "%" not in format_section(cell.fmt):
                return number
            return number_text(number) + ("%" if "%" in format_section(cell.fmt) else "")
        return value

    def number(self, value: object, fmt: str, where: Location, path: KeyPath) -> object:
        try:
            return read_number(value, fmt)
        except ValueError as exc:  # infinite, or more digits than any form holds
            self.fail(where, path, f"the cell stores {exc}", "type the number itself")
            return None

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


_STORED = {"n": "a number", "s": "a text", "b": "a true/false value", "d": "a date"}


def _date_text(value) -> str:
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    return value.isoformat()
