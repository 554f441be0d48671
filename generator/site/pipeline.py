"""One pipeline from checked forms to the site's files, driven by ``build`` and by ``serve``.

The engines decide *when* and *where* (``build``: worker processes, the build cache, the
standby folder; ``serve``: change tracking and memory); this module decides *what*. Both
ask it for the common template context, the years in the navigation, which pages belong to
a department and which show every form, a form's downloads and its pieces of the bulk
files, the bulk files themselves, and the site-wide files (feed, robots.txt, sitemap). A new
page type goes in :mod:`generator.site.sitemodel`, a new download in :func:`form_files` or
:class:`BulkFiles`; neither engine changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import cache, lru_cache, partial

from ..errors import ContentError
from ..read.config import SiteConfig
from ..read.inputs import read_input
from ..read.records import FORM_FILE
from ..score.audit import slim_finding
from ..score.check import CheckedSite
from ..score.scoring import ScoredReport
from .feeds import feed_xml, newest_forms, newest_of_groups, robots_txt, sitemap_files
from .opendata import (
    INDICATOR_COLUMNS,
    REPORT_COLUMNS,
    YEAR_FOLDER,
    FormOutputs,
    csv_document,
    datapackage,
    form_outputs,
)
from .sitemodel import EVERY_RECORD, FORMS_BY_YEAR, Memo, Page, YearMemo
from .theme import Theme


def common_context(config: SiteConfig, theme: Theme, assets: dict, nav_years: list[int]) -> dict:
    """What every template sees besides its page."""
    return {"site": config, "t": theme.strings, "profile": config.profile, "assets": assets,
            "lang": config.language, "nav_years": nav_years}


def nav_years(record_names: Iterable[str]) -> list[int]:
    """The years in the navigation, newest first, from the record file names (each is checked
    against the year it holds), so ``build`` knows them before reading a record and ``serve``
    from the records it holds, without listing folders again."""
    years = {int(m.group(1)) for name in record_names if (m := FORM_FILE.match(name.rsplit("/", 1)[-1]))}
    return sorted(years, reverse=True)


def nav_years_of_folders(folders: Iterable[list[str]]) -> list[int]:
    """:func:`nav_years` of the file names of many department folders, each folder's years
    worked out once while its names stay the same (an edit re-lists one folder of thousands)."""
    return sorted(set().union(*(_folder_years(tuple(names)) for names in folders)), reverse=True)


@lru_cache(maxsize=1 << 16)
def _folder_years(names: tuple[str, ...]) -> frozenset[int]:
    return frozenset(nav_years(names))


def record_names(config: SiteConfig, slugs: Iterable[str]) -> list[str]:
    """The file names in the department folders (for :func:`nav_years` before anything is read)."""
    return [p.name for slug in slugs for p in (config.departments_dir / slug).iterdir()]


def is_department_page(page: Page) -> bool:
    """A page made from one department's records alone (its page and its forms' pages)."""
    return bool(page.deps) and EVERY_RECORD not in page.deps


def is_every_form_page(page: Page) -> bool:
    """A page that shows every form (overview, years, lists, quality) or none (404, search)."""
    return EVERY_RECORD in page.deps or not page.deps


def form_files(config: SiteConfig, form: ScoredReport) -> FormOutputs:
    """A form's downloads (JSON, CSV, the record as published) and its pieces of the bulk files."""
    rel = form.report.src_path
    source, problem = read_input(config.project_dir / rel, config.project_dir, rel)
    if problem is not None:
        raise ContentError([problem])
    return form_outputs(form, source)


def slim(form: ScoredReport) -> ScoredReport:
    """What the every-form pages need of a form: no narratives, no indicator rows, no source
    positions, and of each finding only its kind and severity (they count them; the sentences
    are on the form page): small enough to keep for every form and send between processes.
    The findings were three quarters of a department's cached record."""
    report = replace(form.report, doc=None, functions="", goals_planned="", goals_achieved="", indicators=())
    findings = tuple(slim_finding(f.code, f.severity) for f in form.findings)
    return replace(form, report=report, indicators=(), findings=findings)


@cache
def bulk_framing() -> dict[str, tuple[bytes, bytes, bytes]]:
    """Each bulk file by name: what comes before its first form, between two forms, after the
    last. A form's piece of the JSON file is its fragment, of the CSV files its rows."""
    return {"reports.json": (b'{"forms": [', b", ", b"]}\n"),
            "reports.csv": (csv_document(REPORT_COLUMNS, []), b"", b""),
            "indicators.csv": (csv_document(INDICATOR_COLUMNS, []), b"", b"")}


class _BulkSet:
    """The three bulk files under one folder (every form, or one year's)."""

    def __init__(self, open_sink: Callable[[str], object], folder: str):
        self.sinks = [open_sink(f"{folder}{name}") for name in BulkFiles.NAMES]
        self.framing = [bulk_framing()[name] for name in BulkFiles.NAMES]
        for sink, (header, _between, _after) in zip(self.sinks, self.framing, strict=True):
            sink.write(header)
        self._first = True

    def add(self, fragment: bytes, report_row: bytes, indicator_rows: bytes) -> None:
        for sink, (_header, between, _after), piece in zip(self.sinks, self.framing,
                                                           (fragment, report_row, indicator_rows), strict=True):
            sink.write(piece if self._first or not between else between + piece)
        self._first = False

    def close(self) -> None:
        for sink, (_header, _between, after) in zip(self.sinks, self.framing, strict=True):
            if after:
                sink.write(after)


class BulkFiles:
    """The bulk downloads, every form in site order, written into sinks the engine opens: each
    year in ``data/by-year/<year>/``, every year together in ``data/`` only when the site asks
    for it (``all_years_downloads``: it lists every form, so every edit rewrites it), and
    ``data/datapackage.json`` (Frictionless) describing them.

    ``open_sink(rel)`` returns an object with ``write(bytes)``; forms are appended one by one
    (:meth:`add_form`), so a build can stream them from its cache without holding every form
    at once, and ``serve`` can collect them in memory.
    """

    NAMES = ("reports.json", "reports.csv", "indicators.csv")

    def __init__(self, open_sink: Callable[[str], object], title: str = "", all_years: bool = False,
                 kept_years: Iterable[int] = ()):
        self._open, self._title = open_sink, title
        self._all = _BulkSet(open_sink, "data/") if all_years else None
        self._years: dict[int, _BulkSet] = {}
        self._kept = set(kept_years)  # years whose files the engine already has: listed, not written

    def add_form(self, year: int, fragment: bytes, report_row: bytes, indicator_rows: bytes) -> None:
        if self._all is not None:
            self._all.add(fragment, report_row, indicator_rows)
        if year in self._kept:
            return
        if year not in self._years:
            self._years[year] = _BulkSet(self._open, f"data/{YEAR_FOLDER}/{year}/")
        self._years[year].add(fragment, report_row, indicator_rows)

    def add_forms(self, outputs: Iterable[FormOutputs]) -> None:
        for out in outputs:
            self.add_form(out.year, out.json_fragment, out.report_csv, out.indicators_csv)

    def close(self) -> None:
        for bulk in (self._all, *self._years.values()):
            if bulk is not None:
                bulk.close()
        self._open("data/datapackage.json").write(datapackage(self._title, self._years.keys() | self._kept,
                                                              self._all is not None))


def forms_by_year(site: CheckedSite) -> dict[int, list[ScoredReport]]:
    by_year: dict[int, list[ScoredReport]] = defaultdict(list)
    for form in site.forms:
        by_year[form.report.year].append(form)
    return dict(by_year)


def site_wide_files(site: CheckedSite, pages: list[Page], theme: Theme, memo: Memo | None = None,
                    year_stamps: dict[int, str] | None = None) -> dict[str, bytes]:
    """The feed, robots.txt and (with an absolute ``base_url``, as the protocol requires) the
    sitemap. ``memo``, ``year_stamps``: as for :func:`~generator.site.sitemodel.build_site_model`
    (each year's newest forms and the sitemap are kept while they hold)."""
    config = site.config
    memo = YearMemo(memo if memo is not None else Memo(), year_stamps or {})
    by_year = memo.get(FORMS_BY_YEAR, (site,), partial(forms_by_year, site))  # as the site model grouped them
    newest = newest_of_groups([memo.of_year("newest", year, forms, partial(newest_forms, forms))
                               for year, forms in sorted(by_year.items())])
    files = {"feed.xml": feed_xml(site, theme.strings, newest), "robots.txt": robots_txt(config.base_url)}
    if config.base_url:
        listed = (config.base_url, tuple(page.dest_path for page in pages if page.in_sitemap))
        files.update(memo.get(("sitemap",), (), partial(sitemap_files, pages, config.base_url), listed))
    return files
