"""``perfsite serve``'s site: each file made when it is asked for, from the build's units.

Rendering all of a 10,000-form site before the first page took two minutes and held every
page in memory. The preview instead keeps what ``build`` keeps between builds — a record
per department folder (:class:`~generator.build.cache.UnitMeta`: its forms without their
narratives and rows, the names of its files, its sections of the every-form pages) in a
cache of its own (``.perfsite-cache/``), so a second start reads them back in a second —
and makes a page only when a browser asks for it: a department's pages from its folder,
read again and checked (a few forms), the pages that show every form from the records.
An edit re-checks the department folders that changed and nothing else; the pages are
made again when they are next asked for. The bytes are those ``build`` writes (but the
404 page, whose links point at the preview's root): a test compares every file.

Everything one version of the site needs is one :class:`Snapshot`, swapped in whole, so a
request never mixes two versions; it makes its files on the server's one I/O thread.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path

from ..build.cache import BuildCache, CacheMiss, UnitMeta
from ..build.shards import (
    PROCESSES_FROM,
    Prepared,
    _Context,
    build_unit,
    context_for,
    departments_touched,
    plan_shards,
    prepare,
    prepare_again,
)
from ..build.stamps import folder_signature
from ..errors import ContentError, PerfsiteError, Problem
from ..read.config import SiteConfig, load_config
from ..read.records import Content
from ..score.check import CheckedSite, check_department, content_notices
from ..site.opendata import YEAR_FOLDER, datapackage
from ..site.pipeline import (
    BulkFiles,
    common_context,
    form_files,
    is_department_page,
    is_every_form_page,
    site_wide_files,
)
from ..site.render import Sections, render_page
from ..site.search import BUNDLE, bundle_names, index_pages, plan_bundles
from ..site.sitemodel import Page, build_site_model

RECENT_DEPARTMENTS = 8  # departments whose checked forms are kept for their next page
CACHE_NAME = "serve"  # .perfsite-cache/serve: the preview's department records


class Unit:
    """A department folder as checked: its record, and its sections of the every-form pages
    (those a worker process made are read from the cache when a page first needs them)."""

    def __init__(self, meta: UnitMeta, fragments: dict[tuple, bytes] | None = None, source: BuildCache | None = None):
        self.meta, self._fragments = meta, fragments
        self.source = source  # the cache holding its slices of the bulk files (None: the preview's own)

    def fragments(self, cache: BuildCache) -> dict[tuple, bytes]:
        if self._fragments is None:
            self._fragments = (self.source or cache).load_fragments(self.meta.slug)
        return self._fragments


@dataclass(frozen=True)
class Update:
    snapshot: Snapshot
    rechecked: int  # department folders read and checked this time
    departments: int


class PreviewSite:
    """The dev server's site over time: brings the department records up to date and makes
    a new :class:`Snapshot` after each change. Not thread-safe: one watcher thread updates."""

    def __init__(self, project_dir: Path, jobs: int | None = None):
        self.project_dir = project_dir.resolve()
        self.cache = BuildCache(self.project_dir, None, name=CACHE_NAME)
        # a build of the site/ folder keeps records of the same kind: a first start may read them
        self.built = BuildCache.existing(self.project_dir, (self.project_dir / "site").resolve())
        self.jobs = jobs or os.cpu_count() or 1
        self.config: SiteConfig | None = None
        self.prepared: Prepared | None = None
        self.units: dict[str, tuple[tuple, Unit]] = {}  # slug -> (its folder's signature, Unit)
        self.record_names: dict[str, list[str]] = {}  # slug -> the file names in its folder (the years)
        self.snapshot: Snapshot | None = None

    def update(self, changed: set[Path] | None = None, progress=None, early=None,
               stop: threading.Event | None = None) -> Update:
        """Bring the site up to date (``changed``: the paths the watcher saw change; None:
        anything may have). On an error nothing is swapped in: the last good snapshot stays.
        ``early``: on a first start that checks many forms, called at once with an
        :class:`EarlySite` that can show a department's pages meanwhile. ``stop`` set: the
        worker processes are ended and :class:`Stopped` raised."""
        everything = changed is None or self.prepared is None or not _content_only(self.project_dir, changed)
        touched = None if everything else departments_touched(self.config.departments_dir, changed, self.units)
        config = load_config(self.project_dir) if everything else self.config
        prepared, names = prepare_again(config, self.prepared, self.record_names, touched, everything)
        if prepared is not self.prepared and prepared.fragments_key != getattr(self.prepared, "fragments_key", None):
            touched = None  # every department's record is checked against the new key
        key = prepared.fragments_key  # a record holds no page, only the sections its department makes
        ctx = context_for(config, prepared, None, key, self.cache)
        units: dict[str, tuple[tuple, Unit]] = {}
        dirty: list[tuple[str, int]] = []
        for slug, forms in prepared.departments:
            held = self.units.get(slug)
            if touched is not None and slug not in touched and held is not None:
                units[slug] = held  # the watcher saw nothing change in its folder
                continue
            inputs = folder_signature(config.departments_dir / slug)
            unit = self._kept(slug, inputs, key, config) or self._built(slug, inputs, key, prepared.key, config)
            if unit is None:
                dirty.append((slug, forms))
            else:
                units[slug] = (inputs, unit)
        if early is not None and self.snapshot is None and sum(n for _, n in dirty) >= PROCESSES_FROM:
            early(EarlySite(config, prepared))
        checked: dict[str, tuple] = {}
        for slug, unit, forms in self._check(ctx, dirty, progress, stop):
            units[slug] = (unit.meta.inputs, unit)
            if forms:
                checked[slug] = (unit.meta.department, forms)
        ordered = [units[slug][1] for slug, _ in prepared.departments]
        previous = self.snapshot
        sections = (previous.sections_source({s for s, _ in dirty})
                    if previous is not None and previous.sections_key == prepared.sections_key else ({}, set()))
        snapshot = Snapshot(config, prepared, ordered, sections, self.cache, checked)
        if everything:
            snapshot.try_templates()
        if touched is None:
            self.cache.forget_others(set(units))
        self.config, self.prepared, self.units, self.record_names = config, prepared, units, names
        self.snapshot = snapshot
        return Update(snapshot, len(dirty), len(ordered))

    def _kept(self, slug: str, inputs: tuple, key: str, config: SiteConfig) -> Unit | None:
        """The department's unit if its folder is as it was when checked, from memory or the cache."""
        held = self.units.get(slug)
        if held is not None and held[0] == inputs and held[1].meta.key == key:
            return held[1]
        meta = self.cache.load_meta(slug, config.profile)
        if meta is None or meta.key != key or meta.inputs != inputs:
            return None
        try:  # read now, not when a page needs them: a damaged record is checked again, not a broken page
            return Unit(meta, self.cache.load_fragments(slug))
        except CacheMiss:
            return None

    def _built(self, slug: str, inputs: tuple, key: str, build_key: str, config: SiteConfig) -> Unit | None:
        """The department's record as ``perfsite build`` left it, if made from the same folder
        under the same templates (its key covers more than the preview's); read, not copied:
        once the folder changes, the preview's own record takes over."""
        if self.built is None:
            return None
        meta = self.built.load_meta(slug, config.profile)
        if meta is None or meta.key != build_key or meta.inputs != inputs:
            return None
        try:
            fragments = self.built.load_fragments(slug)
        except CacheMiss:
            return None
        return Unit(replace(meta, key=key), fragments, self.built)

    def _check(self, ctx: _Context, dirty: list[tuple[str, int]], progress, stop: threading.Event | None = None
               ) -> list[tuple[str, Unit, tuple]]:
        """Check the departments that changed (all of them on a first start without a cache):
        in this process for a few forms, in worker processes for many; raises with every problem."""
        forms = sum(n for _, n in dirty)
        problems: list[Problem] = []
        results: list[tuple[str, Unit, tuple]] = []
        done = 0
        if forms >= PROCESSES_FROM and self.jobs > 1:
            # forkserver: this process runs threads (the server, the watcher), which fork would copy mid-step
            import multiprocessing

            pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=multiprocessing.get_context("forkserver"))
            try:
                pending = {pool.submit(check_in_worker, self.project_dir, ctx.key, slugs)
                           for slugs in plan_shards(dirty, self.jobs)}
                while pending:
                    finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    if stop is not None and stop.is_set():
                        raise Stopped("stopped")
                    for future in finished:
                        found, shard_problems = future.result()
                        problems += shard_problems
                        for unit in found:
                            results.append((unit.meta.slug, unit, ()))
                            done += len(unit.meta.forms)
                        if progress:
                            progress(done, forms)
            except BaseException:
                for process in list(getattr(pool, "_processes", {}).values()):  # not left checking after a stop
                    process.terminate()
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        else:
            for slug, _ in dirty:
                made, found = build_unit(ctx, slug)
                problems += found
                if made is not None:
                    results.append((slug, Unit(made.meta), made.checked))
        if problems:
            raise ContentError(sorted(problems, key=lambda p: p.location))
        return results


_WORKER: dict[tuple, _Context] = {}


def check_in_worker(project_dir: Path, key: str, slugs: list[str]) -> tuple[list[Unit], list[Problem]]:
    """Departments checked in a worker process, their records saved to the preview's cache."""
    ctx = _WORKER.get((project_dir, key))
    if ctx is None:
        config = load_config(project_dir)
        prepared = prepare(config)
        if prepared.fragments_key != key:
            raise PerfsiteError("the site changed while the preview was being made; save again")
        ctx = context_for(config, prepared, None, key, BuildCache(project_dir, None, name=CACHE_NAME))
        _WORKER.clear()
        _WORKER[(project_dir, key)] = ctx
    units, problems = [], []
    for slug in slugs:
        made, found = build_unit(ctx, slug)
        problems += found
        if made is not None:
            units.append(Unit(made.meta))
    return units, problems


@dataclass
class _SiteModel:
    """What only the pages that show every form, and the site-wide files, need: made when first asked for."""

    site: CheckedSite
    every_form: dict[str, Page]
    site_files: dict[str, bytes]


class Snapshot:
    """One version of the site: what is in it, and each file made on request (and kept for
    the next request of the same version). Its files are made on one thread at a time."""

    ready = True

    def __init__(self, config: SiteConfig, prepared: Prepared, units: list[Unit],
                 sections: tuple[dict[tuple, bytes], set[str]], cache: BuildCache, checked: dict[str, tuple]):
        self.config, self.theme, self.cache = config, prepared.theme, cache
        self.sections_key = prepared.sections_key
        self.pages_key = prepared.key  # what a department's pages depend on besides its folder
        self.units = units
        self.common = common_context(config, self.theme, prepared.assets, prepared.years)
        self.owner = {rel: u.meta.slug for u in units for rel in u.meta.outputs}
        self.static = prepared.static
        self.years = sorted({f.report.year for u in units for f in u.meta.forms})
        self.bulk = {f"data/{YEAR_FOLDER}/{year}/{name}": year for year in self.years for name in BulkFiles.NAMES}
        if config.all_years_downloads:
            self.bulk.update({f"data/{name}": None for name in BulkFiles.NAMES})
        self.bulk["data/datapackage.json"] = "datapackage"
        self._model: _SiteModel | None = None
        self._sections_source = sections  # the last version's sections, and the departments changed since
        self._sections: dict[tuple, bytes] | None = None  # the every-form pages' own sections
        self._fragments: dict[tuple, bytes] | None = None
        self._made: dict[str, bytes] = {}
        self._bulk_made: dict[str, bytes] = {}  # one year's files at a time (tens of MB at scale)
        self._departments: OrderedDict[str, DepartmentFiles] = OrderedDict()
        for slug, (department, forms_checked) in checked.items():
            self._remember(slug, DepartmentFiles(config, self.theme, self.common, department, forms_checked))
        self._lock = threading.RLock()

    def sections_source(self, changed: set[str]) -> tuple[dict[tuple, bytes], set[str]]:
        """For the next version: the sections known here, and the departments changed since they were made."""
        if self._sections is not None:
            return self._sections, set(changed)
        base, before = self._sections_source
        return base, before | changed

    @property
    def model(self) -> _SiteModel:
        with self._lock:
            if self._model is None:
                forms = tuple(f for u in self.units for f in u.meta.forms)
                site = CheckedSite(self.config, Content(tuple(u.meta.department for u in self.units),
                                                        tuple(f.report for f in forms)), forms,
                                   content_notices(self.config))
                pages = build_site_model(site, self.theme.strings, self.theme.glossary, preview=True)
                self._model = _SiteModel(site, {p.dest_path: p for p in pages if is_every_form_page(p)},
                                         site_wide_files(site, pages, self.theme))
            return self._model

    def names(self) -> set[str]:
        """Every file of the site (but the search bundle's)."""
        return {*self.static, *self.owner, *self.bulk, *self.model.every_form, *self.model.site_files}

    def __contains__(self, rel: str) -> bool:
        return (rel in self.static or rel in self.owner or rel in self.bulk or rel in self.model.every_form
                or rel in self.model.site_files)

    def get(self, rel: str, default: bytes | None = None) -> bytes | None:
        with self._lock:
            if rel in self.static:
                return self.static[rel]
            if rel in self.owner:
                return self._department(self.owner[rel]).get(rel, default)
            if rel in self.bulk:
                return self._bulk_file(rel)
            if rel in self.model.site_files:
                return self.model.site_files[rel]
            if rel in self.model.every_form:
                return self._every_form_page(rel)
            return default

    def try_templates(self) -> None:
        """Make the pages of one department (every department template), so that a broken
        template is reported when it is saved, not when its page is next opened; raises the
        located template error. A page that shows every form reports its own when opened."""
        first = next((u.meta.slug for u in self.units if u.meta.forms), None)
        if first is not None:
            self._remember(first, self._department(first))
            self.department_pages(first)

    def department_pages(self, slug: str) -> list[tuple[str, bytes]]:
        """The department's HTML pages (for the search index), made without keeping them."""
        with self._lock:
            files = self._departments.get(slug) or self._load_department(slug)
            return [(rel, files.get(rel)) for rel in files.pages]

    def every_form_pages(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return [(rel, self._every_form_page(rel)) for rel in self.model.every_form if rel.endswith(".html")]

    # -- made on request ------------------------------------------------------------------
    def _department(self, slug: str) -> DepartmentFiles:
        files = self._departments.get(slug)
        if files is None:
            files = self._load_department(slug)
        self._remember(slug, files)
        return files

    def _load_department(self, slug: str) -> DepartmentFiles:
        checked, problems = check_department(self.config, slug)
        if problems or checked is None:  # changed since this snapshot: the watcher is on it
            raise Changed(slug)
        department, forms = checked
        return DepartmentFiles(self.config, self.theme, self.common, department, forms)

    def _remember(self, slug: str, files: DepartmentFiles) -> None:
        self._departments[slug] = files
        self._departments.move_to_end(slug)
        while len(self._departments) > RECENT_DEPARTMENTS:
            self._departments.popitem(last=False)

    def _every_form_page(self, rel: str) -> bytes:
        if rel not in self._made:
            if self._fragments is None:
                self._fragments = {k: v for u in self.units for k, v in u.fragments(self.cache).items()}
            if self._sections is None:
                base, changed = self._sections_source
                self._sections = Sections.still_valid(base, {u.meta.slug for u in self.units}, changed)
                self._sections_source = ({}, set())
            sections = Sections({**self._fragments, **self._sections})
            page = self.model.every_form[rel]
            text = render_page(self.theme, page, {**self.common, "cached": sections})
            self._made[rel] = b"".join(sections.pieces(text))
            self._sections.update(sections.made)
        return self._made[rel]

    def _bulk_file(self, rel: str) -> bytes:
        which = self.bulk[rel]
        if which == "datapackage":
            return datapackage(self.config.title, self.years, self.config.all_years_downloads)
        if rel not in self._bulk_made:
            self._bulk_made = self._bulk(which)
        return self._bulk_made[rel]

    def _bulk(self, year: int | None) -> dict[str, bytes]:
        """One year's bulk files (``None``: every year's), streamed from the department records."""
        sinks: dict[str, _Sink] = {}
        others = [y for y in self.years if y != year]
        bulk = BulkFiles(lambda rel: sinks.setdefault(rel, _Sink()), self.config.title, year is None, others)
        for unit in self.units:
            if year is not None and all(f.report.year != year for f in unit.meta.forms):
                continue
            for form in (unit.source or self.cache).load_slices(unit.meta.slug):
                bulk.add_form(*form)
        bulk.close()
        return {rel: b"".join(sink.parts) for rel, sink in sinks.items() if rel != "data/datapackage.json"}


class EarlySite:
    """The site while a first start checks every form: a department's pages and downloads,
    made from its folder when asked for; nothing else yet (the server says it is coming)."""

    ready = False

    def __init__(self, config: SiteConfig, prepared: Prepared):
        self.config, self.theme = config, prepared.theme
        self.common = common_context(config, self.theme, prepared.assets, prepared.years)
        self.slugs = {slug for slug, _ in prepared.departments}
        self._departments: OrderedDict[str, DepartmentFiles] = OrderedDict()
        self._lock = threading.RLock()

    def _files(self, rel: str) -> DepartmentFiles | None:
        parts = rel.split("/")
        if len(parts) < 3 or parts[0] not in ("departments", "data") or parts[1] not in self.slugs:
            return None
        slug = parts[1]
        with self._lock:
            files = self._departments.get(slug)
            if files is None:
                checked, problems = check_department(self.config, slug)
                if problems or checked is None:  # reported with every other problem when the check ends
                    return None
                files = self._departments[slug] = DepartmentFiles(self.config, self.theme, self.common, *checked)
                while len(self._departments) > RECENT_DEPARTMENTS:
                    self._departments.popitem(last=False)
            return files

    def __contains__(self, rel: str) -> bool:
        files = self._files(rel)
        return files is not None and files.has(rel)

    def get(self, rel: str, default: bytes | None = None) -> bytes | None:
        files = self._files(rel)
        with self._lock:
            return files.get(rel, default) if files is not None else default


class DepartmentFiles:
    """One department's pages and downloads, each made the first time it is asked for."""

    def __init__(self, config: SiteConfig, theme, common: dict, department, forms: tuple):
        self.config, self.theme, self.common, self.forms = config, theme, common, forms
        site = CheckedSite(config, Content((department,), tuple(f.report for f in forms)), forms)
        self.pages: dict[str, Page] = {p.dest_path: p for p in build_site_model(site, theme.strings, theme.glossary)
                                       if is_department_page(p)}
        self._files: dict[str, bytes] | None = None
        self._made: dict[str, bytes] = {}

    def has(self, rel: str) -> bool:
        return rel in self.pages or rel in self._downloads()

    def _downloads(self) -> dict[str, bytes]:
        if self._files is None:
            self._files = {name: data for form in self.forms
                           for name, data in form_files(self.config, form).files.items()}
        return self._files

    def get(self, rel: str, default: bytes | None = None) -> bytes | None:
        if rel in self.pages:
            if rel not in self._made:
                page = self.pages[rel]
                self._made[rel] = render_page(self.theme, page, {**self.common, "cached": Sections()}).encode("utf-8")
            return self._made[rel]
        return self._downloads().get(rel, default)


class _Sink:
    def __init__(self):
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.parts.append(data)


class Stopped(PerfsiteError):
    """The server is stopping: the update was abandoned."""


class Changed(PerfsiteError):
    """A department folder changed after the snapshot that lists it was made."""

    def __init__(self, slug: str):
        super().__init__(f"content/departments/{slug}: changed while the page was made; it reloads when checked")


def search_files(snapshot: Snapshot, cancel: threading.Event | None = None,
                 kept: dict[str, tuple[tuple, dict[str, bytes]]] | None = None
                 ) -> tuple[dict[str, bytes], dict[str, tuple[tuple, dict[str, bytes]]]]:
    """The search bundles of the snapshot's pages (:func:`~generator.site.search.search_bundle`'s),
    one bundle's pages in memory at a time; a bundle in ``kept`` made from the same pages (the
    same department folders, templates and site) is reused. Returns the files and what to keep."""
    kept = kept or {}
    forms = {u.meta.slug: sum(1 for rel in u.meta.outputs if rel.endswith(".html") and rel.count("/") >= 3)
             for u in snapshot.units}
    made: dict[str, tuple[tuple, dict[str, bytes]]] = {}
    if not any(forms.values()):  # no form yet: an index of what there is, so the search page works
        pages = snapshot.every_form_pages()
        for unit in snapshot.units:
            pages += snapshot.department_pages(unit.meta.slug)
        files = index_pages(pages, BUNDLE, cancel)
        return files, {}
    plan = plan_bundles(forms)
    inputs = {u.meta.slug: u.meta.inputs for u in snapshot.units}
    files: dict[str, bytes] = {}
    for bundle in bundle_names(forms):
        slugs = [slug for slug in sorted(plan) if plan[slug] == bundle]
        key = (snapshot.pages_key, len(plan), tuple((slug, inputs[slug]) for slug in slugs))
        if bundle in kept and kept[bundle][0] == key:
            made[bundle] = kept[bundle]
        else:
            chunk = [page for slug in slugs for page in snapshot.department_pages(slug)]
            made[bundle] = (key, index_pages(chunk, bundle, cancel))
        files.update(made[bundle][1])
    return files, made


def _content_only(project_dir: Path, changed: set[Path]) -> bool:
    """Whether every changed path is a record (not site.yaml, a template, a string, a static file)."""
    content = project_dir / "content"
    for path in changed:
        path = Path(path).absolute()
        if path == content / "site.yaml" or not path.is_relative_to(content):
            return False
    return True

