"""``perfsite build``: gather everything, render everything, then write it at once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .check import CheckedSite
from .output import check_output_dir, write_site
from .sitestate import SiteState


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
    check_output_dir(out_dir, project_dir)          # fail before any work, not after
    update = SiteState(project_dir).update(progress=progress)  # read, score, audit, render: in memory
    write_site(update.files, out_dir, project_dir)  # swapped in only when all rendered
    return BuildResult(update.site, out_dir, update.pages, len(update.files),
                       sum(map(len, update.files.values())), time.perf_counter() - started)
