"""Build a site department by department, on every core, redoing only what changed.

A department folder is the unit of work (:mod:`generator.build.cache`). Units whose
inputs changed — all of them on a first or forced build — are read, scored, audited and
rendered in worker processes, in shards of departments in slug order: their department
and form pages and per-form downloads go straight into the standby copy of the site
(:class:`~generator.build.output.StandbyOutput`); their slices of the bulk files and their
sections of the every-form pages go to the cache with a slim summary of their forms (no
narratives, no indicator rows, no source positions). The main process then renders the
pages that show every form from those summaries, splicing in the cached sections, writes
the bulk files, and swaps the standby in. The pages are the same bytes
:class:`~generator.serve.state.SiteState` (the reference engine) makes; a test keeps it so.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import ContentError, Problem
from ..read.config import SiteConfig
from ..read.records import FORM_FILE, Content, list_departments
from ..score.check import CheckedSite, check_department, content_notices
from ..site.opendata import datapackage
from ..site.pipeline import (
    BulkFiles,
    bulk_framing,
    common_context,
    form_files,
    is_department_page,
    is_every_form_page,
    nav_years,
    nav_years_of_folders,
    record_names,
    site_wide_files,
    slim,
)
from ..site.render import Sections, asset_files, collection_paused, configure_env, render_page
from ..site.sitemodel import (
    DEPARTMENT_TEMPLATES,
    EVERY_FORM_TEMPLATES,
    YEAR_FOLDER,
    Memo,
    Page,
    build_site_model,
    page_inputs,
    quality_url,
    same_inputs,
    year_url,
)
from ..site.theme import Theme, load_theme
from .bulk_splice import Layout, LayoutReader, write_spliced
from .cache import BuildCache, BuildState, CacheMiss, Tree, UnitData, UnitMeta
from .output import NewFile, StandbyOutput, digest, write_new
from .search_lanes import SearchIndexer
from .stamps import (
    department_years,
    environment_key,
    folder_signature,
    fragment_templates,
    input_stamp,
    shared_inputs_stamp,
    shared_stamp,
    template_closures,
    year_stamps,
)

PROCESSES_FROM = 300  # forms to rebuild; below this, worker processes cost more than they save
# Pages whose sections the workers render with each department (a year's quality rows: each
# names the kinds of its form's findings); the sections of the other every-form pages are
# rendered by the main process and kept for the next build.
PRERENDERED = ("quality-year.html",)


@dataclass(frozen=True)
class UnitResult:
    meta: UnitMeta
    stats: dict[str, tuple[int, int, int]]  # of the files written into the standby
    checked: tuple = ()  # serve, in its own process: the department's whole forms, for its pages


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
    common: dict  # the template context every page shares
    standby: Path | None  # None: serve, which keeps only the department's record (its pages on request)
    key: str
    cache: BuildCache
    fragment_pages: list[str]


def context_for(config: SiteConfig, prepared: Prepared, standby: Path | None, key: str, cache: BuildCache) -> _Context:
    """The context of a build (or of the preview, ``standby`` None) from what :func:`prepare` worked out."""
    return _Context(config, prepared.theme, common_context(config, prepared.theme, prepared.assets, prepared.years),
                    standby, key, cache, prepared.fragment_pages)


_CONTEXT: _Context | None = None


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


def build_shard(index: int, slugs: list[str], ctx: _Context | None = None) -> ShardResult:
    units, problems = [], []
    for slug in slugs:
        unit, found = build_unit(ctx or _CONTEXT, slug)
        problems += found
        if unit is not None:
            units.append(unit)
    return ShardResult(index, tuple(units), tuple(problems))


def build_unit(ctx: _Context, slug: str) -> tuple[UnitResult | None, list[Problem]]:
    """One department: its pages and downloads into the standby, its record into the cache."""
    config = ctx.config
    inputs = folder_signature(config.departments_dir / slug)  # before reading: an edit meanwhile rebuilds next time
    checked, problems = check_department(config, slug)
    if problems or checked is None:
        return None, problems
    department, forms = checked
    site = CheckedSite(config, Content((department,), tuple(f.report for f in forms)), forms)
    outputs, stats = {}, {}

    def put(rel: str, data: bytes) -> None:
        outputs[rel] = digest(data)
        stats[rel] = write_new(ctx.standby, rel, data)

    recorder = Sections()
    common = {**ctx.common, "cached": recorder}
    for page in build_site_model(site, ctx.theme.strings, ctx.theme.glossary):
        if is_department_page(page):
            if ctx.standby is None:  # serve: the page is made when asked for; only its name is kept
                outputs[page.dest_path] = b""
            else:
                put(page.dest_path, render_page(ctx.theme, page, common).encode("utf-8"))
        elif page.template in ctx.fragment_pages:  # rendered only for the sections it records
            render_page(ctx.theme, page, common)
    data = UnitData(fragments=recorder.made)
    for form in forms:
        out = form_files(config, form)
        for rel, file_data in out.files.items():
            if ctx.standby is None:
                outputs[rel] = b""
            else:
                put(rel, file_data)
        data.forms.append((out.year, out.json_fragment, out.report_csv, out.indicators_csv))
    meta = UnitMeta(slug, ctx.key, inputs, department, tuple(slim(f) for f in forms), outputs)
    ctx.cache.save_unit(meta, data, config.profile)
    return UnitResult(meta, stats, forms if ctx.standby is None else ()), []


@dataclass(frozen=True)
class ClusterTask:
    """What a cluster worker needs to build shards of this build: paths on the shared storage
    and the key the main process worked out (the worker's must match)."""

    project_dir: Path
    out_dir: Path
    standby: Path
    key: str


_WORKER_CONTEXT: dict[ClusterTask, _Context] = {}
_WORKER_LOCK = threading.Lock()


def build_shard_on_worker(task: ClusterTask, index: int, slugs: list[str]) -> ShardResult:
    """A shard on a cluster worker: the build's context made once per worker and build from the
    shared project folder, checked to be the main process's, then the shard as here."""
    with _WORKER_LOCK:  # a worker may run shards in several threads
        ctx = _WORKER_CONTEXT.get(task) or _worker_context(task)
    return build_shard(index, slugs, ctx)


def _worker_context(task: ClusterTask) -> _Context:
    from ..read.config import load_config

    config = load_config(task.project_dir)
    prepared = prepare(config)
    if prepared.key != task.key:
        raise ClusterMismatch(
            f"a cluster worker sees a different site (content, theme or perfsite version) than the "
            f"build at {task.project_dir}: every worker needs the same perfsite and the project at the same path")
    ctx = context_for(config, prepared, task.standby, task.key, BuildCache(task.project_dir, task.out_dir))
    _WORKER_CONTEXT.clear()  # only the current build's
    _WORKER_CONTEXT[task] = ctx
    return ctx


class ClusterMismatch(Exception):
    """A worker's view of the site differs from the main process's."""


@dataclass(frozen=True)
class Built:
    site: CheckedSite
    pages: int
    files: int
    bytes: int
    tree: Tree            # the site now live
    standby: Tree | None  # the previous site, now the standby, when it was known
    rebuilt: int          # departments read and rendered
    years: dict[int, str] = field(default_factory=dict)  # what each year's pages were made from


def build_sharded(config: SiteConfig, out_dir: Path, jobs: int, progress=None, cache: BuildCache | None = None,
                  live: Tree | None = None, standby: Tree | None = None, cluster=None,
                  last_years: dict[int, str] | None = None, kept: Kept | None = None, trusted: bool = False) -> Built:
    """Build into ``out_dir``. ``live``/``standby``: what is known to be on disk from the last
    build (None: nothing, rebuild every department); ``cluster``: build the departments there
    (:mod:`generator.build.cluster`) instead of in this machine's processes; ``kept``: what the
    last build in this process kept in memory (``perfsite build --watch``), updated here;
    ``trusted``: ``standby`` is what this process left there (no need to walk it)."""
    try:
        return _build(config, out_dir, jobs, progress, cache, live, standby, cluster, last_years or {}, kept,
                      trusted)
    finally:
        gc.unfreeze()  # see frozen_heap


@dataclass(frozen=True)
class Prepared:
    """What a build works out before reading any record: the departments, the theme, and the
    keys that say whether a department's kept pages (``key``) and the every-form pages' kept
    sections (``sections_key``) still hold. Made the same way in the main process and, for a
    cluster build, on each worker (which checks it got the same keys)."""

    departments: list[tuple[str, int]]
    theme: Theme
    assets: dict
    static: dict[str, bytes]
    years: list[int]
    fragment_pages: list[str]
    key: str
    sections_key: str
    fragments_key: str = ""  # what the sections a department records depend on (serve's records)


def prepare(config: SiteConfig) -> Prepared:
    departments = listed_departments(config)
    theme = load_theme(config)
    assets, static = asset_files(theme)
    configure_env(theme, static)
    years = record_years(config, departments)
    closures = template_closures(theme, {*DEPARTMENT_TEMPLATES, *EVERY_FORM_TEMPLATES})
    fragment_pages = fragment_templates(theme, closures, PRERENDERED)
    shared = shared_stamp(config, theme, static, years)
    key = environment_key(shared, theme, closures, [*DEPARTMENT_TEMPLATES, *fragment_pages])
    sections_key = environment_key(shared, theme, closures, EVERY_FORM_TEMPLATES)
    fragments_key = environment_key(shared, theme, closures, fragment_pages)
    return Prepared(departments, theme, assets, static, years, fragment_pages, key, sections_key, fragments_key)


@dataclass
class Kept:
    """What a build keeps in memory for the next build in the same process (``perfsite build
    --watch``): the theme worked out, and every department's record, so that an edit reads
    and renders only what changed. Nothing here is read from disk, so nothing here can be
    planted; whether it still holds is checked as a one-shot build checks its cache."""

    shared: str = ""                 # stamp of every input but the department folders, for ``prepared``
    seen: str = ""                   # ... as this build found it
    entries: dict[str, str] = field(default_factory=dict)  # each department folder's stamp
    prepared: Prepared | None = None
    metas: dict[str, UnitMeta] = field(default_factory=dict)
    state: BuildState | None = None  # what the last build left on disk, when it is still so
    identity: tuple = ()             # ... as long as the state file and both folders are the ones it left
    year_parts: dict = field(default_factory=dict)  # each department's part of the year stamps
    fragments: dict[str, dict[tuple, bytes]] = field(default_factory=dict)  # each department's sections
    sections: tuple[str, dict[tuple, bytes]] | None = None  # the main process's sections, with their key
    bulk: dict[str, Layout] = field(default_factory=dict)  # where each department's piece lies in the bulk files
    pending: list = field(default_factory=list)  # cache writes left for after the swap
    changed: set[Path] | None = None  # what the watcher says changed since the last build (None: unknown)
    named: set[str] | None = None     # ... the department folders holding all of it (None: more changed)
    listing: dict[str, list[str]] = field(default_factory=dict)  # each department folder's file names
    unused: dict = field(default_factory=dict)  # each department folder's files nothing reads
    memo: Memo = field(default_factory=Memo)     # what the every-form pages worked out, by year
    rendered: dict[str, tuple] = field(default_factory=dict)  # each every-form page's inputs and digest

    def later(self, work) -> None:
        """Cache writes the next build in this process does not need: done once the new site
        is in place (:meth:`settle`), so an edit shows that much sooner."""
        self.pending.append(work)

    def settle(self) -> None:
        while self.pending:
            self.pending.pop(0)()

    def stamp_inputs(self, project_dir: Path, out_dir: Path) -> str:
        """:func:`~generator.build.stamps.input_stamp`, with ``named`` set to the department
        folders the watcher named when every change it saw is inside one it knew: only those
        are stamped again."""
        self.named = (departments_touched(project_dir / "content" / "departments", self.changed, self.listing)
                      if self.changed is not None and self.prepared is not None else None)
        self.seen = self.shared if self.named is not None else shared_inputs_stamp(project_dir)
        return input_stamp(project_dir, out_dir, self.entries, self.named, self.seen)

    def prepare(self, config: SiteConfig) -> Prepared:
        """The theme and keys worked out last time when nothing they depend on changed (the
        theme, overrides, site.yaml, the years of the site; as :meth:`stamp_inputs` found them)."""
        key = self.prepared.key if self.prepared is not None else None
        self.prepared, self.listing = prepare_again(config, self.prepared, self.listing, self.named,
                                                    everything=self.seen != self.shared)
        if self.prepared.key != key:  # another theme or profile: nothing worked out or rendered before holds
            self.memo, self.rendered = Memo(), {}
        self.shared = self.seen
        return self.prepared


def departments_touched(departments_dir: Path, changed, known) -> set[str] | None:
    """The department folders that hold every changed path, if each was ``known`` and still
    is a folder; None when the departments themselves, or anything outside them, may have
    changed (``build --watch`` and ``serve`` alike)."""
    touched = set()
    for path in changed:
        path = Path(path).absolute()
        parts = path.relative_to(departments_dir).parts if path.is_relative_to(departments_dir) else ()
        if len(parts) < 2 or parts[0] not in known:
            return None
        folder = departments_dir / parts[0]
        if not folder.is_dir() or folder.is_symlink():
            return None
        touched.add(parts[0])
    return touched


def prepare_again(config: SiteConfig, last: Prepared | None, names: dict[str, list[str]],
                  touched: set[str] | None, everything: bool) -> tuple[Prepared, dict[str, list[str]]]:
    """:func:`prepare`, but the theme and keys made again only when more than records may have
    changed (``everything``) or the years in the navigation did; every department folder
    listed again when one may have come or gone (``touched`` None), else only those touched.
    Returns it with the file names of each department folder (``names``: last time's)."""
    if not everything and last is not None:
        if touched is None:
            departments = listed_departments(config)
            names = {slug: record_names(config, [slug]) for slug, _ in departments}
        else:
            names = {**names, **{slug: record_names(config, [slug]) for slug in touched}}
            forms = dict(last.departments)  # the untouched folders hold the forms they held
            forms.update((slug, sum(1 for name in names[slug] if FORM_FILE.match(name))) for slug in touched)
            departments = [(slug, forms[slug]) for slug, _ in last.departments]
        if nav_years_of_folders(names.values()) == last.years:
            return replace(last, departments=departments), names
    prepared = prepare(config)  # (with new years, every page's navigation changes)
    return prepared, {slug: record_names(config, [slug]) for slug, _ in prepared.departments}


def _now(work) -> None:
    work()


def warm_up(config: SiteConfig, cache: BuildCache, kept: Kept, live: Tree) -> bool:
    """Read into ``kept`` what the first edit would otherwise read (the theme worked out, every
    department's record and sections) when a watch starts on a site already up to date; whether
    every record was there to read."""
    prepared = kept.prepare(config)
    with frozen_heap():
        metas = {slug: reusable(cache, slug, prepared.key, config, live) for slug, _ in prepared.departments}
    if any(meta is None for meta in metas.values()):
        return False  # the next build finds out why, and rebuilds what it must
    kept.metas = metas
    try:
        kept.fragments = {slug: cache.load_fragments(slug) for slug in metas}
        kept.bulk = read_layouts(cache, [metas[slug] for slug, _ in prepared.departments], live.manifest,
                                 config.all_years_downloads)
    except CacheMiss:
        kept.fragments, kept.bulk = {}, {}
    return True


def read_layouts(cache: BuildCache, metas: list[UnitMeta], manifest: dict[str, bytes],
                 all_years: bool) -> dict:
    """Where each department's piece lies in the live bulk files, worked out from the cached
    slices in one pass (a department's slices at a time), for the files they hash to."""
    readers: dict[str, LayoutReader] = {}
    for meta in metas:
        years = department_years(meta)
        if not years:
            continue  # no form: no piece in any file
        slices = cache.load_slices(meta.slug)
        for folder, year in ([("data/", None)] if all_years else []) + [
                (f"data/{YEAR_FOLDER}/{y}/", y) for y in years]:
            for index, name in enumerate(BulkFiles.NAMES):
                rel = folder + name
                if rel not in readers:
                    readers[rel] = LayoutReader(bulk_framing()[name])
                readers[rel].add(meta.slug, meta, [f[1 + index] for f in slices if year is None or f[0] == year])
    layouts = {rel: reader.layout(manifest.get(rel)) for rel, reader in readers.items()}
    return {rel: layout for rel, layout in layouts.items() if layout is not None}


def listed_departments(config: SiteConfig) -> list[tuple[str, int]]:
    departments, problems = list_departments(config)
    if problems:
        raise ContentError(problems)
    return departments


def record_years(config: SiteConfig, departments: list[tuple[str, int]]) -> list[int]:
    return nav_years(record_names(config, (slug for slug, _ in departments)))


def _build(config, out_dir, jobs, progress, cache, live, standby, cluster, last_years: dict[int, str],
           kept: Kept | None = None, trusted: bool = False) -> Built:
    cache = cache or BuildCache(config.project_dir, out_dir.resolve())
    later = kept.later if kept is not None else _now
    prepared = kept.prepare(config) if kept is not None else prepare(config)
    departments, theme, static, key = prepared.departments, prepared.theme, prepared.static, prepared.key
    named = kept.named if kept is not None else None
    with frozen_heap():
        metas = {slug: reusable(cache, slug, key, config, live, kept, named, trusted) for slug, _ in departments}
    rebuilt = {slug for slug, meta in metas.items() if meta is None}
    with StandbyOutput(out_dir, config.project_dir, live, standby, trusted) as tree, \
            contextlib.ExitStack() as stack:
        if kept is not None and sum(n for slug, n in departments if slug in rebuilt) < PROCESSES_FROM:
            # a watched edit of a few forms makes little garbage, and the collector's passes over
            # what the build allocates were a twentieth of it: they wait until the new site is in
            # place (the watch collects after each build: resident.keep_out_of_collector)
            stack.enter_context(collection_paused())
        ctx = context_for(config, prepared, tree.path, key, cache)
        search = None
        if config.search:
            search = SearchIndexer(tree, cache, dict(departments))
            stack.callback(search.close)
        runner = cluster.runner(ClusterTask(config.project_dir, out_dir, tree.path, key)) if cluster else None
        place_departments(ctx, tree, departments, metas, jobs, progress, search, runner)
        present = set(metas)
        later(lambda: cache.forget_others(present))
        ordered = [metas[slug] for slug, _ in departments]
        site = CheckedSite(config, Content(tuple(m.department for m in ordered),
                                           tuple(f.report for m in ordered for f in m.forms)),
                           tuple(f for m in ordered for f in m.forms),
                           content_notices(config, kept.unused if kept is not None else None,
                                           lambda slug: named is not None and slug not in named))
        years = year_stamps(ordered, (key, prepared.sections_key), kept.year_parts if kept is not None else None)
        kept_years = {y for y, stamp in years.items() if last_years.get(y) == stamp} if live else set()
        pages = write_every_form_pages(ctx, tree, site, ordered, rebuilt, prepared.sections_key, kept_years,
                                       memory=kept, year_stamps=years)
        memo = kept.memo if kept is not None else None
        for rel, data in sorted(static.items()) + sorted(site_wide_files(site, pages, theme, memo, years).items()):
            tree.put(rel, data)
        if search:
            search.finish()
        tree.delete_the_rest()
        swapped = tree.swap()
    if kept is not None:
        kept.metas = {meta.slug: meta for meta in ordered}
    size = sum(s[1] for s in tree.stats.values())
    return Built(site, len(pages), len(tree.stats), size, Tree(tree.manifest, tree.stats),
                 live if swapped else None, len(rebuilt), years)


def place_departments(ctx: _Context, tree: StandbyOutput, departments: list[tuple[str, int]],
                      metas: dict[str, UnitMeta | None], jobs: int, progress, search: SearchIndexer | None,
                      runner=None) -> None:
    """Every department's files into the standby: kept ones as they are, the others rebuilt in
    shards (``metas`` gets their new records); raises with every content problem found."""
    global _CONTEXT
    dirty = [(slug, n) for slug, n in departments if metas[slug] is None]
    if search:
        dirty.sort(key=lambda d: search.order(d[0]))
    for slug, _ in departments:
        meta = metas[slug]
        if meta is not None:
            if not tree.reuse_all(meta.outputs):
                missing = sorted(rel for rel, file_digest in meta.outputs.items() if not tree.has(rel, file_digest))
                raise RuntimeError(f"{', '.join(missing)}: cached output missing from the site; run with --force")
            if search:
                search.ready(meta)

    def built(unit: UnitResult) -> None:
        metas[unit.meta.slug] = unit.meta
        for rel, file_digest in unit.meta.outputs.items():
            tree.adopt(rel, file_digest, unit.stats[rel])
        if search:
            search.ready(unit.meta)

    forms = sum(n for _, n in dirty)
    if runner is not None:  # a cluster: its workers, however many, each take shards as they free up
        results = run_shards(plan_shards(dirty, runner.workers), runner.workers, forms, progress, built, runner)
    else:
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
                           rebuilt: set[str], sections_key: str, kept_years: set[int] = frozenset(),
                           memory: Kept | None = None, year_stamps: dict[int, str] | None = None) -> list:
    """The bulk downloads and the pages that show every form (and the 404 page), with the
    sections made with each department, or kept from the last build, spliced in; returns
    every page of the site (for the sitemap). The files of ``kept_years`` (made from exactly
    what the live site's were: :func:`~generator.build.stamps.year_stamps`) are kept as they are.
    ``memory``: what the last build of this process kept (its sections, what its pages worked
    out from each year's forms, known by ``year_stamps``)."""
    cache, theme = ctx.cache, ctx.theme
    slugs = [m.slug for m in ordered]
    live = tree.live.manifest if tree.live is not None else {}
    pages = build_site_model(site, theme.strings, theme.glossary, memo=memory.memo if memory is not None else None,
                             year_stamps=year_stamps)
    names = [page.dest_path for page in pages]
    files = year_files(kept_years, names)
    kept = {rel: d for year in kept_years for rel in files[year]
            if (d := live.get(rel)) is not None and tree.has(rel, d)}
    kept_years = {year for year in kept_years if all(rel in kept for rel in files[year])}
    kept = {rel: kept[rel] for year in sorted(kept_years) for rel in files[year]}  # whole years only
    for rel, file_digest in kept.items():
        tree.reuse(rel, file_digest)
    if memory is None:
        known = write_bulk(tree, cache, ordered, ctx.config.title, ctx.config.all_years_downloads, kept_years)
    else:
        known = write_bulk_spliced(tree, cache, ordered, memory, ctx.config.title, ctx.config.all_years_downloads,
                                   kept_years, rebuilt, year_stamps.keys() if year_stamps is not None else None)
    from_units = set(known)
    stored = (memory.sections[1] if memory is not None and memory.sections is not None
              and memory.sections[0] == sections_key else cache.load_sections(sections_key))
    last_time = Sections.still_valid(stored, set(slugs), rebuilt)  # the main process's
    sections = Sections({**last_time, **known})
    common = {**ctx.common, "cached": sections}
    rendered = memory.rendered if memory is not None else {}
    made: dict[str, tuple] = {rel: rendered[rel] for rel in kept if rel in rendered}
    for page in pages:
        if is_every_form_page(page) and page.dest_path not in kept:
            made[page.dest_path] = write_page(tree, theme, page, common, sections, rendered.get(page.dest_path),
                                              remember=memory is not None)
    if memory is not None:
        memory.rendered = made
    # with the still valid ones of pages kept as they were (their years' pages are made from them next time)
    kept_sections = {**last_time, **sections.made}
    main_sections = {k: v for k, v in kept_sections.items() if k not in from_units}
    if memory is not None:
        memory.sections = (sections_key, main_sections)
    (memory.later if memory is not None else _now)(lambda: cache.save_sections(sections_key, main_sections))
    return pages


def write_page(tree: StandbyOutput, theme: Theme, page: Page, common: dict, sections: Sections,
               last: tuple | None, remember: bool = True) -> tuple | None:
    """Render a page that shows every form into the standby, or keep it as the live site has it
    when it is made of the same things as last time (``last``: its inputs and digest then;
    a list page of 1,000 rows none of which changed); returns its inputs and digest now
    (``remember`` false, a one-shot build: nothing, and its inputs are not worked out)."""
    context = page.context
    inputs = page_inputs({"template": page.template, "title": page.title, "context": context}) if remember else None
    if last is not None and inputs is not None and same_inputs(last[0], inputs) \
            and tree.reuse(page.dest_path, last[1]):
        return last
    tree.put_pieces(page.dest_path, sections.pieces(render_page(theme, page, common, context)))
    return (inputs, tree.manifest[page.dest_path]) if remember else None


@contextlib.contextmanager
def frozen_heap():
    """Load the slim forms of every department without the cyclic collector rescanning them
    again and again (it doubled the load time), and keep them out of its later passes."""
    with collection_paused():
        try:
            yield
        finally:
            gc.freeze()


def reusable(cache: BuildCache, slug: str, key: str, config: SiteConfig, live: Tree | None,
             kept: Kept | None = None, named: set[str] | None = None, trusted: bool = False) -> UnitMeta | None:
    """The department's record (from memory when ``kept`` has it) if nothing it depends on
    changed and the site still has its files. A folder the watcher did not name (``named``:
    the folders it saw change) whose record is in memory is not listed again; nor, while the
    site is as this process left it (``trusted``), are its files looked up: they went live with it."""
    if live is None:
        return None
    meta = kept.metas.get(slug) if kept is not None and slug in kept.metas else cache.load_meta(slug, config.profile)
    if meta is None or meta.key != key:
        return None
    unnamed = named is not None and slug not in named and kept is not None and meta is kept.metas.get(slug)
    if not unnamed and meta.inputs != folder_signature(config.departments_dir / slug):
        return None
    if unnamed and trusted:
        return meta
    if any(live.manifest.get(rel) != d for rel, d in meta.outputs.items()):
        return None  # built, but that build never went live (it failed later)
    return meta


def run_shards(shards: list[list[str]], jobs: int, total_forms: int, progress, on_unit=None,
               runner=None) -> list[ShardResult]:
    """Build the shards (here, in forked workers, or on a cluster's ``runner``); ``on_unit``
    hears of each department built, as soon as its shard is done."""
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

    if runner is not None:
        for result in runner.run(shards):
            report(result)
    elif jobs <= 1 or len(shards) <= 1:
        for index, slugs in enumerate(shards):
            report(build_shard(index, slugs))
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(build_shard, i, slugs) for i, slugs in enumerate(shards)]
            for future in as_completed(futures):
                report(future.result())
    return sorted(results, key=lambda r: r.index)


def year_files(years: set[int], pages: list[str]) -> dict[int, list[str]]:
    """What is made from one year's forms alone, for each of ``years``: what lies in its folder
    and its quality folder (of ``pages``, every page of the site: how many a year has depends
    on its forms), and its bulk files."""
    folders = {}
    for year in years:
        for url in (year_url(year), quality_url(year)):
            folders[url.rsplit("/", 1)[0]] = year
    found: dict[int, list[str]] = {year: [] for year in years}
    for rel in pages:
        parts = rel.split("/", 2)
        folder = "/".join(parts[:2]) if parts[0] == "quality" and len(parts) > 2 else parts[0]
        if len(parts) > 1 and folder in folders:
            found[folders[folder]].append(rel)
    for year in years:
        found[year] += [f"data/{YEAR_FOLDER}/{year}/{name}" for name in BulkFiles.NAMES]
    return found


def write_bulk(tree: StandbyOutput, cache: BuildCache, metas: list[UnitMeta], title: str = "",
               all_years: bool = False, kept_years: set[int] = frozenset()) -> dict[tuple, bytes]:
    """The bulk downloads, streamed from every department's cached slices in slug order (but
    the files of ``kept_years``, already in place: a department with forms of those years
    only is not read); returns the cached sections of the every-form pages."""
    known: dict[tuple, bytes] = {}
    sinks: dict[str, NewFile] = {}

    def open_sink(rel: str) -> NewFile:
        sinks[rel] = NewFile(tree.path, rel)
        return sinks[rel]

    try:
        bulk = BulkFiles(open_sink, title, all_years, kept_years)
        for meta in metas:
            if all_years or any(f.report.year not in kept_years for f in meta.forms):
                for form in cache.load_slices(meta.slug):
                    bulk.add_form(*form)
            known.update(cache.load_fragments(meta.slug))
        bulk.close()
    finally:
        for rel, out in sinks.items():
            tree.adopt(rel, *out.close())
    return known


def write_bulk_spliced(tree: StandbyOutput, cache: BuildCache, metas: list[UnitMeta], memory: Kept, title: str = "",
                       all_years: bool = False, kept_years: set[int] = frozenset(),
                       rebuilt: set[str] = frozenset(), years=None) -> dict[tuple, bytes]:
    """:func:`write_bulk` for a resident build: each file is the live one's bytes with the
    pieces of the departments rebuilt since it was written replaced
    (:mod:`generator.build.bulk_splice`); only those departments' slices are read. The
    sections come from memory but the rebuilt departments'. ``years``: the years with forms,
    when known."""
    read: dict[str, list] = {}

    def pieces(meta: UnitMeta, index: int, year: int | None) -> list[bytes]:
        if meta.slug not in read:
            read[meta.slug] = cache.load_slices(meta.slug)
        return [form[1 + index] for form in read[meta.slug] if year is None or form[0] == year]

    present = sorted(years if years is not None else {f.report.year for meta in metas for f in meta.forms})
    sets = [("data/", None)] if all_years else []
    sets += [(f"data/{YEAR_FOLDER}/{year}/", year) for year in present if year not in kept_years]
    live = tree.live.manifest if tree.live is not None else {}
    layouts = {rel: layout for rel, layout in memory.bulk.items()
               if rel.startswith(f"data/{YEAR_FOLDER}/") and int(rel.split("/")[2]) in kept_years
               and live.get(rel) == layout.digest}
    for folder, year in sets:
        members = [meta for meta in metas if (meta.forms if year is None
                                              else year in department_years(meta, memory.year_parts))]
        for index, name in enumerate(BulkFiles.NAMES):
            rel = folder + name
            old = memory.bulk.get(rel)
            layouts[rel] = write_spliced(
                tree, rel, bulk_framing()[name], ((meta.slug, meta) for meta in members),
                functools.partial(pieces, index=index, year=year),
                old if old is not None and live.get(rel) == old.digest else None)
    memory.bulk = layouts
    tree.put("data/datapackage.json", datapackage(title, present, all_years))
    known: dict[tuple, bytes] = {}
    for meta in metas:
        if meta.slug in rebuilt or meta.slug not in memory.fragments:
            memory.fragments[meta.slug] = cache.load_fragments(meta.slug)
        known.update(memory.fragments[meta.slug])
    for slug in memory.fragments.keys() - {meta.slug for meta in metas}:
        del memory.fragments[slug]
    return known
