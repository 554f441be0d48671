"""The human-readable ``check`` output: one block per form, then its findings."""

from __future__ import annotations

from decimal import Decimal

from .check import CheckedSite
from .scoring import ScoredReport

_SEVERITY_LABEL = {"error": "error  ", "warning": "warning", "info": "info   "}


def _num(value: Decimal | None) -> str:
    return "—" if value is None else format(value, "f")


def _vs(computed: Decimal | None, reported: Decimal | None, suffix: str = "") -> str:
    text = f"{_num(computed)}{suffix if computed is not None else ''}"
    if reported is not None and reported != computed:
        text += f" (reported {_num(reported)}{suffix})"
    return text


def format_form(form: ScoredReport) -> str:
    r, ex = form.report, form.execution
    tag = " [fictional]" if r.department.fictional else ""
    lines = [
        f"{r.department.slug} {r.year}  {r.department.name}{tag}",
        f"  execution rate {_vs(ex.rate, ex.reported_rate, '%')}   "
        f"score {_vs(ex.score, ex.reported_score)} / {_num(ex.weight)}",
        f"  indicators {sum(1 for i in form.indicators if i.kind in ('quantity', 'qualitative'))}   "
        f"total {_vs(form.total, r.reported_total)}   grade {form.grade}",
    ]
    for f in form.findings:
        lines.append(f"  {_SEVERITY_LABEL[f.severity]} {f.file}:{f.line}:{f.column}: {f.path}: "
                     f"[{f.code}] {f.message}")
    return "\n".join(lines)


def format_check(site: CheckedSite, elapsed: float) -> str:
    blocks = [format_form(form) for form in site.forms]
    counts = site.findings_by_severity()
    profile = site.config.profile
    summary = (f"{len(site.forms)} forms from {len(site.content.departments)} departments checked "
               f"under profile {profile.name!r} ({profile.title}) in {elapsed:.2f} s: "
               f"{counts['error']} errors, {counts['warning']} warnings, {counts['info']} info")
    return "\n\n".join(blocks + [summary])
