"""``perfsite build``: bring the site up to date with the least work, then swap it in at once.

Each department is rebuilt only when its folder, or something every page shares, changed
since the last build (:mod:`generator.build.cache`); departments are built across every
core (:mod:`generator.build.shards`) into the standby copy of the site, which is then swapped
in with one atomic rename (:mod:`generator.build.output`). ``--force`` ignores everything kept
and builds from nothing. Either way the bytes are those of a clean build: tests keep it so.
What the cache says is trusted only where it matches the folders it describes; a damaged
cache file is a cache miss. A file system that refuses (disk full, permissions, a folder in
the way) stops the build with one line naming the path, the previous site untouched.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import ConfigError
from ..read.config import load_config
from ..score.check import CheckedSite
from .cache import BuildCache, BuildState, CacheMiss
from .cluster import connect
from .output import check_output_dir, describes, output_stats, standby_path
from .shards import Kept, build_sharded, warm_up
from .sitefolder import os_error_message, output_lock
from .stamps import input_stamp


@dataclass(frozen=True)
class BuildResult:
    site: CheckedSite | None  # None when the site was already up to date
    out_dir: Path
    pages: int
    files: int
    bytes: int
    seconds: float
    rebuilt: int = 0          # departments read and rendered (the rest were already in the site)


def build(project_dir: Path, out_dir: Path | None = None, progress=None, jobs: int | None = None,
          force: bool = False, cluster: str | None = None, kept: Kept | None = None) -> BuildResult:
    """``cluster``: a Dask scheduler's address, or ``local``, to build the departments there
    (:mod:`generator.build.cluster`); ``kept``: what the last build of this process kept in
    memory, to start from (``perfsite build --watch``: :mod:`generator.build.resident`)."""
    started = time.perf_counter()
    project_dir = project_dir.resolve()
    out_dir = (out_dir or project_dir / "site").resolve()
    try:
        check_output_dir(out_dir, project_dir)  # fail before any work, not after
        cache = BuildCache(project_dir, out_dir)
        with output_lock(out_dir):
            return _build_retrying(project_dir, out_dir, cache, progress, jobs, force, started, cluster, kept)
    except OSError as exc:
        raise ConfigError(os_error_message(exc)) from exc


def _build_retrying(project_dir: Path, out_dir: Path, cache: BuildCache, progress, jobs, force,
                    started, cluster=None, kept: Kept | None = None) -> BuildResult:
    """A department record found damaged while the site is assembled is forgotten and the build
    redone (that department rebuilt); one damaged again right after being written is an error."""
    damaged: set[str] = set()
    while True:
        try:
            return _build(project_dir, out_dir, cache, progress, jobs, force, started, cluster, kept)
        except CacheMiss as miss:
            if miss.slug in damaged:
                raise ConfigError(f"{miss.path}: unreadable right after being written") from miss
            damaged.add(miss.slug)
            cache.forget(miss.slug)
            if kept is not None:
                kept.pending.clear()
                kept.fragments.pop(miss.slug, None)
        except BaseException:
            if kept is not None:  # the standby is gone or half made: the next build walks both folders
                kept.state = None
                kept.pending.clear()
            raise


def _build(project_dir: Path, out_dir: Path, cache: BuildCache, progress, jobs, force, started,
           cluster=None, kept: Kept | None = None) -> BuildResult:
    if kept is not None:
        kept.settle()  # what the last build left for after its swap
    trusted = kept is not None and kept.state is not None and not force and kept.identity == _identity(cache, out_dir)
    if trusted:  # this process left the site so, and no other build ran since: no walk needed
        state = kept.state
    else:
        state = None if force else cache.load_state()
        if state is not None and not describes(state.live, _walk(out_dir)):
            state = None  # the site was changed by hand (or by a build killed after its swap): trust none of it
    # taken before reading: an edit during the build rebuilds
    inputs = kept.stamp_inputs(project_dir, out_dir) if kept is not None else input_stamp(project_dir, out_dir)
    if state is not None and state.inputs == inputs:
        if kept is not None and kept.state is None and warm_up(load_config(project_dir), cache, kept, state.live):
            # a watch starting on an up-to-date site has read it now; the standby is trusted once walked
            standby = state.standby if describes(state.standby, _walk(standby_path(out_dir))) else None
            kept.state, kept.identity = replace(state, standby=standby), _identity(cache, out_dir)
        return BuildResult(None, out_dir, 0, 0, 0, time.perf_counter() - started)
    config = load_config(project_dir)
    jobs = jobs or os.cpu_count() or 1
    with contextlib.ExitStack() as stack:
        engine = stack.enter_context(connect(cluster, jobs)) if cluster else None
        built = build_sharded(config, out_dir, jobs, progress, cache,
                              state.live if state else None, state.standby if state else None, engine,
                              state.years if state else None, kept, trusted)
    new_state = BuildState(inputs, built.tree, built.standby, built.years)
    if kept is None:
        cache.save_state(new_state)
    else:
        kept.state, kept.identity = new_state, ()

        def save_state() -> None:
            cache.save_state(new_state)
            kept.identity = _identity(cache, out_dir)

        kept.later(save_state)
    return BuildResult(built.site, out_dir, built.pages, built.files, built.bytes,
                       time.perf_counter() - started, built.rebuilt)


def _identity(cache: BuildCache, out_dir: Path) -> tuple:
    """The state file and the two folders of the site, by inode and mtime: another build (which
    writes a new state file) or a folder put in place of ours shows here."""
    found = []
    for path in (cache.state_path, out_dir, standby_path(out_dir)):
        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError:
            found.append(None)  # none yet (the standby of a first build), or gone
        else:
            found.append((st.st_dev, st.st_ino, st.st_mtime_ns))
    return tuple(found)


def _walk(out_dir: Path):
    try:
        return output_stats(out_dir)
    except OSError:  # a folder we cannot read is not one the cache can describe
        return None


def settle(kept: Kept, out_dir: Path) -> None:
    """Write what a build of this process left for after its swap (its state, its sections),
    under the output's lock like a build."""
    with output_lock(out_dir.resolve()):
        kept.settle()
