"""Full-text search over the published forms, offline, with Chinese word segmentation.

Pagefind's extended build (``pagefind[extended]`` from PyPI ships the binary; the
standard one does not segment Chinese) indexes the pages each department makes (the
theme marks the form pages ``data-pagefind-body``: the department's name, its narratives
and every indicator) and writes a static bundle under ``pagefind/`` that the theme's
search page loads (over HTTP; a page opened from disk says search needs a server).
Nothing is fetched from the network, at build or view time.

Pagefind holds a whole index in memory (about 0.3 GB per 1,000 forms, 2.9 GB at
10,000), so a big site gets several bundles — ``pagefind/``, ``pagefind-2/``, … — each
for a fixed share of the departments, and the search page merges them in the browser.
A department's bundle depends only on its slug and the number of bundles, which only
changes when the site doubles, so an edit re-indexes one bundle, not the site.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import zlib
from collections.abc import Iterable
from pathlib import Path

from ..errors import PerfsiteError

BUNDLE = "pagefind"
FORMS_PER_BUNDLE = 1000  # on average at most: bounds Pagefind's memory


def bundle_count(forms: int) -> int:
    """A power of two, so that a department keeps its bundle until the site doubles."""
    count = 1
    while count * FORMS_PER_BUNDLE < forms:
        count *= 2
    return count


def bundle_of(slug: str, count: int) -> int:
    return zlib.crc32(slug.encode("utf-8")) % count


def bundle_name(index: int) -> str:
    return BUNDLE if index == 0 else f"{BUNDLE}-{index + 1}"


def plan_bundles(forms_by_department: dict[str, int]) -> dict[str, str]:
    """The bundle that indexes each department's pages."""
    count = bundle_count(sum(forms_by_department.values()))
    return {slug: bundle_name(bundle_of(slug, count)) for slug in forms_by_department}


def bundle_names(forms_by_department: dict[str, int]) -> list[str]:
    """The bundles a site has, the first being the one whose UI the search page loads."""
    count = bundle_count(sum(forms_by_department.values()))
    used = {bundle_of(slug, count) for slug, n in forms_by_department.items() if n}
    return [bundle_name(i) for i in sorted(used)] or [BUNDLE]


def pagefind_binary() -> str:
    try:
        from pagefind_bin_extended import get_executable
    except ImportError as exc:
        raise PerfsiteError("search: the Pagefind extended binary is missing (pip install 'pagefind[extended]'), "
                            "or set search: false in content/site.yaml") from exc
    return str(get_executable())


def search_version() -> str:
    """What the bundles' bytes depend on besides the pages."""
    from importlib import metadata

    try:
        return metadata.version("pagefind_bin_extended")
    except metadata.PackageNotFoundError:
        return pagefind_binary()


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


def index_pages(pages: Iterable[tuple[str, bytes | Path]], bundle: str,
                cancel: threading.Event | None = None) -> dict[str, bytes]:
    """Index ``(path, html or file)`` pairs into one bundle; returns its files by output path."""
    with tempfile.TemporaryDirectory(prefix="perfsite-search-") as scratch:
        site, output = Path(scratch) / "site", Path(scratch) / "out"
        site.mkdir()
        for rel, html in pages:
            target = site / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(html, Path):
                try:
                    os.link(html, target)  # the page as written, without copying it
                except OSError:
                    shutil.copyfile(html, target)
            else:
                target.write_bytes(html)
        index_folder(site, output, cancel)
        return {f"{bundle}/{p.relative_to(output).as_posix()}": p.read_bytes()
                for p in sorted(output.rglob("*")) if p.is_file()}


def department_of(rel: str) -> str | None:
    """The department whose pages ``rel`` is one of (``departments/<slug>/…``)."""
    parts = rel.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "departments" else None


def search_bundle(pages: Iterable[tuple[str, bytes]], cancel: threading.Event | None = None) -> dict[str, bytes]:
    """Index the department pages among ``(path, html)`` pairs; returns every bundle's files."""
    pages = list(pages)
    by_department: dict[str, list[tuple[str, bytes]]] = {}
    for rel, html in pages:
        slug = department_of(rel)
        if slug is not None:
            by_department.setdefault(slug, []).append((rel, html))
    # a form page: departments/<slug>/<year>/index.html, or a project form one level below it
    forms = {slug: sum(1 for rel, _ in found if rel.count("/") >= 3) for slug, found in by_department.items()}
    if not any(forms.values()):  # no form yet: an index of what there is, so the search page works
        return index_pages(pages, BUNDLE, cancel)
    plan = plan_bundles(forms)
    files: dict[str, bytes] = {}
    for bundle in bundle_names(forms):  # a bundle of departments without forms would index nothing
        chunk = [page for slug in sorted(plan) if plan[slug] == bundle for page in by_department[slug]]
        files.update(index_pages(chunk, bundle, cancel))
    return files
