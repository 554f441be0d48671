"""Full-text search over the published forms, offline, with Chinese word segmentation.

Pagefind's extended build (``pagefind[extended]`` from PyPI ships the binary; the
standard one does not segment Chinese) indexes the pages marked ``data-pagefind-body``
— the form pages, which carry the department's name, its narratives and every
indicator — and writes a static bundle under ``pagefind/`` that the theme's search page
loads (over HTTP; a page opened from disk says search needs a server). Nothing is
fetched from the network, at build or view time.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from .errors import PerfsiteError

BUNDLE = "pagefind"


def pagefind_binary() -> str:
    try:
        from pagefind_bin_extended import get_executable
    except ImportError as exc:
        raise PerfsiteError("search: the Pagefind extended binary is missing (pip install 'pagefind[extended]'), "
                            "or set search: false in content/site.yaml") from exc
    return str(get_executable())


def index_folder(site: Path, output: Path, cancel: threading.Event | None = None) -> None:
    """Index the HTML pages below ``site`` into a bundle at ``output``; ``cancel`` stops it."""
    command = [pagefind_binary(), "--site", str(site), "--output-path", str(output), "--keep-index-url"]
    # a background refresh (serve) must not slow the rebuilds the user is waiting for
    niceness = (lambda: os.nice(10)) if cancel is not None and hasattr(os, "nice") else None
    with tempfile.TemporaryFile() as log, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                           preexec_fn=niceness) as run:
        while True:
            try:
                code = run.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                if cancel is not None and cancel.is_set():
                    run.kill()
                    run.wait()
                    raise PerfsiteError("search: indexing cancelled") from None
        if code != 0:
            log.seek(0)
            raise PerfsiteError(f"search: Pagefind failed:\n{log.read().decode('utf-8', 'replace')[-4000:]}")


def search_bundle(pages: Iterable[tuple[str, bytes]], cancel: threading.Event | None = None) -> dict[str, bytes]:
    """Index ``(path, html)`` pairs; returns the bundle's files keyed by output path."""
    with tempfile.TemporaryDirectory(prefix="perfsite-search-") as scratch:
        site, output = Path(scratch) / "site", Path(scratch) / "out"
        for rel, html in pages:
            target = site / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(html)
        index_folder(site, output, cancel)
        return {f"{BUNDLE}/{p.relative_to(output).as_posix()}": p.read_bytes()
                for p in sorted(output.rglob("*")) if p.is_file()}
