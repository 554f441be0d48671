"""What the site consists of: every page with its context, every download, every chart.

Nothing is rendered or written here; the model is plain data so render and output
stay simple and a change can be traced to the pages it affects.
"""

from __future__ import annotations

import heapq
import operator
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache, partial
from itertools import chain
from operator import attrgetter

from markupsafe import Markup

from ..read.config import ROWS_PER_PAGE
from ..read.model import Department
from ..score.check import CheckedSite, finding_tally
from ..score.scoring import Interval, ScoredReport
from . import charts
from .markdown import render_markdown
from .search import bundle_names

EVERY_RECORD = "*"
FORMS_BY_YEAR = ("forms by year",)  # a Memo key: a site's forms, by year, made from the site
BY_FORM_KEY = attrgetter("report.department.slug", "report.year", "report.project_id")  # Report.key, read in C


class Memo:
    """What the model works out from many forms (a year's summary, its findings by kind, a
    department's pages), kept for the next model of the same process while what it was made
    from stays the same: the very same objects (a resident build keeps an unchanged
    department's forms as they were), or an equal stamp (a year's stamp says its forms did not
    change: :func:`~generator.build.stamps.year_stamps`). So after an edit only what the edited
    forms show is worked out again. Each value is kept with the objects it was made from, so
    none of them can die and its id be reused; a fresh memo keeps nothing useful."""

    def __init__(self):
        self._kept: dict[tuple, tuple[tuple, object, object]] = {}

    def get(self, key: tuple, objects, work: Callable[[], object], stamp: object = ""):
        """``work()``, or what it returned last time for ``key`` over these very ``objects``
        and an equal ``stamp``."""
        objects = tuple(objects)
        old = self._kept.get(key)
        if old is not None and old[1] == stamp and len(old[0]) == len(objects) \
                and all(map(operator.is_, old[0], objects)):
            return old[2]
        value = work()
        self._kept[key] = (objects, stamp, value)
        return value


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


_INDICATOR_PATH = re.compile(r"indicators\[(\d+)\]")
_FLAGGED_PATH = re.compile(r"indicators\[(\d+)\](?:\.(\w+))?")


def form_url(slug: str, year: int, project_id: str = "") -> str:
    """A department-wide form at ``departments/<slug>/<year>/``; a project form one level below."""
    return f"departments/{slug}/{year}/" + (f"{project_id}/index.html" if project_id else "index.html")


def report_url(report) -> str:
    return form_url(report.department.slug, report.year, report.project_id)


YEAR_FOLDER = "by-year"  # data/by-year/<year>/: a department folder can never be named so


def data_base(report) -> str:
    """Where a form's downloads live, without the extension (``data/<slug>/<year>[-<project>]``)."""
    suffix = f"-{report.project_id}" if report.project_id else ""
    return f"data/{report.department.slug}/{report.year}{suffix}"


def department_url(slug: str) -> str:
    return f"departments/{slug}/index.html"


def year_url(year: int) -> str:
    return f"{year}/index.html"


@lru_cache(maxsize=4096)
def finding_anchor(path: str) -> str:
    """The id of the table cell or section a finding points at (cached: the quality page asks for
    every finding of the site, and the same few paths recur on every form)."""
    match = _INDICATOR_PATH.match(path)
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


FUND_FIELDS = ("initial_budget", "budget", "executed", "transfer", "weight", "rate", "score")
INDICATOR_FIELDS = ("level3", "content", "nature", "target", "unit", "actual", "weight", "coefficient", "score",
                    "core", "reason", "measures", "note")


def fund_columns(report) -> list[tuple[str, str]]:
    """The funds table's columns, ``(field, header)``: the layout's, in its order and words, plus
    any column the record fills that the layout does not print (never a value silently hidden)."""
    columns = [(c.field, c.header) for c in report.layout.fund_columns]
    have = {name for name, _ in columns}
    printed = report.reported_funds
    for name in ("initial_budget", "transfer", "rate", "score"):
        if name not in have and (getattr(printed, name, None) is not None or any(
                getattr(s, name) is not None or name in s.illegible for s in report.sources)):
            columns.insert(min(FUND_FIELDS.index(name), len(columns)), (name, ""))
    return columns


def indicator_columns(report) -> list[tuple[str, str]]:
    """The indicator table's columns after 一级/二级, ``(field, header)``: the layout's, plus any
    the record fills that the layout does not print; ``header`` empty: the theme's word."""
    columns = [(c.field, c.header) for c in report.layout.body_columns]
    have = {name for name, _ in columns}
    rows = report.indicators
    for name in INDICATOR_FIELDS:
        if name in have:
            continue
        if any(getattr(row, name) not in (None, "") or name in row.illegible for row in rows):
            order = [f for f, _ in columns]
            after = [i for i, f in enumerate(order) if f in INDICATOR_FIELDS
                     and INDICATOR_FIELDS.index(f) < INDICATOR_FIELDS.index(name)]
            columns.insert(after[-1] + 1 if after else 0, (name, ""))
    return columns


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
        if f.severity in ("error", "warning"):
            match = _FLAGGED_PATH.match(f.path)
            if match:
                flagged[int(match.group(1))].add(match.group(2) or "row")
    level1 = [r.indicator.level1 for r in results]
    level2 = [r.indicator.level2 for r in results]
    # run lengths from the end: how many rows from each one on share its 一级 (and its 二级)
    n = len(results)
    run1, run2 = [1] * n, [1] * n
    for i in range(n - 2, -1, -1):
        if level1[i] == level1[i + 1]:
            run1[i] = run1[i + 1] + 1
            if level2[i] == level2[i + 1]:
                run2[i] = run2[i + 1] + 1
    rows = []
    for i, r in enumerate(results):
        span1 = run1[i] if i == 0 or level1[i - 1] != level1[i] else 0
        span2 = run2[i] if span1 or level2[i - 1] != level2[i] else 0
        rows.append(IndicatorRow(r, span1, span2, frozenset(flagged.get(r.indicator.index, ()))))
    return rows


# The page templates by what they show, for the build cache's keys: a department folder makes
# its own pages alone; the others list every form. A new page type names its template here.
DEPARTMENT_TEMPLATES = ("department.html", "form.html")
EVERY_FORM_TEMPLATES = ("index.html", "year.html", "departments.html", "quality.html", "quality-year.html")


def build_site_model(site: CheckedSite, t: dict, glossary: tuple[dict, ...] = (), preview: bool = False,
                     memo: Memo | None = None, year_stamps: dict[int, str] | None = None) -> list[Page]:
    """Every page of the site, in a stable order (contexts are made lazily).

    ``preview``: the dev server serves the site at its own root, not at ``base_url``.
    ``memo``: what the last model of this process worked out (:class:`Memo`), for one
    theme and profile: the engine starts a new one when they change; ``year_stamps``: a
    stamp of each year's forms (equal stamps, equal forms), for what the memo keeps by year.
    """
    memo = YearMemo(memo if memo is not None else Memo(), year_stamps or {})
    profile = site.config.profile
    forms = list(site.forms)
    by_year: dict[int, list[ScoredReport]] = defaultdict(list)          # department-wide forms
    projects_by_year: dict[int, list[ScoredReport]] = defaultdict(list)  # project forms
    by_department: dict[str, list[ScoredReport]] = defaultdict(list)    # every form
    for form in forms:
        (projects_by_year if form.report.is_project else by_year)[form.report.year].append(form)
        by_department[form.report.department.slug].append(form)
    grades = [g for g, _ in profile.grades]
    years = sorted(set(by_year) | set(projects_by_year), reverse=True)
    departments = sorted(site.content.departments, key=attrgetter("slug"))
    every = frozenset({EVERY_RECORD})

    every_by_year = {year: by_year.get(year, []) + projects_by_year.get(year, []) for year in years}
    memo.get(FORMS_BY_YEAR, (site,), lambda: every_by_year)  # for the feed of the same build (site_wide_files)
    # a year without project forms: its department-wide forms' tally is the one its quality pages count
    summaries = {year: partial(memo.of_year, "year_summary", year, every_by_year[year],
                               partial(year_summary, year, by_year.get(year, []), profile, grades,
                                       len(projects_by_year.get(year, ())),
                                       None if projects_by_year.get(year) else
                                       partial(memo.tally, year, every_by_year[year])))
                 for year in years}
    pages = [Page("index.html", "index.html", site.config.title,
                  partial(index_context, site, dict(by_year), years, departments, grades, t,
                          dict(projects_by_year), every_by_year, memo, summaries), every)]
    size = site.config.rows_per_page
    lists = {year: YearLists(by_year.get(year, []), projects_by_year.get(year, []), summaries[year])
             for year in years}
    for year in years:
        pages.append(Page(year_url(year), "year.html", f"{year} {t['year_page_title']}",
                          partial(year_context, year, lists[year], profile, grades, t, size), every))
        # the ranking and the project forms beyond a page each: their further pages
        for part, count, heading in (("ranking", len(lists[year].forms), t["chart_ranking"]),
                                     ("projects", len(lists[year].project_forms), t["year_projects_title"])):
            for number in range(2, page_count(count, size) + 1):
                pages.append(Page(year_part_url(year, part, number), "year.html",
                                  paged_title(f"{year} {heading}", number, t),
                                  partial(year_context, year, lists[year], profile, grades, t, size, part, number),
                                  every))
    for number in range(1, page_count(len(departments), size) + 1):
        pages.append(Page(departments_page_url(number), "departments.html", paged_title(t["departments"], number, t),
                          partial(departments_context, departments, by_department, size, number), every))
    for department in departments:
        own = by_department.get(department.slug, [])
        pages += memo.get(("department", department.slug), (t, department, *own),
                          partial(department_pages, department, own, t))
    pages.append(Page("quality/index.html", "quality.html", t["quality"],
                      partial(quality_context, site, years, every_by_year, memo), every))
    for year in years:
        flagged = memo.of_year("flagged", year, every_by_year[year],
                               partial(flagged_count, every_by_year[year]))
        for number in range(1, page_count(flagged, size) + 1):
            pages.append(Page(quality_page_url(year, number), "quality-year.html",
                              paged_title(f"{year} {t['quality']}", number, t),
                              partial(quality_year_context, year, every_by_year[year], size, number, lists[year]),
                              every))
    pages.append(Page("glossary/index.html", "glossary.html", t["glossary"], partial(dict, glossary=glossary)))
    if site.config.search:
        # the bundles to merge depend on how many forms there are: re-rendered with any of them
        bundles = bundle_names({slug: len(found) for slug, found in by_department.items()})
        pages.append(Page("search/index.html", "search.html", t["search"], partial(dict, bundles=bundles), every,
                          in_sitemap=False))
    # served for any missing URL, so relative links only work with an absolute root
    not_found = {"root": "/"} if preview else {"root": site.config.base_url + "/"} if site.config.base_url else {}
    pages.append(Page("404.html", "404.html", t["not_found"], partial(dict, not_found), in_sitemap=False))
    return pages


def page_inputs(context: dict) -> tuple[tuple, tuple]:
    """What a page's context is made of: the records and other objects it shows (to compare by
    identity: a resident build keeps an unchanged department's as the very same objects) and
    every plain value with the shape around them (to compare by value). Two renderings with
    the same inputs, the same templates and the same sections make the same bytes, so an
    engine may keep a list page whose rows did not change."""
    objects: list = []
    values: list = []

    def walk(value) -> None:
        kind = type(value)
        if kind in _RECORDS:
            values.append("object")
            objects.append(value)
        elif kind in _PLAIN:
            values.append((kind, value))  # by type too: Markup is not str, True is not 1
        elif kind is Decimal or kind is float:
            values.append((kind, repr(value)))  # 1.0 equals 1.00, but does not print as it
        elif kind is Interval:
            values.append((Interval, repr(value.low), repr(value.high)))
        elif kind is dict:
            values.append(("dict", len(value)))
            for key, item in value.items():
                values.append(key)
                walk(item)
        elif kind is list or kind is tuple:
            values.append(("list", len(value)))
            for item in value:
                walk(item)
        elif kind is QualityRow:  # made from its form alone
            values.append("row")
            objects.append(value.form)
        else:
            values.append("object")
            objects.append(value)

    walk(context)
    return tuple(objects), tuple(values)


def same_inputs(a: tuple[tuple, tuple], b: tuple[tuple, tuple]) -> bool:
    return (len(a[0]) == len(b[0]) and all(map(operator.is_, a[0], b[0])) and a[1] == b[1])


class YearMemo:
    """A :class:`Memo` for what is made from one year's forms: kept while the year's stamp is
    the same or, without stamps, while its forms are the same objects."""

    def __init__(self, memo: Memo, stamps: dict[int, str]):
        self.memo, self.stamps = memo, stamps

    def get(self, key: tuple, objects, work: Callable[[], object], stamp: object = ""):
        return self.memo.get(key, objects, work, stamp)

    def of_year(self, kind: str, year: int, forms: list[ScoredReport], work: Callable[[], object]):
        if year in self.stamps:
            return self.memo.get((kind, year), (), work, self.stamps[year])
        return self.memo.get((kind, year), forms, work)

    def tally(self, year: int, forms: list[ScoredReport]) -> dict[tuple[str, str], int]:
        """The findings of a year's ``forms`` by severity and kind (:func:`finding_tally`): counted
        once for the overview, the quality overview and the year's line in both."""
        return self.of_year("tally", year, forms, partial(finding_tally, forms))

    def of_years(self, kind: str, years: list[int], forms: Iterable[ScoredReport], objects,
                 work: Callable[[], object]):
        """Made from the forms of ``years`` and other ``objects`` (``forms`` are gone through only
        when some year has no stamp)."""
        if all(year in self.stamps for year in years):
            return self.memo.get((kind, *years), objects, work, "\n".join(self.stamps[y] for y in years))
        return self.memo.get((kind, *years), (*objects, *forms), work)


def department_pages(department: Department, forms: list[ScoredReport], t: dict) -> list[Page]:
    """A department's page and its forms' pages."""
    own = sorted(forms, key=BY_FORM_KEY)
    history = [f for f in own if not f.report.is_project]
    projects = [f for f in own if f.report.is_project]
    deps = frozenset({department.src_path} | {f.report.src_path for f in own})
    pages = [Page(department_url(department.slug), "department.html", department.name,
                  partial(department_context, department, history, t, projects), deps)]
    for series in [history, *project_series(projects)]:
        for i, form in enumerate(series):
            previous = series[i - 1] if i > 0 else None
            following = series[i + 1] if i + 1 < len(series) else None
            pages.append(Page(report_url(form.report), "form.html", form_title(form.report),
                              partial(form_context, form, previous, following, t), deps))
    return pages


def flagged_count(forms: list[ScoredReport]) -> int:
    return len(list(filter(attrgetter("findings"), forms)))


def project_series(projects: list[ScoredReport]) -> list[list[ScoredReport]]:
    """A department's project forms grouped by project (its file-name id), each in year order:
    the previous and next year of a project form are the same project's."""
    series: dict[str, list[ScoredReport]] = defaultdict(list)
    for form in projects:
        series[form.report.project_id].append(form)
    return [sorted(found, key=lambda f: f.report.year) for _id, found in sorted(series.items())]


def form_title(report) -> str:
    if report.is_project:
        return f"{report.department.name} {report.year} {report.project or report.project_id}"
    return f"{report.department.name} {report.year}"


OVERVIEW_ROWS = 5


_SLUG = attrgetter("report.department.slug")
_SEVERITY, _GRADE, _REPORTED_TOTAL = attrgetter("severity"), attrgetter("grade"), attrgetter("report.reported_total")


def overview_answers(by_year: dict[int, list[ScoredReport]], departments) -> dict | None:
    """What a reader asks first, for the latest year with department-wide forms: the lowest totals
    (ranked by the best a total's range allows, so a form is listed as low only when even its best
    case is), the biggest certain falls since the year before (last year's lowest possible total
    minus this year's highest), the most findings, and the departments without a form that year."""
    years = sorted(y for y, forms in by_year.items() if forms)
    if not years:
        return None
    latest = years[-1]
    forms = by_year[latest]
    # each form's department and best possible total read once; rows picked by tuples compared
    # in C (the index last: equal rows keep the forms' order, as a stable sort would)
    slugs = list(map(_SLUG, forms))
    totals, highs = charts.totals_and_highs(forms)
    rows = zip(highs, totals, slugs, range(len(forms)), strict=True)
    lowest = [forms[i] for *_, i in heapq.nsmallest(OVERVIEW_ROWS, rows)]
    previous_year = years[-2] if len(years) > 1 else None
    earlier = by_year.get(previous_year, [])
    before = dict(zip(map(_SLUG, earlier), earlier, strict=True))
    falls = []
    for form, slug, high in zip(forms, slugs, highs, strict=True):
        last = before.get(slug)
        if last is not None and last.total > high:
            falls.append((last.total - high, last, form))
    falls.sort(key=lambda x: (-x[0], x[2].report.department.slug))
    counted = []
    for i, form in enumerate(forms):
        severities = list(map(_SEVERITY, form.findings))
        errors, warnings = severities.count("error"), severities.count("warning")
        if errors or warnings:
            counted.append((-errors, -warnings, slugs[i], i))
    most = [(-errors, -warnings, forms[i]) for errors, warnings, _, i in heapq.nsmallest(OVERVIEW_ROWS, counted)]
    have = set(slugs)
    return {"year": latest, "previous_year": previous_year, "lowest": lowest,
            "falls": falls[:OVERVIEW_ROWS], "most_findings": most,
            "without_form": [d for d in departments if d.slug not in have]}


def index_context(site: CheckedSite, by_year, years, departments, grades, t, projects_by_year, every_by_year,
                  memo: YearMemo, summary_of: dict[int, Callable[[], dict]]) -> dict:
    profile = site.config.profile
    summaries = [summary_of[y]() for y in years]
    # the overview's answers come from the two latest years with department-wide forms and
    # the departments without a form in the latest
    latest = sorted(y for y, forms in by_year.items() if forms)[-2:]
    have = memo.of_year("departments", latest[-1], by_year[latest[-1]],
                        partial(departments_of, by_year[latest[-1]])) if latest else set()
    answers = memo.of_years("answers", latest, (f for y in latest for f in every_by_year[y]),  # without stamps only
                            [d for d in departments if d.slug not in have],
                            partial(overview_answers, by_year, departments))
    averages = {s["year"]: s["average"] for s in summaries if s["year"] in by_year}
    return {
        "answers": answers,
        "years": summaries,
        "latest": summaries[0] if summaries else None,
        "department_count": len(departments),
        "form_count": len(site.forms),
        "project_count": sum(len(found) for found in projects_by_year.values()),
        "fictional_count": sum(1 for d in departments if d.fictional),
        "findings": findings_by_severity(site, every_by_year, memo),
        "charts": [c for c in [charts.overview_chart(by_year, t, profile, averages)] if c],
        "grades": grades,
    }


def findings_by_severity(site: CheckedSite, every_by_year: dict[int, list[ScoredReport]], memo: YearMemo) -> dict:
    """The site's findings by severity (:meth:`CheckedSite.findings_by_severity`), summed from
    each year's counts, which are kept while the year's forms stay the same."""
    counts = {"error": 0, "warning": 0, "info": 0}
    for year, forms in every_by_year.items():
        for (severity, _code), n in memo.tally(year, forms).items():
            counts[severity] += n
    for finding in site.notices:
        counts[finding.severity] += 1
    return counts


def departments_of(forms: list[ScoredReport]) -> set[str]:
    return set(map(_SLUG, forms))


def paged_title(title: str, number: int, t: dict) -> str:
    return title if number == 1 else f"{title} {t['pager_title'].replace('{n}', str(number))}"


def page_count(rows: int, size: int) -> int:
    """Pages of ``size`` rows a list of ``rows`` needs (one, even when it is empty)."""
    return max(1, -(-rows // size))


def year_part_url(year: int, part: str, number: int) -> str:
    """Page ``number`` of a year's ranking or project list: page 1 is the year page itself;
    the others are files beside it (a year folder holds nothing else)."""
    return year_url(year) if number == 1 else f"{year}/{part}-{number}.html"


def departments_page_url(number: int) -> str:
    """A file, never a folder: it cannot meet a department's ``departments/<slug>/``."""
    return "departments/index.html" if number == 1 else f"departments/page-{number}.html"


def quality_page_url(year: int, number: int) -> str:
    return quality_url(year) if number == 1 else f"quality/{year}/page-{number}.html"


@dataclass(frozen=True)
class Pager:
    """Where one page of a long list is: its rows ``first``–``last`` of ``total`` (1-based), and
    every page of the list as ``(first, last, url)`` for the links between them."""

    number: int
    total: int
    first: int
    last: int
    pages: tuple[tuple[int, int, str], ...]

    @property
    def offset(self) -> int:
        return self.first - 1

    @property
    def count(self) -> int:
        return len(self.pages)


def pager(rows: int, size: int, number: int, url_of: Callable[[int], str]) -> Pager:
    pages = tuple((i * size + 1, min(rows, (i + 1) * size), url_of(i + 1)) for i in range(page_count(rows, size)))
    first, last, _url = pages[number - 1]
    return Pager(number, rows, first if rows else 0, last, pages)


def page_rows(rows: list, p: Pager) -> list:
    return rows[p.offset:p.last]


_RECORDS = frozenset({ScoredReport, Department})  # page_inputs: by identity, the usual case first
_PLAIN = frozenset({str, Markup, int, bool, type(None), Pager})


class YearLists:
    """A year's forms in the order of each list that shows them, sorted once for all the year's
    pages (a year of 10,000 forms has tens of pages, each showing a slice of the same lists)."""

    def __init__(self, forms: list[ScoredReport], projects: list[ScoredReport] = (),
                 summary: Callable[[], dict] | None = None):
        self.forms, self.project_forms = forms, projects
        self._summary_of = summary  # the year's summary as the overview has it
        self._summary = None

    @cached_property
    def ranked(self) -> list[ScoredReport]:
        return charts.rank_forms(self.forms)

    @cached_property
    def projects(self) -> list[ScoredReport]:
        return sorted(self.project_forms, key=BY_FORM_KEY)

    @cached_property
    def flagged(self) -> list[ScoredReport]:
        """Every form of the year with findings, department-wide and project forms, by department."""
        return sorted((f for f in chain(self.forms, self.project_forms) if f.findings), key=BY_FORM_KEY)

    def summary(self, year: int, profile, grades: list[str]) -> dict:
        if self._summary is None:
            self._summary = self._summary_of() if self._summary_of else year_summary(year, self.forms, profile, grades)
        return self._summary


def year_context(year: int, lists: YearLists, profile, grades: list[str], t: dict, size: int = ROWS_PER_PAGE,
                 part: str = "year", number: int = 1) -> dict:
    """A year: its department-wide forms ranked, and its project forms listed by department.

    ``part``: ``year``, the year page (facts, charts, the first page of each list); or a further
    page of the ``ranking`` or of the ``projects``, page ``number``.
    """
    forms, ranked, projects = lists.forms, lists.ranked, lists.projects
    ranking = pager(len(ranked), size, number if part == "ranking" else 1, partial(year_part_url, year, "ranking"))
    listed = pager(len(projects), size, number if part == "projects" else 1, partial(year_part_url, year, "projects"))
    shown = {"year": ranked, "ranking": page_rows(ranked, ranking), "projects": page_rows(projects, listed)}[part]
    return {
        "part": part, "page_number": number,
        "summary": lists.summary(year, profile, grades),
        # the fictional-data notice: over the forms the year page sums up, or the rows a further page shows
        "fictional_count": sum(1 for f in shown if f.report.department.fictional), "shown_count": len(shown),
        "ranked": page_rows(ranked, ranking) if part in ("year", "ranking") else [],
        "ranking_pager": ranking,
        "projects": page_rows(projects, listed) if part in ("year", "projects") else [],
        "projects_pager": listed,
        "grades": grades,
        "charts": charts.year_charts(forms, t, grades, ranked) if forms and part == "year" else [],
    }


def departments_context(departments: list[Department], by_department: dict, size: int, number: int) -> dict:
    listed = pager(len(departments), size, number, departments_page_url)
    shown = page_rows(departments, listed)
    return {"departments": [(d, by_department.get(d.slug, [])) for d in shown], "pager": listed,
            "department_count": len(shown), "fictional_count": sum(1 for d in shown if d.fictional)}


def year_summary(year: int, forms: list[ScoredReport], profile, grades: list[str], projects: int = 0,
                 tally_of: Callable[[], dict] | None = None) -> dict:
    """A year's line of the overview; ``tally_of``: the tally of ``forms``' findings, when kept."""
    found = Counter(map(_GRADE, forms))
    counts = {g: found.get(g, 0) for g in grades}
    reported = [total for total in map(_REPORTED_TOTAL, forms) if total is not None]
    return {
        "year": year, "url": year_url(year), "count": len(forms), "projects": projects,
        "average": charts.average_total(forms, profile),
        # the printed totals' mean beside it, over the forms that print one (unknown is not zero)
        "reported_average": charts.average(reported, profile),
        "reported_count": len(reported),
        "grade_counts": counts,
        "open_grades": len(forms) - sum(counts.values()),  # totals whose range spans grades
        "findings": sum(n for (severity, _code), n in (tally_of or partial(finding_tally, forms))().items()
                        if severity == "error"),
    }


def department_context(department: Department, history: list[ScoredReport], t: dict,
                       projects: list[ScoredReport] = ()) -> dict:
    """A department: its department-wide forms over the years (table and trends), then its
    project forms, newest year first."""
    return {"department": department, "history": history,
            "projects": sorted(projects, key=lambda f: (-f.report.year, f.report.project_id)),
            "charts": charts.department_charts(history, t) if history else []}


def form_context(form: ScoredReport, previous, following, t: dict) -> dict:
    r = form.report
    base = data_base(r)
    return {
        "form": form, "report": r, "department": r.department, "layout": r.layout, "profile": form.profile,
        "url": report_url(r),
        "previous": previous, "next": following,
        "functions_html": render_markdown(r.functions),
        "planned_html": render_markdown(r.goals_planned),
        "achieved_html": render_markdown(r.goals_achieved),
        "rows": indicator_rows(form),
        "fund_columns": fund_columns(r),
        "indicator_columns": indicator_columns(r),
        "findings": [(f, finding_anchor(f.path)) for f in form.findings],
        "flagged": {finding_anchor(f.path) for f in form.findings if f.severity != "info"},
        # the checked form as JSON is in its year's bulk file (one copy per form, not two)
        "downloads": {"json": f"data/{YEAR_FOLDER}/{form.report.year}/reports.json", "csv": f"{base}.csv",
                      "yaml": f"{base}.yaml"},
        "charts": [c for c in (charts.form_execution_chart(form, t), charts.form_scores_chart(form, t)) if c],
        "changes": indicator_changes(form, previous),
    }


def quality_url(year: int) -> str:
    return f"quality/{year}/index.html"


@dataclass(frozen=True)
class IndicatorChange:
    """One indicator this year beside the same one (same 目标内容, else 三级指标) in the form before."""

    now: object       # IndicatorResult
    before: object    # IndicatorResult

    @property
    def score_change(self):
        a, b = self.now.score, self.before.score
        return None if a is None or b is None else a - b

    @property
    def target_changed(self) -> bool:
        return _text_of(self.now.indicator.target) != _text_of(self.before.indicator.target)


def _text_of(value) -> str:
    return "".join(value.text.split()) if value is not None else ""


def _indicator_key(row) -> str:
    ind = row.indicator
    return "".join((ind.content or ind.level3).split())


def indicator_changes(form: ScoredReport, previous: ScoredReport | None) -> dict | None:
    """Each indicator matched with the previous form's (same name), and the new and dropped ones."""
    if previous is None or not previous.indicators:
        return None
    earlier: dict[str, list] = defaultdict(list)
    for row in previous.indicators:
        if row.kind != "empty" and _indicator_key(row):
            earlier[_indicator_key(row)].append(row)
    matched, new = [], []
    for row in form.indicators:
        key = _indicator_key(row)
        if row.kind == "empty" or not key:
            continue
        if earlier.get(key):
            matched.append(IndicatorChange(row, earlier[key].pop(0)))
        else:
            new.append(row)
    dropped = [row for rows in earlier.values() for row in rows]
    dropped.sort(key=lambda r: r.indicator.index)
    return {"year": previous.report.year, "matched": matched, "new": new, "dropped": dropped}


class QualityRow:
    """One form with findings on its year's quality page: counts by severity and the kinds found.
    Each finding, with its link to the cell, is on the form page: listing 170,000 findings of
    10,000 forms here would make pages of tens of megabytes. Counted when shown (a row kept as
    a section never is)."""

    def __init__(self, form: ScoredReport):
        self.form = form
        self.url = report_url(form.report)

    @cached_property
    def _counts(self) -> tuple[int, int, int]:
        severities = [f.severity for f in self.form.findings]
        return severities.count("error"), severities.count("warning"), severities.count("info")

    @property
    def errors(self) -> int:
        return self._counts[0]

    @property
    def warnings(self) -> int:
        return self._counts[1]

    @property
    def infos(self) -> int:
        return self._counts[2]

    @cached_property
    def codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.code for f in self.form.findings))


def quality_context(site: CheckedSite, years: list[int], forms_by_year: dict[int, list[ScoredReport]],
                    memo: YearMemo) -> dict:
    """The quality overview: counts by severity and by kind, and one line per year."""
    summaries = []
    shown: dict[str, Department] = {}
    codes: dict[tuple[str, str], int] = defaultdict(int)
    for year in years:
        forms = forms_by_year.get(year, [])
        summary, flagged_departments, year_codes = memo.of_year(
            "quality", year, forms, partial(quality_year_facts, year, forms, partial(memo.tally, year, forms)))
        summaries.append(summary)
        shown.update(flagged_departments)
        for code, n in year_codes.items():
            codes[code] += n
    return {"years": summaries, "counts": findings_by_severity(site, forms_by_year, memo),
            "codes": sorted_code_counts(codes),
            # the departments with findings: are they all fictional?
            "department_count": len(shown), "fictional_count": sum(1 for d in shown.values() if d.fictional)}


def quality_year_facts(year: int, forms: list[ScoredReport], tally_of: Callable[[], dict] | None = None
                       ) -> tuple[dict, dict[str, Department], dict]:
    """A year's line of the quality overview, its departments with findings, its findings by kind
    (``tally_of``: the tally of ``forms``' findings, when kept)."""
    flagged = [f for f in forms if f.findings]
    codes = (tally_of or partial(finding_tally, flagged))()
    summary = {"year": year, "url": quality_url(year), "forms": len(forms), "flagged": len(flagged),
               **{s: sum(n for (severity, _code), n in codes.items() if severity == s)
                  for s in ("error", "warning", "info")}}
    departments = {f.report.department.slug: f.report.department for f in flagged}
    return summary, departments, codes


def quality_year_context(year: int, forms: list[ScoredReport], size: int = ROWS_PER_PAGE, number: int = 1,
                         lists: YearLists | None = None) -> dict:
    """A year's forms with findings, one row each (department-wide and project forms), by department."""
    flagged = (lists or YearLists(forms)).flagged
    listed = pager(len(flagged), size, number, partial(quality_page_url, year))
    rows = [QualityRow(f) for f in page_rows(flagged, listed)]
    departments = {r.form.report.department.slug: r.form.report.department for r in rows}  # on this page
    return {"year": year, "rows": rows, "flagged": len(flagged), "pager": listed, "forms": len(forms),
            "department_count": len(departments),
            "fictional_count": sum(1 for d in departments.values() if d.fictional)}


def sorted_code_counts(counts: dict[tuple[str, str], int]) -> list[tuple[str, str, int]]:
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(((s, c, n) for (s, c), n in counts.items()), key=lambda x: (order[x[0]], x[1]))
