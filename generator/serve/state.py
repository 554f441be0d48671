"""The whole site made in one process and kept in memory: the reference engine.

``build`` (department shards in worker processes, the build cache, the standby folder) and
``serve`` (files made on request from department records, :mod:`generator.serve.preview`)
are each compared, file by file, with what this simple engine makes from the same project;
it renders every page with no cache between processes. It is also incremental — handed
the paths that changed, it re-checks those forms and re-renders only the pages whose
declared dependencies (:class:`~generator.site.sitemodel.Page.deps`) or templates changed —
and ``tests/test_incremental.py`` holds that to a clean run. What the pages and files are
is :mod:`generator.site.pipeline`'s business, the same as for the other engines.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..read.config import SiteConfig, load_config, themes_root
from ..read.records import RecordCache, department_of, read_content
from ..score.check import CheckedSite, check_form, content_notices
from ..site.pipeline import BulkFiles, common_context, form_files, nav_years, site_wide_files
from ..site.render import Files, Sections, asset_files, configure_env, render_page
from ..site.search import search_bundle
from ..site.sitemodel import EVERY_RECORD, Page, build_site_model
from ..site.theme import Theme, load_theme, template_closure


@dataclass
class Update:
    """What one update did: the complete new file set and what was (re)made."""

    site: CheckedSite
    files: Files
    rendered: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    pages: int = 0
    seconds: float = 0.0


class SiteState:
    def __init__(self, project_dir: Path, preview: bool = False):
        self.project_dir = project_dir.resolve()
        self.preview = preview
        self.records = RecordCache()
        self.config: SiteConfig | None = None
        self.theme: Theme | None = None
        self.assets: dict[str, str] = {}
        self.asset_files: Files = {}
        self.template_deps: dict[str, frozenset[str] | None] = {}
        self.scored: dict[str, tuple] = {}
        self.form_outputs: dict[str, tuple] = {}  # record file -> (its checked form, FormOutputs)
        self.pages: dict[str, tuple[Page, bytes]] = {}
        self.nav_years: list[int] | None = None
        self.files: Files = {}
        self.sections: dict[tuple, bytes] = {}  # the every-form pages' sections, for the next update
        self.search_files: Files = {}

    # -- what changed -------------------------------------------------------------------
    def _classify(self, changed: set[Path]) -> dict[str, set]:
        kinds: dict[str, set] = {"config": set(), "content": set(), "templates": set(), "static": set(),
                                 "theme": set()}
        content = self.project_dir / "content"
        roots = [self.project_dir / "overrides", themes_root()]
        for path in changed:
            path = Path(path).absolute()
            if path == content / "site.yaml":
                kinds["config"].add(path)
            elif path.is_relative_to(content):
                kinds["content"].add(path.relative_to(self.project_dir).as_posix())
            else:
                for root in roots:
                    if path.is_relative_to(root):
                        kinds[_theme_part(path.relative_to(root))].add(_template_name(path))
        return kinds

    # -- the update ---------------------------------------------------------------------
    def update(self, changed: set[Path] | None = None, progress=None, with_search: bool = True) -> Update:
        """Bring the site up to date; ``changed=None`` means everything may have changed.

        ``with_search=False`` leaves the search bundle as it was (the dev server refreshes it
        in the background, since indexing every page takes longer than a reload should).
        """
        started = time.perf_counter()
        kinds = self._classify(changed) if changed is not None else None
        full = kinds is None or bool(kinds["config"] or kinds["theme"]) or self.config is None
        if full or kinds["config"]:
            self.config = load_config(self.project_dir)
        if full or kinds["templates"] or kinds["static"]:
            self.theme = load_theme(self.config)
            self.template_deps = {}
            self.sections = {}
        if full or kinds["static"]:
            self.assets, self.asset_files = asset_files(self.theme)
        configure_env(self.theme, self.asset_files)
        site = self._check()
        slugs = [d.slug for d in site.content.departments]
        years = nav_years(r.src_path for r in site.content.reports)
        if years != self.nav_years:
            full = True
        self.nav_years = years
        changed = {department_of(rel) for rel in kinds["content"]} if kinds else set()
        sections = Sections({} if full else Sections.still_valid(self.sections, set(slugs), changed))

        pages = build_site_model(site, self.theme.strings, self.theme.glossary, self.preview)
        stale = self._stale_pages(pages, kinds, full)
        common = {**common_context(self.config, self.theme, self.assets, years), "cached": sections}
        rendered: list[str] = []
        new_pages: dict[str, tuple[Page, bytes]] = {}
        for page in pages:
            if page.dest_path in stale:
                body = b"".join(sections.pieces(render_page(self.theme, page, common)))
                rendered.append(page.dest_path)
                if progress and (len(rendered) % 50 == 0 or len(rendered) == len(stale)):
                    progress(len(rendered), len(stale))
            else:
                body = self.pages[page.dest_path][1]
            new_pages[page.dest_path] = (page, body)
        self.pages = new_pages
        self.sections = sections.kept()

        files: Files = dict(self.asset_files)
        files.update({dest: body for dest, (_, body) in new_pages.items()})
        files.update(self._data_files(site, rendered))
        if self.config.search:
            if with_search:
                self.search_files = search_bundle((d, b) for d, b in files.items() if d.endswith(".html"))
            files.update(self.search_files)
        files.update(site_wide_files(site, pages, self.theme))
        removed = sorted(set(self.files) - set(files))
        self.files = files
        return Update(site, files, rendered, removed, len(pages), time.perf_counter() - started)

    def _check(self) -> CheckedSite:
        """Read (through the record cache), score and audit; reuse forms whose record is unchanged."""
        content = read_content(self.config, self.records)
        forms = []
        scored: dict[str, tuple] = {}
        for report in content.reports:
            profile = self.config.profile_for(report)
            cached = self.scored.get(report.src_path)
            unchanged = cached and cached[0] is report and cached[1] is profile
            form = cached[2] if unchanged else check_form(report, profile)
            scored[report.src_path] = (report, profile, form)
            forms.append(form)
        self.scored = scored
        return CheckedSite(self.config, content, tuple(forms), content_notices(self.config))

    def _stale_pages(self, pages: list[Page], kinds, full: bool) -> set[str]:
        if full:
            return {p.dest_path for p in pages}
        content, templates = kinds["content"], kinds["templates"]
        stale = set()
        for page in pages:
            if self._is_stale(page, content, templates):
                stale.add(page.dest_path)
        return stale

    def _is_stale(self, page: Page, content: set[str], templates: set[str]) -> bool:
        previous = self.pages.get(page.dest_path)
        if previous is None or previous[0].deps != page.deps or previous[0].template != page.template:
            return True
        if content and (EVERY_RECORD in page.deps or page.deps & content):
            return True
        return bool(templates) and self._uses(page.template, templates)

    def _uses(self, template: str, changed: set[str]) -> bool:
        names = self._template_closure(template)
        return names is None or bool(names & changed)

    def _template_closure(self, name: str) -> frozenset[str] | None:
        if name not in self.template_deps:
            self.template_deps[name] = template_closure(self.theme, name)
        return self.template_deps[name]

    def _data_files(self, site: CheckedSite, rendered: list[str]) -> Files:
        """Per-form downloads (only re-made for changed forms) and the bulk files."""
        outputs: dict[str, tuple] = {}
        files: Files = {}
        for form in site.forms:
            src = form.report.src_path
            cached = self.form_outputs.get(src)
            if cached is None or cached[0] is not form:
                cached = (form, form_files(self.config, form))
            outputs[src] = cached
            files.update(cached[1].files)
        self.form_outputs = outputs
        sinks: dict[str, io.BytesIO] = {}
        bulk = BulkFiles(lambda rel: sinks.setdefault(rel, io.BytesIO()), self.config.title,
                         self.config.all_years_downloads)
        bulk.add_forms(outputs[f.report.src_path][1] for f in site.forms)
        bulk.close()
        files.update({rel: sink.getvalue() for rel, sink in sinks.items()})
        return files


def _theme_part(rel: Path) -> str:
    """Which part of a theme (or overrides) folder a path is in."""
    parts = rel.parts
    if "templates" in parts:
        return "templates"
    if "static" in parts:
        return "static"
    return "theme"  # strings, theme.yaml: everything may change


def _template_name(path: Path) -> str:
    parts = path.parts
    if "templates" in parts:
        return "/".join(parts[len(parts) - parts[::-1].index("templates"):])
    return path.name
