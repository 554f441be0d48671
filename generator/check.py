"""Read, validate, score and audit a whole project: the engine under every command."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from .audit import Finding, audit_report
from .config import SiteConfig, load_config
from .errors import ContentError
from .records import Content, list_departments, read_department_folder, unused_files
from .scoring import ScoredReport, score_report


@dataclass(frozen=True)
class CheckedSite:
    config: SiteConfig
    content: Content
    forms: tuple[ScoredReport, ...]
    notices: tuple[Finding, ...] = ()  # about the content folder, not one form: unused files

    def findings_by_severity(self) -> dict[str, int]:
        return dict(self._severity_counts)

    @cached_property
    def _severity_counts(self) -> dict[str, int]:
        """Counted once: the overview, the quality page and the command line all ask."""
        counts = {"error": 0, "warning": 0, "info": 0}
        for form in self.forms:
            for finding in form.findings:
                counts[finding.severity] += 1
        for finding in self.notices:
            counts[finding.severity] += 1
        return counts


def check_project(project_dir: Path) -> CheckedSite:
    """Everything ``check`` knows about a project; raises with every content problem.

    Departments are read one at a time and each form is scored and audited at once, then
    let go of its source positions, so memory does not grow with the parse trees of
    thousands of forms.
    """
    config = load_config(project_dir)
    listed, problems = list_departments(config)
    departments, forms = [], []
    for slug, _count in listed:
        result, found = read_department_folder(config.departments_dir / slug, f"content/departments/{slug}")
        problems += found
        if result is None or problems:
            continue
        departments.append(result[0])
        for report in sorted(result[1], key=lambda r: r.year):
            form = audit_report(score_report(report, config.profile))
            forms.append(replace(form, report=replace(form.report, doc=None)))
    if problems:
        raise ContentError(problems)
    return CheckedSite(config, Content(tuple(departments), tuple(f.report for f in forms)), tuple(forms),
                       content_notices(config))


def content_notices(config: SiteConfig) -> tuple[Finding, ...]:
    """Findings about the content folder rather than one form (files nothing reads), for
    ``check``, ``build`` and ``serve`` alike: ``--strict`` fails on them everywhere."""
    return tuple(Finding("unused-file", "warning", "", str(p.location), 0, 0, None, None,
                         f"{p.message} ({p.hint})") for p in unused_files(config))
