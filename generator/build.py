"""``perfsite build``: gather everything, render everything, then write it at once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .check import CheckedSite, check_project
from .output import check_output_dir, write_site
from .render import render_site
from .sitemodel import build_site_model
from .theme import load_theme


@dataclass(frozen=True)
class BuildResult:
    site: CheckedSite
    out_dir: Path
    pages: int
    files: int
    bytes: int
    seconds: float


def build(project_dir: Path, out_dir: Path | None = None, progress=None) -> BuildResult:
    started = time.perf_counter()
    out_dir = (out_dir or project_dir / "site").resolve()
    check_output_dir(out_dir, project_dir)        # fail before any work, not after
    site = check_project(project_dir)              # read, validate, score, audit
    theme = load_theme(site.config)
    pages = build_site_model(site, theme.strings)  # what the site consists of
    files = render_site(site, pages, theme, progress)  # every file, in memory
    write_site(files, out_dir, project_dir)        # swapped in only when all rendered
    return BuildResult(site, out_dir, len(pages), len(files), sum(map(len, files.values())),
                       time.perf_counter() - started)
