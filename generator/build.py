"""``perfsite build``: gather everything, render everything, then swap it in at once.

Small sites are built in memory (:class:`~generator.sitestate.SiteState`, the same engine
as ``serve``); large ones in shards across every core (:mod:`generator.shards`), writing
as they go so memory stays bounded. Both make the same bytes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from .check import CheckedSite
from .config import load_config
from .output import check_output_dir, write_site
from .shards import build_sharded
from .sitestate import SiteState

IN_MEMORY_UP_TO = 300  # forms; above this, shards on every core pay for their start-up


@dataclass(frozen=True)
class BuildResult:
    site: CheckedSite
    out_dir: Path
    pages: int
    files: int
    bytes: int
    seconds: float


def build(project_dir: Path, out_dir: Path | None = None, progress=None, jobs: int | None = None) -> BuildResult:
    started = time.perf_counter()
    out_dir = (out_dir or project_dir / "site").resolve()
    check_output_dir(out_dir, project_dir)  # fail before any work, not after
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or count_forms(project_dir) <= IN_MEMORY_UP_TO:
        update = SiteState(project_dir).update(progress=progress)  # read, score, audit, render
        write_site(update.files, out_dir, project_dir)  # swapped in only when all rendered
        return BuildResult(update.site, out_dir, update.pages, len(update.files),
                           sum(map(len, update.files.values())), time.perf_counter() - started)
    site, pages, files, size = build_sharded(load_config(project_dir), out_dir, jobs, progress)
    return BuildResult(site, out_dir, pages, files, size, time.perf_counter() - started)


def count_forms(project_dir: Path) -> int:
    root = project_dir / "content" / "departments"
    if not root.is_dir():
        return 0
    return sum(1 for _ in root.glob("*/[0-9][0-9][0-9][0-9].yaml"))
