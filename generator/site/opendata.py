"""Open-data downloads: every form as JSON (the ``check`` contract), CSV and its source YAML.

CSV files are UTF-8 with a BOM so Excel shows Chinese correctly; numbers are written
from their exact Decimal text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from ..score.scoring import ScoredReport
from .export import dumps, form_to_dict
from .sitemodel import data_base, report_url

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


def reports_json(fragments: Iterable[bytes]) -> Iterator[bytes]:
    """The ``check`` JSON envelope around compact per-form objects, in pieces (it may be large)."""
    yield b'{"forms": ['
    for index, fragment in enumerate(fragments):
        yield fragment if index == 0 else b", " + fragment
    yield b"]}\n"


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


def form_outputs(form: ScoredReport, source_bytes: bytes) -> FormOutputs:
    r = form.report
    base = data_base(r)
    fragment = dumps(form_to_dict(form), indent=None).encode("utf-8")
    indicators = csv_lines(indicator_rows(form)).encode("utf-8")
    files = {
        f"{base}.json": b"".join(reports_json([fragment])),
        f"{base}.csv": csv_document(INDICATOR_COLUMNS, [indicators]),
        f"{base}.yaml": source_bytes,
    }
    return FormOutputs(files, fragment, csv_lines([report_row(form)]).encode("utf-8"), indicators)
