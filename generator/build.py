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
from .freshness import input_stamp, is_up_to_date, remember_build
from .output import check_output_dir, write_site
from .shards import build_sharded
from .sitestate import SiteState

IN_MEMORY_UP_TO = 300  # forms; above this, shards on every core pay for their start-up


@dataclass(frozen=True)
class BuildResult:
    site: CheckedSite | None  # None when the site was already up to date
    out_dir: Path
    pages: int
    files: int
    bytes: int
    seconds: float


def build(project_dir: Path, out_dir: Path | None = None, progress=None, jobs: int | None = None,
          force: bool = False) -> BuildResult:
    started = time.perf_counter()
    project_dir = project_dir.resolve()
    out_dir = (out_dir or project_dir / "site").resolve()
    check_output_dir(out_dir, project_dir)  # fail before any work, not after
    if not force and is_up_to_date(project_dir, out_dir):
        return BuildResult(None, out_dir, 0, 0, 0, time.perf_counter() - started)
    inputs = input_stamp(project_dir, out_dir)  # taken before reading: an edit during the build rebuilds
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or count_forms(project_dir) <= IN_MEMORY_UP_TO:
        update = SiteState(project_dir).update(progress=progress)  # read, score, audit, render
        write_site(update.files, out_dir, project_dir)  # swapped in only when all rendered
        result = BuildResult(update.site, out_dir, update.pages, len(update.files),
                             sum(map(len, update.files.values())), time.perf_counter() - started)
    else:
        site, pages, files, size = build_sharded(load_config(project_dir), out_dir, jobs, progress)
        result = BuildResult(site, out_dir, pages, files, size, time.perf_counter() - started)
    remember_build(project_dir, out_dir, inputs)
    return result


def count_forms(project_dir: Path) -> int:
    root = project_dir / "content" / "departments"
    if not root.is_dir():
        return 0
    return sum(1 for _ in root.glob("*/[0-9][0-9][0-9][0-9].yaml"))
