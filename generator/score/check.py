"""Read, validate, score and audit: the one sequence under ``check``, ``build`` and ``serve``.

:func:`check_form` is the only place a form is scored and audited; :func:`check_department`
the only place a department folder is read and checked. ``check`` runs them over every
department; the build's workers over the departments that changed; ``serve`` over what an
edit touched (through the record cache).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import chain
from pathlib import Path

from ..errors import ContentError, Problem
from ..read.config import SiteConfig, load_config
from ..read.model import Department, Report
from ..read.profiles import Profile
from ..read.records import (
    Content,
    RecordCache,
    form_order,
    list_departments,
    read_department_folder,
    unused_files,
)
from .audit import SLIM_BY_ID, Finding, audit_report
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
        counts = severity_counts(self.forms)
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
        checked, found = check_department(config, slug)
        problems += found
        if checked is None or problems:
            continue
        departments.append(checked[0])
        forms += [replace(form, report=replace(form.report, doc=None)) for form in checked[1]]
    if problems:
        raise ContentError(problems)
    return CheckedSite(config, Content(tuple(departments), tuple(f.report for f in forms)), tuple(forms),
                       content_notices(config))


def check_department(config: SiteConfig, slug: str, cache: RecordCache | None = None
                     ) -> tuple[tuple[Department, tuple[ScoredReport, ...]] | None, list[Problem]]:
    """One department folder read, validated, scored and audited, its forms in year order."""
    result, problems = read_department_folder(config.departments_dir / slug, f"content/departments/{slug}", cache,
                                              config.rules)
    if result is None or problems:
        return None, problems
    department, reports = result
    return (department, tuple(check_form(r, config.profile_for(r)) for r in sorted(reports, key=form_order))), []


def check_form(report: Report, profile: Profile) -> ScoredReport:
    """A form recomputed under its profile (:meth:`SiteConfig.profile_for`) and audited against
    what it reported."""
    return audit_report(score_report(report, profile))


def content_notices(config: SiteConfig, known=None, unchanged=lambda slug: False) -> tuple[Finding, ...]:
    """Findings about the content folder rather than one form (a site.yaml that names no profile,
    files nothing reads), for ``check``, ``build`` and ``serve`` alike: ``--strict`` fails on them.
    ``known``/``unchanged``: see :func:`~generator.read.records.unused_files`."""
    notices = []
    if not config.profile_chosen:
        notices.append(Finding(
            "profile-not-chosen", "warning", "profile", "content/site.yaml", 1, 0, None, config.profile.name,
            f"site.yaml names no profile: every form is scored under '{config.profile.name}' "
            f"({config.profile.title}); write the rules that apply, e.g. profile: {config.profile.name} "
            "(perfsite profiles lists them)"))
    notices += [Finding("unused-file", "warning", "", str(p.location), 0, 0, None, None,
                        f"{p.message} ({p.hint})") for p in unused_files(config, known, unchanged)]
    return tuple(notices)


def severity_counts(forms: list[ScoredReport]) -> dict[str, int]:
    counts = {"error": 0, "warning": 0, "info": 0}
    for (severity, _code), n in finding_tally(forms).items():
        counts[severity] += n
    return counts


def finding_tally(forms: list[ScoredReport]) -> dict[tuple[str, str], int]:
    """The findings of ``forms`` counted by severity and kind. The forms the every-form pages
    get share one finding object per kind (:func:`~generator.site.pipeline.slim`), so the
    34,000 findings of a year of 2,000 forms are counted by identity, in C, then by kind; any
    other finding is counted one by one."""
    by_id = Counter(map(id, chain.from_iterable(form.findings for form in forms)))
    tally: dict[tuple[str, str], int] = defaultdict(int)
    others = set()
    for key, n in by_id.items():
        finding = SLIM_BY_ID.get(key)
        if finding is None:
            others.add(key)
        else:
            tally[(finding.severity, finding.code)] += n
    if others:
        for finding in chain.from_iterable(form.findings for form in forms):
            if id(finding) in others:
                tally[(finding.severity, finding.code)] += 1
    return dict(tally)
