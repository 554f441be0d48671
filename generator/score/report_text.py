"""The human-readable ``check`` output: one block per form, then its findings.

Colour only when writing to a terminal (and ``NO_COLOR`` is not set); ``--quiet`` keeps
the closing summary, ``--verbose`` adds every indicator's recomputed score.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from decimal import Decimal
from itertools import chain

from .check import CheckedSite
from .scoring import SCORED_KINDS, Interval, ScoredReport

_SEVERITY_LABEL = {"error": "error  ", "warning": "warning", "info": "info   "}
_COLOUR = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m", "bold": "\033[1m"}
_RESET = "\033[0m"


def use_colour(stream=None) -> bool:
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty() and not os.environ.get("NO_COLOR")


def _paint(text: str, style: str, colour: bool) -> str:
    return f"{_COLOUR[style]}{text}{_RESET}" if colour else text


def _num(value: Decimal | Interval | None) -> str:
    return "—" if value is None else format(value, "f") if isinstance(value, Decimal) else str(value)


def _vs(computed: Decimal | Interval | None, reported: Decimal | None, suffix: str = "") -> str:
    text = f"{_num(computed)}{suffix if computed is not None else ''}"
    if reported is not None and reported != computed:
        text += f" (reported {_num(reported)}{suffix})"
    return text


def format_form(form: ScoredReport, colour: bool = False, verbose: bool = False) -> str:
    r, ex = form.report, form.execution
    tag = " [fictional]" if r.department.fictional else ""
    project = f"  项目：{r.project or r.project_id}" if r.is_project else ""
    key = f"{r.department.slug} {r.year}" + (f"-{r.project_id}" if r.project_id else "")
    lines = [
        _paint(key, "bold", colour) + f"  {r.department.name}{tag}{project}",
        f"  execution rate {_vs(ex.rate, ex.reported_rate, '%')}   "
        f"score {_vs(ex.score_shown, ex.reported_score)} / {_num(ex.weight)}",
        f"  indicators {sum(1 for i in form.indicators if i.kind in SCORED_KINDS)}   "
        f"total {_vs(form.total_shown, r.reported_total)}   grade {form.grade}",
    ]
    if verbose:
        for row in form.indicators:
            ind = row.indicator
            if row.kind in SCORED_KINDS:
                target = ind.target.text if ind.target else "—"
                actual = ind.actual.text if ind.actual else "—"
                lines.append(f"    {ind.path} {ind.name}: {target} → {actual}: "
                             f"{_vs(row.score, ind.score)} / {_num(ind.weight)} ({row.kind})")
    for f in form.findings:
        label = _paint(_SEVERITY_LABEL[f.severity], f.severity, colour)
        message = " ".join(f.message.split())  # one finding, one line, whatever the record's text holds
        lines.append(f"  {label} {f.file}:{f.line}:{f.column}: {f.path}: [{f.code}] {message}")
    return "\n".join(lines)


def format_summary(site: CheckedSite, elapsed: float, colour: bool = False) -> str:
    return summary_line(len(site.forms), len(site.content.departments), site.config.profile,
                        site.findings_by_severity(), elapsed, colour)


def summary_line(forms: int, departments: int, profile, counts: dict[str, int], elapsed: float,
                 colour: bool = False) -> str:
    return (f"{forms} forms from {departments} departments checked "
            f"under profile {profile.name!r} ({profile.title}) in {elapsed:.2f} s: "
            f"{_paint(str(counts['error']) + ' errors', 'error', colour and bool(counts['error']))}, "
            f"{_paint(str(counts['warning']) + ' warnings', 'warning', colour and bool(counts['warning']))}, "
            f"{counts['info']} info")


def format_check(site: CheckedSite, elapsed: float, colour: bool = False, verbose: bool = False,
                 quiet: bool = False) -> str:
    blocks = [] if quiet else [format_form(form, colour, verbose) for form in site.forms]
    return "\n\n".join(blocks + _notices(site.notices, colour, quiet) + [format_summary(site, elapsed, colour)])


def format_checked_texts(checked, elapsed: float, colour: bool = False, quiet: bool = False) -> Iterator[str]:
    """:func:`format_check`'s text in pieces, from :func:`~generator.score.check_all.check_texts`
    (forms already formatted, read back one at a time)."""
    summary = summary_line(checked.forms, checked.departments, checked.config.profile, checked.counts, elapsed, colour)
    blocks = chain(() if quiet else checked.texts(), _notices(checked.notices, colour, quiet), [summary])
    for i, block in enumerate(blocks):
        yield block if i == 0 else "\n\n" + block


def _notices(notices, colour: bool, quiet: bool) -> list[str]:
    """The content folder's own findings (unused files), as one block."""
    if not notices or quiet:
        return []
    return ["content\n" + "\n".join(
        f"  {_paint(_SEVERITY_LABEL[f.severity], f.severity, colour)} {f.file}: [{f.code}] {f.message}"
        for f in notices)]
