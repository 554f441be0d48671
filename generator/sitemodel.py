"""What the site consists of: every page with its context, every download, every chart.

Nothing is rendered or written here; the model is plain data so render and output
stay simple and a change can be traced to the pages it affects.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from . import charts
from .check import CheckedSite
from .markdown import render_markdown
from .model import Department
from .scoring import ScoredReport

EVERY_RECORD = "*"


@dataclass(frozen=True)
class Page:
    """One HTML page: ``dest_path`` is relative to the output folder.

    The context is made only when the page is rendered, so a rebuild that re-renders
    three pages does not build the charts and narratives of three thousand. ``deps``
    names the content files whose change makes the page stale (``*``: any of them).
    """

    dest_path: str
    template: str
    title: str
    make_context: Callable[[], dict] = field(default=dict, compare=False, repr=False)
    deps: frozenset[str] = frozenset()
    in_sitemap: bool = True

    @property
    def context(self) -> dict:
        return self.make_context()

    @property
    def root(self) -> str:
        """Relative prefix from this page to the site root (``../../``)."""
        return "../" * self.dest_path.count("/")


def form_url(slug: str, year: int) -> str:
    return f"departments/{slug}/{year}/index.html"


def department_url(slug: str) -> str:
    return f"departments/{slug}/index.html"


def year_url(year: int) -> str:
    return f"{year}/index.html"


def finding_anchor(path: str) -> str:
    """The id of the table cell or section a finding points at."""
    match = re.match(r"indicators\[(\d+)\]", path)
    if match:
        return f"indicator-{match.group(1)}"
    if path.startswith("funds.reported.rate"):
        return "funds-rate"
    if path.startswith("funds.reported.score"):
        return "funds-score"
    if path.startswith("reported"):
        return "total"
    if path.startswith("funds"):
        return "funds"
    return "indicators" if path.startswith("indicators") else "findings"


@dataclass(frozen=True)
class IndicatorRow:
    result: object
    level1_span: int  # 0: covered by the row above
    level2_span: int
    flagged: frozenset[str]


def indicator_rows(form: ScoredReport) -> list[IndicatorRow]:
    """The official layout: 一级 and 二级 merged over consecutive rows (rowspans)."""
    results = form.indicators
    flagged: dict[int, set[str]] = defaultdict(set)
    for f in form.findings:
        match = re.match(r"indicators\[(\d+)\](?:\.(\w+))?", f.path)
        if match and f.severity in ("error", "warning"):
            flagged[int(match.group(1))].add(match.group(2) or "row")
    rows = []
    for i, r in enumerate(results):
        ind = r.indicator
        span1 = span2 = 0
        if i == 0 or results[i - 1].indicator.level1 != ind.level1:
            span1 = _run_length(results, i, lambda x: x.indicator.level1)
        if span1 or results[i - 1].indicator.level2 != ind.level2:
            key = (ind.level1, ind.level2)
            span2 = _run_length(results, i, lambda x: (x.indicator.level1, x.indicator.level2), key)
        rows.append(IndicatorRow(r, span1, span2, frozenset(flagged.get(ind.index, ()))))
    return rows


def _run_length(results, start, key, value=None) -> int:
    value = key(results[start]) if value is None else value
    n = 0
    while start + n < len(results) and key(results[start + n]) == value:
        n += 1
    return n


def build_site_model(site: CheckedSite, t: dict, glossary: tuple[dict, ...] = (), preview: bool = False) -> list[Page]:
    """Every page of the site, in a stable order (contexts are made lazily).

    ``preview``: the dev server serves the site at its own root, not at ``base_url``.
    """
    profile = site.config.profile
    forms = list(site.forms)
    by_year: dict[int, list[ScoredReport]] = defaultdict(list)
    by_department: dict[str, list[ScoredReport]] = defaultdict(list)
    for form in forms:
        by_year[form.report.year].append(form)
        by_department[form.report.department.slug].append(form)
    grades = [g for g, _ in profile.grades]
    years = sorted(by_year, reverse=True)
    departments = sorted(site.content.departments, key=lambda d: d.slug)
    every = frozenset({EVERY_RECORD})

    pages = [Page("index.html", "index.html", site.config.title,
                  partial(index_context, site, by_year, years, departments, grades, t), every)]
    for year in years:
        pages.append(Page(year_url(year), "year.html", f"{year} {t['year_page_title']}",
                          partial(year_context, year, by_year[year], profile, grades, t), every))
    pages.append(Page("departments/index.html", "departments.html", t["departments"],
                      partial(lambda: {"departments": [(d, by_department.get(d.slug, [])) for d in departments]}),
                      every))
    for department in departments:
        history = sorted(by_department.get(department.slug, []), key=lambda f: f.report.year)
        deps = frozenset({department.src_path} | {f.report.src_path for f in history})
        pages.append(Page(department_url(department.slug), "department.html", department.name,
                          partial(department_context, department, history, t), deps))
        for i, form in enumerate(history):
            previous = history[i - 1] if i > 0 else None
            following = history[i + 1] if i + 1 < len(history) else None
            r = form.report
            pages.append(Page(form_url(r.department.slug, r.year), "form.html", f"{r.department.name} {r.year}",
                              partial(form_context, form, previous, following, t), deps))
    pages.append(Page("quality/index.html", "quality.html", t["quality"],
                      partial(lambda: {"groups": quality_groups(departments, by_department),
                                       "counts": site.findings_by_severity(),
                                       "codes": finding_code_counts(forms)}), every))
    pages.append(Page("glossary/index.html", "glossary.html", t["glossary"], partial(dict, glossary=glossary)))
    if site.config.search:
        pages.append(Page("search/index.html", "search.html", t["search"], partial(dict), in_sitemap=False))
    # served for any missing URL, so relative links only work with an absolute root
    not_found = {"root": "/"} if preview else {"root": site.config.base_url + "/"} if site.config.base_url else {}
    pages.append(Page("404.html", "404.html", t["not_found"], partial(dict, not_found), in_sitemap=False))
    return pages


def index_context(site: CheckedSite, by_year, years, departments, grades, t) -> dict:
    profile = site.config.profile
    summaries = [year_summary(y, by_year[y], profile, grades) for y in years]
    return {
        "years": summaries,
        "latest": summaries[0] if summaries else None,
        "department_count": len(departments),
        "form_count": len(site.forms),
        "fictional_count": sum(1 for d in departments if d.fictional),
        "findings": site.findings_by_severity(),
        "charts": [charts.overview_chart(by_year, t, profile)] if site.forms else [],
        "grades": grades,
    }


def year_context(year: int, forms: list[ScoredReport], profile, grades: list[str], t: dict) -> dict:
    return {
        "summary": year_summary(year, forms, profile, grades),
        "ranked": sorted(forms, key=lambda f: (-f.total, f.report.department.slug)),
        "grades": grades,
        "charts": charts.year_charts(forms, t, grades),
    }


def year_summary(year: int, forms: list[ScoredReport], profile, grades: list[str]) -> dict:
    counts = {g: 0 for g in grades}
    for f in forms:
        counts[f.grade] += 1
    return {
        "year": year, "url": year_url(year), "count": len(forms),
        "average": charts.average([f.total for f in forms], profile),
        "grade_counts": counts,
        "findings": sum(1 for f in forms for x in f.findings if x.severity == "error"),
    }


def department_context(department: Department, history: list[ScoredReport], t: dict) -> dict:
    return {"department": department, "history": history,
            "charts": charts.department_charts(history, t) if history else []}


def form_context(form: ScoredReport, previous, following, t: dict) -> dict:
    r = form.report
    base = f"data/{r.department.slug}/{r.year}"
    return {
        "form": form, "report": r, "department": r.department,
        "previous": previous, "next": following,
        "functions_html": render_markdown(r.functions),
        "planned_html": render_markdown(r.goals_planned),
        "achieved_html": render_markdown(r.goals_achieved),
        "rows": indicator_rows(form),
        "findings": [(f, finding_anchor(f.path)) for f in form.findings],
        "flagged": {finding_anchor(f.path) for f in form.findings if f.severity != "info"},
        "downloads": {"json": f"{base}.json", "csv": f"{base}.csv", "yaml": f"{base}.yaml"},
        "charts": [charts.form_execution_chart(form, t), charts.form_scores_chart(form, t)],
    }


def quality_groups(departments, by_department) -> list[dict]:
    groups = []
    for department in departments:
        forms = [f for f in sorted(by_department.get(department.slug, []), key=lambda f: f.report.year)
                 if f.findings]
        if forms:
            groups.append({"department": department, "forms": [
                {"form": f, "url": form_url(department.slug, f.report.year),
                 "findings": [(x, finding_anchor(x.path)) for x in f.findings]} for f in forms]})
    return groups


def finding_code_counts(forms: list[ScoredReport]) -> list[tuple[str, str, int]]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for form in forms:
        for f in form.findings:
            counts[(f.severity, f.code)] += 1
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(((s, c, n) for (s, c), n in counts.items()), key=lambda x: (order[x[0]], x[1]))
