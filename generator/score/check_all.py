"""``perfsite check`` on a project of any size: department folders checked on every core, and
of each form only what the command prints is kept.

Holding every checked form until the end took 4.9 GB at 100,000 forms; a form's printed
text (or JSON) is a few kilobytes. Nothing is printed before every folder is checked: a
content problem anywhere means the command prints the problems alone (all of them, in
file order), as before.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ContentError, Problem
from ..read.config import SiteConfig, load_config
from ..read.records import list_departments
from .audit import Finding
from .check import check_department, content_notices
from .scoring import ScoredReport

PROCESSES_FROM = 300  # forms: below this, worker processes cost more than they save


SPOOL_BYTES = 64 * 1024 * 1024  # the forms' texts are kept in memory up to this, on disk beyond
FORMS_PER_CHUNK = 200  # a worker's share at a time: what waits in memory for its turn is bounded


@dataclass
class CheckedTexts:
    """What ``check`` prints about a project: each form as text (in order, spooled to a
    temporary file past :data:`SPOOL_BYTES`: a form's JSON is 15 KB), and the counts."""

    config: SiteConfig
    forms: int = 0
    departments: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"error": 0, "warning": 0, "info": 0})
    notices: tuple[Finding, ...] = ()
    _spool: tempfile.SpooledTemporaryFile = field(
        # it outlives this call: texts() reads it back and closes it
        default_factory=lambda: tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES))  # noqa: SIM115
    _sizes: list[int] = field(default_factory=list)

    def add_text(self, text: str) -> None:
        data = text.encode("utf-8")
        self._spool.write(data)
        self._sizes.append(len(data))

    def texts(self) -> Iterator[str]:
        """The forms' texts in order, read back once."""
        self._spool.seek(0)
        for size in self._sizes:
            yield self._spool.read(size).decode("utf-8")
        self._spool.close()


def check_texts(project_dir: Path, render: Callable[[ScoredReport], str], jobs: int | None = None) -> CheckedTexts:
    """Every department folder checked and each of its forms rendered by ``render`` (a
    picklable callable: it may run in a worker process); raises with every content problem."""
    config = load_config(project_dir)
    listed, problems = list_departments(config)
    result = CheckedTexts(config)
    jobs = jobs or os.cpu_count() or 1
    forms = sum(n for _, n in listed)
    if forms >= PROCESSES_FROM and jobs > 1:
        chunks = _split(listed, max(jobs * 4, forms // FORMS_PER_CHUNK))
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            parts = pool.map(_check_folders, [config] * len(chunks), chunks, [render] * len(chunks))
            for part in parts:  # in order: the texts come out in slug order
                problems += _add(result, part)
    else:
        problems += _add(result, _check_folders(config, [slug for slug, _ in listed], render))
    if problems:
        raise ContentError(sorted(problems, key=lambda p: p.location))
    result.notices = content_notices(config)
    for notice in result.notices:  # counted with the forms' findings, as everywhere
        result.counts[notice.severity] += 1
    return result


def _check_folders(config: SiteConfig, slugs: list[str], render) -> tuple[list[str], int, int, dict, list[Problem]]:
    texts: list[str] = []
    counts = {"error": 0, "warning": 0, "info": 0}
    forms = departments = 0
    problems: list[Problem] = []
    for slug in slugs:
        checked, found = check_department(config, slug)
        problems += found
        if checked is None or problems:  # after the first problem only problems are collected
            continue
        departments += 1
        for form in checked[1]:
            forms += 1
            for finding in form.findings:
                counts[finding.severity] += 1
            texts.append(render(form))
    return texts, forms, departments, counts, problems


def _add(result: CheckedTexts, part: tuple[list[str], int, int, dict, list[Problem]]) -> list[Problem]:
    texts, forms, departments, counts, problems = part
    for text in texts:
        result.add_text(text)
    result.forms += forms
    result.departments += departments
    for severity, n in counts.items():
        result.counts[severity] += n
    return problems


def _split(listed: list[tuple[str, int]], count: int) -> list[list[str]]:
    """Contiguous runs of folders with about equal numbers of forms (order is kept)."""
    total = sum(n for _, n in listed) or 1
    target = total / max(1, count)
    chunks: list[list[str]] = [[]]
    size = 0
    for slug, n in listed:
        if size >= target:
            chunks.append([])
            size = 0
        chunks[-1].append(slug)
        size += n
    return [c for c in chunks if c]
