"""``perfsite build --watch``: keep the site built while its sources change.

The first build is an ordinary one. Then the process keeps in memory what a build would read
back from its cache (:class:`~generator.build.shards.Kept`): the theme worked out, every
department's record, what is in both copies of the site. So an edit costs what it changes —
the department's pages, its year's lists and bulk files, the site-wide files — not the
reading of every record and the two walks of the output that a one-shot build needs to
trust its cache. Each build is still swapped in whole and makes the bytes a one-shot build
makes (tests keep it so). A build that fails (a mistake in a form) leaves the last good site
in place, says why, and the watch goes on.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from pathlib import Path

from ..errors import ContentError, PerfsiteError
from ..serve.watch import next_changes, watched_roots, watcher
from .run import BuildResult, build, settle
from .shards import Kept


def watch_build(project_dir: Path, out_dir: Path | None, stop: threading.Event,
                on_built: Callable[[BuildResult, set[Path] | None], None],
                on_failed: Callable[[ContentError | PerfsiteError], None], jobs: int | None = None,
                progress=None, force: bool = False, cluster: str | None = None,
                on_waiting: Callable[[], None] = lambda: None) -> None:
    """Build (``force``: the first time from nothing), then build again after each burst of
    changes, until ``stop`` is set. ``on_waiting``: called once the cache is written and the
    process is ready for the next change."""
    project_dir = project_dir.resolve()
    kept = Kept()
    watching = watcher(watched_roots(project_dir))  # before the first build: an edit saved during it is seen
    try:
        changed: set[Path] | None = None
        failed = False
        while not stop.is_set():
            try:
                first = changed is None
                # what changed since the last good build: after a failed one, not only this burst
                kept.changed = None if failed else changed
                result = build(project_dir, out_dir, progress if first else None, jobs, force and first, cluster,
                               kept=kept)
            except (ContentError, PerfsiteError) as exc:
                failed = True
                on_failed(exc)
            else:
                failed = False
                on_built(result, changed)
                settle(kept, result.out_dir)
            keep_out_of_collector()
            on_waiting()
            changed = next_changes(watching, stop)
    finally:
        watching.close()


def keep_out_of_collector() -> None:
    """What the process keeps between builds (40,000 forms' records at a province's scale) is
    taken out of the cyclic collector's passes, which would walk it again and again during
    the next build; what became garbage is collected first, so nothing stays frozen dead."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
