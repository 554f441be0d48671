"""The dev server's watcher reports exactly the files that appeared, went or changed: with
the kernel's notifications (inotify) and by polling, the same paths. No timing is asserted:
a wait ends when the expected paths have been reported (or after a bound that only stops a hang)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from generator.serve.watch import InotifyWatcher, PollingWatcher, snapshot, watcher

BOUND = 20.0  # seconds: only turns a hang into a failure


@pytest.fixture(params=["inotify", "poll"])
def make_watcher(request):
    made = []

    def make(roots):
        found = InotifyWatcher(roots) if request.param == "inotify" else PollingWatcher(roots)
        made.append(found)
        return found

    yield make
    for found in made:
        found.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for rel in ("content/departments/alpha/2021.yaml", "content/departments/alpha/2022.yaml",
                "content/departments/beta/2021.yaml", "content/site.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel, encoding="utf-8")
    return tmp_path


def reported(found, expected: set[Path]) -> set[Path]:
    """Everything reported until ``expected`` has been, and then a quiet moment more."""
    stop = threading.Event()
    seen: set[Path] = set()
    deadline = time.monotonic() + BOUND
    while not expected <= seen and time.monotonic() < deadline:
        if found.wait(stop, 0.2):
            seen |= found.changes()
    while found.wait(stop, 0.3):  # anything more that should not be there
        more = found.changes()
        if not more:
            break
        seen |= more
    return seen


def test_edits_additions_removals_and_new_roots(project: Path, make_watcher):
    content, overrides = project / "content", project / "overrides"
    found = make_watcher([content, overrides])
    assert found.files == snapshot([content, overrides])

    record = content / "departments/alpha/2021.yaml"
    record.write_text("changed", encoding="utf-8")
    assert reported(found, {record}) == {record}

    new_department = content / "departments/gamma"
    new_department.mkdir()
    (new_department / "sub").mkdir()
    added = {new_department / "2021.yaml", new_department / "sub" / "2021-xiangmu.yaml"}
    for path in added:
        path.write_text("new", encoding="utf-8")
    (new_department / ".2021.yaml.swp").write_text("editor", encoding="utf-8")  # ignored, like the build does
    assert reported(found, added) == added

    gone = set((content / "departments/beta").iterdir())
    shutil.rmtree(content / "departments/beta")
    assert reported(found, gone) == gone

    moved_from, moved_to = content / "departments/alpha/2022.yaml", content / "departments/alpha/2023.yaml"
    os.rename(moved_from, moved_to)
    assert reported(found, {moved_from, moved_to}) == {moved_from, moved_to}

    template = overrides / "templates" / "form.html"  # a root that did not exist at the start
    template.parent.mkdir(parents=True)
    template.write_text("{% extends '!theme/form.html' %}", encoding="utf-8")
    assert reported(found, {template}) == {template}
    template.write_text("{% extends '!theme/form.html' %}{# edited #}", encoding="utf-8")
    assert reported(found, {template}) == {template}

    shutil.rmtree(overrides)
    assert reported(found, {template}) == {template}
    assert found.files == snapshot([content, overrides])


def test_inotify_is_the_default_here(project: Path):
    chosen = watcher([project / "content"])
    try:
        assert isinstance(chosen, InotifyWatcher)  # CI and this machine are Linux
    finally:
        chosen.close()
