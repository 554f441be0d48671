"""Build a site department by department, on every core, redoing only what changed.

A department folder is the unit of work (:mod:`generator.buildcache`). Units whose
inputs changed — all of them on a first or forced build — are read, scored, audited and
rendered in worker processes, in shards of departments in slug order: their department
and form pages and per-form downloads go straight into the standby copy of the site
(:class:`~generator.output.StandbyOutput`); their slices of the bulk files and their
sections of the every-form pages go to the cache with a slim summary of their forms (no
narratives, no indicator rows, no source positions). The main process then renders the
pages that show every form from those summaries, splicing in the cached sections, writes
the bulk files, and swaps the standby in. The pages are the same bytes
:class:`~generator.sitestate.SiteState` makes; a test keeps it so.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

from markupsafe import Markup

from .audit import audit_report
from .buildcache import (
    UNIT_TEMPLATES,
    BuildCache,
    Tree,
    UnitData,
    UnitMeta,
    environment_key,
    folder_signature,
    fragment_templates,
    shared_stamp,
    template_closures,
)
from .check import CheckedSite, content_notices
from .config import SiteConfig
from .errors import ContentError, Problem
from .feeds import feed_xml, robots_txt, sitemap_xml
from .opendata import INDICATOR_COLUMNS, REPORT_COLUMNS, csv_document, form_outputs, reports_json
from .output import NewFile, StandbyOutput, digest, write_new
from .records import YEAR_FILE, Content, list_departments, read_department_folder
from .render import asset_files, configure_env, render_page
from .scoring import ScoredReport, score_report
from .search import BUNDLE, bundle_names, index_pages, plan_bundles, search_version
from .sitemodel import EVERY_RECORD, build_site_model
from .theme import Theme, load_theme

PROCESSES_FROM = 300  # forms to rebuild; below this, worker processes cost more than they save
EVERY_FORM_TEMPLATES = ("index.html", "year.html", "departments.html", "quality.html")
# Pages whose sections the workers render with each department, because rendering them all in
# the main process would cost whole seconds (the quality page lists every finding); the
# sections of the other every-form pages are rendered by the main process and kept for the next
# build (worth it for a table row, not for a page of one form's worth of rows per department).
PRERENDERED = ("quality.html",)


@dataclass(frozen=True)
class UnitResult:
    meta: UnitMeta
    stats: dict[str, tuple[int, int, int]]  # of the files written into the standby


@dataclass(frozen=True)
class ShardResult:
    index: int
    units: tuple[UnitResult, ...]
    problems: tuple[Problem, ...]


@dataclass
class _Context:
    """What every shard needs, made once in the main process and inherited by forked workers."""

    config: SiteConfig
    theme: Theme
    assets: dict
    nav_years: list[int]
    standby: Path
    key: str
    cache: BuildCache
    fragment_pages: list[str]


_CONTEXT: _Context | None = None


class Fragments:
    """``cached(name, objects, fn, *args)`` in a build: sections of the every-form pages.

    A section is known by its name and the source files of the forms it shows. A worker
    records the sections it renders for its department (``made``); the main process puts
    a placeholder where a known section goes and :meth:`pieces` streams the page with the
    section bytes spliced in, so a page of every finding is never held in memory whole.
    Sections over no form, or over objects without a source file, are never kept.
    """

    def __init__(self, known: dict[tuple, bytes] | None = None):
        self.known = known or {}
        self.made: dict[tuple, bytes] = {}
        self.spliced: set[tuple] = set()
        self._token = f"\x00perfsite-section-{os.urandom(8).hex()}:"
        self._used: list[tuple] = []

    def __call__(self, name: str, objects, fn, *args):
        key = fragment_key(name, objects)
        if key is not None and key in self.known:
            self.spliced.add(key)
            self._used.append(key)
            return Markup(f"{self._token}{len(self._used) - 1}\x00")
        value = fn(*args)
        if key is not None:
            self.made[key] = str(value).encode("utf-8")
        return value

    def pieces(self, page: str):
        """The page's bytes with every placeholder replaced by its section."""
        first, *rest = page.split(self._token)
        yield first.encode("utf-8")
        for piece in rest:
            index, _, text = piece.partition("\x00")
            yield self.known[self._used[int(index)]]
            yield text.encode("utf-8")
        self._used.clear()


def unit_of(src_path: str) -> str | None:
    """The department folder a source file is in (``content/departments/<slug>/…``)."""
    parts = src_path.split("/")
    return parts[2] if len(parts) > 3 and parts[:2] == ["content", "departments"] else None


def fragment_key(name: str, objects) -> tuple | None:
    sources = []
    for obj in objects:
        source = getattr(getattr(obj, "report", obj), "src_path", "")
        if not source:
            return None
        sources.append(source)
    return (name, tuple(sources)) if sources else None


class _ActiveFragments:
    """The template global ``cached``: forwards to whichever :class:`Fragments` is in use."""

    def __init__(self):
        self.current = Fragments()

    def __call__(self, *args):
        return self.current(*args)


def plan_shards(departments: list[tuple[str, int]], jobs: int) -> list[list[str]]:
    """Contiguous runs of departments with about equal numbers of forms (order is kept)."""
    total = sum(n for _, n in departments) or 1
    count = max(1, min(len(departments), jobs * 4 if jobs > 1 else 1))
    target = total / count
    shards, current, size = [], [], 0
    for slug, n in departments:
        current.append(slug)
        size += n
        if size >= target and len(shards) < count - 1:
            shards.append(current)
            current, size = [], 0
    if current:
        shards.append(current)
    return shards


def slim(form: ScoredReport) -> ScoredReport:
    """What the all-forms pages need of a form, small enough to send between processes."""
    report = replace(form.report, doc=None, functions="", goals_planned="", goals_achieved="", indicators=())
    return replace(form, report=report, indicators=())


def build_shard(index: int, slugs: list[str]) -> ShardResult:
    units, problems = [], []
    for slug in slugs:
        unit, found = build_unit(_CONTEXT, slug)
        problems += found
        if unit is not None:
            units.append(unit)
    return ShardResult(index, tuple(units), tuple(problems))


def build_unit(ctx: _Context, slug: str) -> tuple[UnitResult | None, list[Problem]]:
    """One department: its pages and downloads into the standby, its record into the cache."""
    config = ctx.config
    folder = config.departments_dir / slug
    inputs = folder_signature(folder)  # before reading: an edit while we read rebuilds next time
    result, problems = read_department_folder(folder, f"content/departments/{slug}")
    if problems or result is None:
        return None, problems
    department, reports = result
    reports = sorted(reports, key=lambda r: r.year)
    forms = tuple(audit_report(score_report(r, config.profile)) for r in reports)
    site = CheckedSite(config, Content((department,), tuple(reports)), forms)
    common = common_context(ctx)
    outputs, stats = {}, {}

    def put(rel: str, data: bytes) -> None:
        outputs[rel] = digest(data)
        stats[rel] = write_new(ctx.standby, rel, data)

    recorder = Fragments()
    ctx.theme.env.globals["cached"].current = recorder
    for page in build_site_model(site, ctx.theme.strings, ctx.theme.glossary):
        if page.deps and EVERY_RECORD not in page.deps:  # the department and its forms
            put(page.dest_path, render_page(ctx.theme, page, common).encode("utf-8"))
        elif page.template in ctx.fragment_pages:  # rendered only for the sections it records
            render_page(ctx.theme, page, common)
    data = UnitData(fragments=recorder.made)
    report_rows, indicator_rows = [], []
    for form in forms:
        out = form_outputs(form, (config.project_dir / form.report.src_path).read_bytes())
        for rel, file_data in out.files.items():
            put(rel, file_data)
        data.json_fragments.append(out.json_fragment)
        report_rows.append(out.report_csv)
        indicator_rows.append(out.indicators_csv)
    data.report_rows, data.indicator_rows = b"".join(report_rows), b"".join(indicator_rows)
    meta = UnitMeta(slug, ctx.key, inputs, department, tuple(slim(f) for f in forms), outputs)
    ctx.cache.save_unit(meta, data, config.profile)
    return UnitResult(meta, stats), []


def common_context(ctx: _Context) -> dict:
    config = ctx.config
    return {"site": config, "t": ctx.theme.strings, "profile": config.profile, "assets": ctx.assets,
            "lang": config.language, "nav_years": ctx.nav_years}


def nav_years_of(config: SiteConfig, departments: list[tuple[str, int]]) -> list[int]:
    """The years in the navigation, from the file names (each is checked against its year)."""
    years = {int(m.group(1)) for slug, _ in departments
             for p in (config.departments_dir / slug).iterdir() if (m := YEAR_FILE.match(p.name))}
    return sorted(years, reverse=True)


@dataclass(frozen=True)
class Built:
    site: CheckedSite
    pages: int
    files: int
    bytes: int
    tree: Tree            # the site now live
    standby: Tree | None  # the previous site, now the standby, when it was known
    rebuilt: int          # departments read and rendered


def build_sharded(config: SiteConfig, out_dir: Path, jobs: int, progress=None, cache: BuildCache | None = None,
                  live: Tree | None = None, standby: Tree | None = None) -> Built:
    """Build into ``out_dir``. ``live``/``standby``: what is known to be on disk from the last
    build (None: nothing, rebuild every department)."""
    try:
        return _build(config, out_dir, jobs, progress, cache, live, standby)
    finally:
        gc.unfreeze()  # see frozen_heap


def _build(config, out_dir, jobs, progress, cache, live, standby) -> Built:
    cache = cache or BuildCache(config.project_dir, out_dir.resolve())
    departments, problems = list_departments(config)
    if problems:
        raise ContentError(problems)
    theme = load_theme(config)
    assets, static = asset_files(theme)
    configure_env(theme, static, _ActiveFragments())
    nav_years = nav_years_of(config, departments)
    closures = template_closures(theme, {*UNIT_TEMPLATES, *EVERY_FORM_TEMPLATES})
    fragment_pages = fragment_templates(theme, closures, PRERENDERED)
    shared = shared_stamp(config, theme, static, nav_years)
    key = environment_key(shared, theme, closures, [*UNIT_TEMPLATES, *fragment_pages])
    sections_key = environment_key(shared, theme, closures, EVERY_FORM_TEMPLATES)
    with frozen_heap():
        metas = {slug: reusable(cache, slug, key, config, live) for slug, _ in departments}
    rebuilt = {slug for slug, meta in metas.items() if meta is None}
    with StandbyOutput(out_dir, config.project_dir, live, standby) as tree, \
            contextlib.ExitStack() as stack:
        ctx = _Context(config, theme, assets, nav_years, tree.path, key, cache, fragment_pages)
        search = None
        if config.search:
            search = SearchIndexer(tree, cache, dict(departments), lanes=min(jobs, 2))
            stack.callback(search.close)
        place_departments(ctx, tree, departments, metas, jobs, progress, search)
        cache.forget_others(set(metas))
        ordered = [metas[slug] for slug, _ in departments]
        site = CheckedSite(config, Content(tuple(m.department for m in ordered),
                                           tuple(f.report for m in ordered for f in m.forms)),
                           tuple(f for m in ordered for f in m.forms), content_notices(config))
        pages = write_every_form_pages(ctx, tree, site, ordered, rebuilt, sections_key)
        for rel in sorted(static):
            tree.put(rel, static[rel])
        if config.base_url:
            tree.put("sitemap.xml", sitemap_xml(pages, config.base_url))
        tree.put("feed.xml", feed_xml(site, theme.strings))
        tree.put("robots.txt", robots_txt(config.base_url))
        if search:
            search.finish()
        tree.delete_the_rest()
        swapped = tree.swap()
    size = sum(s[1] for s in tree.stats.values())
    return Built(site, len(pages), len(tree.stats), size, Tree(tree.manifest, tree.stats),
                 live if swapped else None, len(rebuilt))


def place_departments(ctx: _Context, tree: StandbyOutput, departments: list[tuple[str, int]],
                      metas: dict[str, UnitMeta | None], jobs: int, progress, search: SearchIndexer | None) -> None:
    """Every department's files into the standby: kept ones as they are, the others rebuilt in
    shards (``metas`` gets their new records); raises with every content problem found."""
    global _CONTEXT
    dirty = [(slug, n) for slug, n in departments if metas[slug] is None]
    if search:
        dirty.sort(key=lambda d: search.order(d[0]))
    for slug, _ in departments:
        meta = metas[slug]
        if meta is not None:
            for rel, file_digest in meta.outputs.items():
                if not tree.reuse(rel, file_digest):
                    raise RuntimeError(f"{rel}: cached output missing from the site; run with --force")
            if search:
                search.ready(meta)

    def built(unit: UnitResult) -> None:
        metas[unit.meta.slug] = unit.meta
        for rel, file_digest in unit.meta.outputs.items():
            tree.adopt(rel, file_digest, unit.stats[rel])
        if search:
            search.ready(unit.meta)

    forms = sum(n for _, n in dirty)
    jobs = jobs if forms >= PROCESSES_FROM else 1
    _CONTEXT = ctx
    try:
        results = run_shards(plan_shards(dirty, jobs), jobs, forms, progress, built)
    finally:
        _CONTEXT = None
    problems = sorted((p for r in results for p in r.problems), key=lambda p: p.location)
    if problems:
        raise ContentError(problems)


def write_every_form_pages(ctx: _Context, tree: StandbyOutput, site: CheckedSite, ordered: list[UnitMeta],
                           rebuilt: set[str], sections_key: str) -> list:
    """The bulk downloads and the pages that show every form (and the 404 page), with the
    sections made with each department, or kept from the last build, spliced in; returns
    every page of the site (for the sitemap)."""
    cache, theme = ctx.cache, ctx.theme
    slugs = [m.slug for m in ordered]
    known = write_bulk(tree, cache, slugs)
    from_units, present = set(known), set(slugs)
    for section, data in cache.load_sections(sections_key).items():  # the main process's, last time
        if all(unit_of(src) in present and unit_of(src) not in rebuilt for src in section[1]):
            known.setdefault(section, data)
    sections = theme.env.globals["cached"].current = Fragments(known)
    pages = build_site_model(site, theme.strings, theme.glossary)
    common = common_context(ctx)
    for page in pages:
        if EVERY_RECORD in page.deps or not page.deps:
            tree.put_pieces(page.dest_path, sections.pieces(render_page(theme, page, common)))
    cache.save_sections(sections_key, {k: known[k] for k in sections.spliced - from_units} | sections.made)
    return pages


@contextlib.contextmanager
def frozen_heap():
    """Load the slim forms of every department without the cyclic collector rescanning them
    again and again (it doubled the load time), and keep them out of its later passes."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def reusable(cache: BuildCache, slug: str, key: str, config: SiteConfig, live: Tree | None) -> UnitMeta | None:
    """The department's record if nothing it depends on changed and the site still has its files."""
    if live is None:
        return None
    meta = cache.load_meta(slug, config.profile)
    if meta is None or meta.key != key or meta.inputs != folder_signature(config.departments_dir / slug):
        return None
    if any(live.manifest.get(rel) != d for rel, d in meta.outputs.items()):
        return None  # built, but that build never went live (it failed later)
    return meta


class SearchIndexer:
    """The search bundles, each indexed as soon as all its pages are in the standby, on threads
    beside the workers (Pagefind runs on one core: overlapped with rendering, it adds about
    half its time to a cold build instead of all of it), and only when a page it indexes
    changed since the bundle was last made."""

    def __init__(self, tree: StandbyOutput, cache: BuildCache, forms: dict[str, int], lanes: int):
        self.tree, self.cache, self.forms = tree, cache, forms
        self.plan = plan_bundles(forms)
        self.names = bundle_names(forms) if any(forms.values()) else []
        self.waiting = {name: {slug for slug, bundle in self.plan.items() if bundle == name} for name in self.names}
        self.metas: dict[str, UnitMeta] = {}
        self.started: dict[str, tuple] = {}  # bundle -> (key, future or None, files kept from last time)
        self.pool = ThreadPoolExecutor(max_workers=max(1, lanes), thread_name_prefix="perfsite-search")

    def order(self, slug: str) -> tuple:
        """Build departments bundle by bundle, so bundles complete (and index) one after another."""
        return (self.names.index(self.plan[slug]) if self.plan[slug] in self.names else -1, slug)

    def ready(self, meta: UnitMeta) -> None:
        """The department's pages are in the standby."""
        self.metas[meta.slug] = meta
        waiting = self.waiting.get(self.plan.get(meta.slug))
        if waiting is not None:
            waiting.discard(meta.slug)
            if not waiting:
                self._start(self.plan[meta.slug])

    def _start(self, bundle: str) -> None:
        pages = sorted((rel, d) for slug, name in self.plan.items() if name == bundle
                       for rel, d in self.metas[slug].outputs.items() if rel.endswith(".html"))
        key = hashlib.sha256(repr((bundle, search_version(), pages)).encode()).hexdigest()
        kept = self.cache.load_bundle(bundle)
        if kept is not None and kept[0] == key and all(self.tree.has(rel, d) for rel, d in kept[1].items()):
            self.started[bundle] = (key, None, kept[1])
        else:
            job = self.pool.submit(index_pages, [(rel, self.tree.path / rel) for rel, _ in pages], bundle)
            self.started[bundle] = (key, job, None)

    def finish(self) -> None:
        """Wait for the bundles and put them in the standby (called once every page is written)."""
        if not self.names:  # no form yet: an index of what there is, so the search page works
            pages = [(rel, self.tree.path / rel) for rel in sorted(self.tree.manifest) if rel.endswith(".html")]
            for rel, data in index_pages(pages, BUNDLE).items():
                self.tree.put(rel, data)
            return
        for bundle in self.names:
            key, job, kept = self.started[bundle]
            if job is None:
                for rel, d in kept.items():
                    self.tree.reuse(rel, d)
                continue
            files = job.result()
            for rel, data in files.items():
                self.tree.put(rel, data)
            self.cache.save_bundle(bundle, key, {rel: digest(data) for rel, data in files.items()})

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def run_shards(shards: list[list[str]], jobs: int, total_forms: int, progress, on_unit=None) -> list[ShardResult]:
    """Build the shards; ``on_unit`` hears of each department built, as soon as its shard is done."""
    done = 0
    results: list[ShardResult] = []

    def report(result: ShardResult) -> None:
        nonlocal done
        results.append(result)
        for unit in result.units:
            if on_unit:
                on_unit(unit)
        done += sum(len(u.meta.forms) for u in result.units)
        if progress:
            progress(done, total_forms)

    if jobs <= 1 or len(shards) <= 1:
        for index, slugs in enumerate(shards):
            report(build_shard(index, slugs))
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(build_shard, i, slugs) for i, slugs in enumerate(shards)]
            for future in as_completed(futures):
                report(future.result())
    return sorted(results, key=lambda r: r.index)


def write_bulk(tree: StandbyOutput, cache: BuildCache, slugs: list[str]) -> dict[tuple, bytes]:
    """The bulk downloads, streamed from every department's cached slices in slug order;
    returns the cached sections of the every-form pages, met on the way."""
    known: dict[tuple, bytes] = {}
    reports = NewFile(tree.path, "data/reports.csv")
    indicators = NewFile(tree.path, "data/indicators.csv")
    reports.write(csv_document(REPORT_COLUMNS, []))
    indicators.write(csv_document(INDICATOR_COLUMNS, []))

    def json_fragments():
        for slug in slugs:
            data = cache.load_data(slug)
            reports.write(data.report_rows)
            indicators.write(data.indicator_rows)
            known.update(data.fragments)
            yield from data.json_fragments

    try:
        tree.put_pieces("data/reports.json", reports_json(json_fragments()))
    finally:
        for out in (reports, indicators):
            tree.adopt(out.rel, *out.close())
    return known
