"""Build a large site in shards of departments, on every core, with bounded memory.

Each shard (a run of departments in slug order) is read, scored, audited and rendered
in a worker process: its department and form pages and per-form downloads go straight
into the staged output folder, its rows of the bulk downloads into part files. The
workers send back only slim summaries of their forms (no narratives, no indicator rows,
no source positions), from which the main process renders the pages that show every
form (overview, years, department list, quality) and the feeds. The pages are the same
bytes :class:`~generator.sitestate.SiteState` makes; a test keeps it so.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from .audit import audit_report
from .check import CheckedSite
from .config import SiteConfig
from .errors import ContentError, Problem
from .feeds import feed_xml, robots_txt, sitemap_xml
from .model import Department
from .opendata import INDICATOR_COLUMNS, REPORT_COLUMNS, csv_document, form_outputs, reports_json
from .output import StagedOutput, write_file
from .records import YEAR_FILE, Content, list_departments, read_department_folder
from .render import asset_files, configure_env, render_page
from .scoring import ScoredReport, score_report
from .search import BUNDLE, index_folder
from .sitemodel import EVERY_RECORD, build_site_model
from .theme import Theme, load_theme

PARTS = ".parts"


@dataclass(frozen=True)
class ShardResult:
    index: int
    departments: tuple[Department, ...]
    forms: tuple[ScoredReport, ...]  # slim
    problems: tuple[Problem, ...]


@dataclass
class _Context:
    """What every shard needs, made once in the main process and inherited by forked workers."""

    config: SiteConfig
    theme: Theme
    assets: dict
    asset_files: dict
    nav_years: list[int]
    staged: Path


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


def slim(form: ScoredReport) -> ScoredReport:
    """What the all-forms pages need of a form, small enough to send between processes."""
    report = replace(form.report, doc=None, functions="", goals_planned="", goals_achieved="", indicators=())
    return replace(form, report=report, indicators=())


def build_shard(index: int, slugs: list[str]) -> ShardResult:
    ctx = _CONTEXT
    config = ctx.config
    departments, reports, problems = [], [], []
    for slug in slugs:
        result, found = read_department_folder(config.departments_dir / slug, f"content/departments/{slug}")
        problems += found
        if result is not None:
            departments.append(result[0])
            reports += result[1]
    if problems:
        return ShardResult(index, (), (), tuple(problems))
    reports.sort(key=lambda r: (r.department.slug, r.year))
    forms = tuple(audit_report(score_report(r, config.profile)) for r in reports)
    site = CheckedSite(config, Content(tuple(departments), tuple(r for r in reports)), forms)
    common = common_context(ctx)
    made: set[Path] = set()
    for page in build_site_model(site, ctx.theme.strings, ctx.theme.glossary):
        if EVERY_RECORD not in page.deps and page.deps:  # department and form pages
            write_file(ctx.staged, page.dest_path, render_page(ctx.theme, page, common).encode("utf-8"), made)
    json_parts, report_rows, indicator_parts = [], [], []
    for form in forms:
        out = form_outputs(form, (config.project_dir / form.report.src_path).read_bytes())
        for rel, data in out.files.items():
            write_file(ctx.staged, rel, data, made)
        json_parts.append(out.json_fragment)
        report_rows.append(out.report_csv)
        indicator_parts.append(out.indicators_csv)
    parts = ctx.staged / PARTS
    (parts / f"{index:05d}.json").write_bytes(b", ".join(json_parts))
    (parts / f"{index:05d}.reports.csv").write_bytes(b"".join(report_rows))
    (parts / f"{index:05d}.indicators.csv").write_bytes(b"".join(indicator_parts))
    return ShardResult(index, tuple(departments), tuple(slim(f) for f in forms), ())


def common_context(ctx: _Context) -> dict:
    config = ctx.config
    return {"site": config, "t": ctx.theme.strings, "profile": config.profile, "assets": ctx.assets,
            "lang": config.language, "nav_years": ctx.nav_years}


def nav_years_of(config: SiteConfig, departments: list[tuple[str, int]]) -> list[int]:
    """The years in the navigation, from the file names (each is checked against its year)."""
    years = {int(m.group(1)) for slug, _ in departments
             for p in (config.departments_dir / slug).iterdir() if (m := YEAR_FILE.match(p.name))}
    return sorted(years, reverse=True)


def build_sharded(config: SiteConfig, out_dir: Path, jobs: int, progress=None) -> tuple[CheckedSite, int, int, int]:
    """Build into ``out_dir``; returns the (slim) site, pages, files and bytes written."""
    global _CONTEXT
    departments, problems = list_departments(config)
    if problems:
        raise ContentError(problems)
    theme = load_theme(config)
    assets, static = asset_files(theme)
    configure_env(theme, static)
    total_forms = sum(n for _, n in departments)
    shards = plan_shards(departments, jobs)
    with StagedOutput(out_dir, config.project_dir) as staged:
        (staged.path / PARTS).mkdir()
        _CONTEXT = _Context(config, theme, assets, static, nav_years_of(config, departments), staged.path)
        try:
            results = run_shards(shards, jobs, total_forms, progress)
        finally:
            _CONTEXT = None
        problems = [p for r in results for p in r.problems]
        if problems:
            raise ContentError(problems)
        site = CheckedSite(config, Content(tuple(d for r in results for d in r.departments),
                                           tuple(f.report for r in results for f in r.forms)),
                           tuple(f for r in results for f in r.forms))
        ctx = _Context(config, theme, assets, static, sorted({f.report.year for f in site.forms}, reverse=True),
                       staged.path)
        pages = build_site_model(site, theme.strings, theme.glossary)
        common = common_context(ctx)
        for page in pages:
            if EVERY_RECORD in page.deps or not page.deps:  # the pages that show every form, and 404
                staged.write(page.dest_path, render_page(theme, page, common).encode("utf-8"))
        staged.write_all(static)
        write_bulk(staged, len(shards))
        if config.base_url:
            staged.write("sitemap.xml", sitemap_xml(pages, config.base_url))
        staged.write("feed.xml", feed_xml(site, theme.strings))
        staged.write("robots.txt", robots_txt(config.base_url))
        shutil.rmtree(staged.path / PARTS)
        if config.search:
            index_folder(staged.path, staged.path / BUNDLE)
        files, size = _count(staged.path)
    return site, len(pages), files, size


def run_shards(shards: list[list[str]], jobs: int, total_forms: int, progress) -> list[ShardResult]:
    done = 0
    results: list[ShardResult] = []

    def report(result: ShardResult) -> None:
        nonlocal done
        results.append(result)
        done += len(result.forms)
        if progress:
            progress(done, total_forms)

    if jobs <= 1 or len(shards) == 1:
        for index, slugs in enumerate(shards):
            report(build_shard(index, slugs))
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(build_shard, i, slugs) for i, slugs in enumerate(shards)]
            for future in futures:
                report(future.result())
    return sorted(results, key=lambda r: r.index)


def write_bulk(staged: StagedOutput, shard_count: int) -> None:
    """The bulk downloads, streamed together from the shards' parts in shard order."""
    parts = staged.path / PARTS

    def chunks(suffix: str):
        for i in range(shard_count):
            yield (parts / f"{i:05d}{suffix}").read_bytes()

    with open(staged.path / "data" / "reports.json", "wb") as out:
        out.writelines(reports_json(chunk for chunk in chunks(".json") if chunk))
    for name, columns in (("reports.csv", REPORT_COLUMNS), ("indicators.csv", INDICATOR_COLUMNS)):
        with open(staged.path / "data" / name, "wb") as out:
            out.write(csv_document(columns, []))
            out.writelines(chunks(f".{name}"))


def _count(root: Path) -> tuple[int, int]:
    files = size = 0
    for folder, _dirs, names in os.walk(root):
        for name in names:
            files += 1
            size += os.path.getsize(os.path.join(folder, name))
    return files, size
