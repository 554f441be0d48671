"""Nothing is lost: killed builds leave a complete site, and no command touches content.

Builds are killed at chosen points of each phase — rendering, writing the standby,
swapping it in (before and after the exchange) — by running ``perfsite build`` under
:data:`RUNNER`, which pauses the build at the N-th step of one phase and says so on its
stdout; the test kills it there. No timing decides where a kill lands.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

from conftest import tree_bytes

from generator.build.output import MARKER
from generator.build.run import build
from generator.cli import main

BOUND = 600  # seconds: only a hung build gets near this, whatever the machine's load

RUNNER = r'''
"""perfsite build, paused at the N-th step of one phase ($PERFSITE_PAUSE=phase:N) until killed."""
import os, sys, threading

from generator import cli
from generator.build import output
from generator.build import shards
from generator.build import sitefolder

PHASE, _, AT = os.environ.get("PERFSITE_PAUSE", "none:0").partition(":")
counts = {"render": 0, "writing": 0, "swapping": 0}
swapping = False


def step(phase):
    if phase != PHASE:
        return
    counts[phase] += 1
    if counts[phase] == int(AT):
        print(f"paused {phase} {AT}", flush=True)
        threading.Event().wait()  # until killed


def before(owner, name, phase, when=lambda: True):
    real = getattr(owner, name)

    def hooked(*args, **kwargs):
        if when():
            step(phase)
        return real(*args, **kwargs)

    setattr(owner, name, hooked)


before(shards, "render_page", "render")
before(output, "_create", "writing")  # every new file of the standby
before(os, "link", "writing")         # every file shared with the live site
for owner, name in ((os, "rename"), (os, "replace"), (output, "exchange"), (sitefolder, "exchange")):
    before(owner, name, "swapping", lambda: swapping)  # each step of the swap, however it is done
real_swap = output.StandbyOutput.swap


def swap(self):
    global swapping
    swapping = True
    try:
        return real_swap(self)
    finally:
        swapping = False
        step("swapping")  # the site is swapped, the build state not yet saved


output.StandbyOutput.swap = swap
sys.exit(cli.main(sys.argv[1:]))
'''


def tree(folder: Path) -> dict[str, str]:
    """Relative path → content hash of every file below ``folder`` (hidden marker included)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def content_state(project: Path) -> dict[str, tuple[str, int]]:
    return {p.relative_to(project).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted((project / "content").rglob("*")) if p.is_file()}


def paused_build(runner: Path, project: Path, pause: str, *args: str) -> subprocess.Popen:
    """``perfsite build`` that stops at ``pause`` (``phase:N``) and waits to be killed."""
    if not runner.exists():
        runner.write_text(RUNNER, encoding="utf-8")
    return subprocess.Popen([sys.executable, str(runner), "build", "-q", "-p", str(project), *args],
                            env={**os.environ, "PERFSITE_PAUSE": pause}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_paused(process: subprocess.Popen) -> bool:
    """True once the build is paused (it waits to be killed), False if it ended first."""
    watchdog = threading.Timer(BOUND, process.kill)  # only for a hung build
    watchdog.start()
    try:
        return process.stdout.readline().startswith("paused")
    finally:
        watchdog.cancel()


class Reader(threading.Thread):
    """Reads the site over and over while builds run, as a web server would: through the folder
    it opened, so one read sees one folder. The site must always be there, and the files that
    differ between the two complete versions must all come from the same one."""

    def __init__(self, site: Path, versions: list[dict[str, str]]):
        super().__init__(daemon=True)
        self.site, self.versions = site, versions
        self.files = sorted(rel for rel in versions[0] if versions[0][rel] != versions[1].get(rel))
        self.stop, self.problems, self.reads = threading.Event(), [], 0

    def run(self) -> None:
        while not self.stop.wait(0.002):
            try:
                folder = os.open(self.site, os.O_RDONLY | os.O_DIRECTORY)
            except FileNotFoundError:
                self.problems.append("the site is missing")
                continue
            try:
                self.check(folder)
            finally:
                os.close(folder)

    def check(self, folder: int) -> None:
        def marker():
            st = os.stat(MARKER, dir_fd=folder)
            return st.st_ino, st.st_mtime_ns, st.st_ctime_ns

        try:
            before, seen = marker(), {}
            for rel in self.files:
                with open(os.open(rel, os.O_RDONLY, dir_fd=folder), "rb") as file:
                    seen[rel] = hashlib.sha256(file.read()).hexdigest()
            if marker() != before:
                return  # this folder became the standby and was changed while we read: not the site
        except FileNotFoundError:
            return  # same: an unmarked folder is a standby being changed
        self.reads += 1
        if not any(all(version[rel] == seen[rel] for rel in self.files) for version in self.versions):
            self.problems.append(f"a mix of the two versions: {seen}")


def test_builds_killed_in_every_phase_leave_a_complete_site(sample_project, tmp_path, capsys):
    record = sample_project / "content/departments/wangcheng-kexie/2021.yaml"
    site = sample_project / "site"
    versions = [record.read_text(encoding="utf-8")]
    versions.append(versions[0].replace("reported: {total: 94.52}", "reported: {total: 87.95}"))
    complete = []
    for text in versions:  # the two complete sites a build may leave behind
        record.write_text(text, encoding="utf-8")
        assert main(["build", "-q", "-p", str(sample_project)]) == 0
        complete.append(tree(site))
    assert complete[0] != complete[1]

    reader = Reader(site, complete)
    reader.start()
    pauses = [f"{phase}:{n}" for phase, steps in (("render", (1, 8)), ("writing", (1, 4, 20, 60)),
                                                   ("swapping", (1, 2, 3, 4))) for n in steps]
    kills: Counter[str] = Counter()
    try:
        for attempt, pause in enumerate(pauses):
            record.write_text(versions[attempt % 2], encoding="utf-8")
            process = paused_build(tmp_path / "runner.py", sample_project, pause)
            if wait_paused(process):
                process.send_signal(signal.SIGKILL)
                kills[pause.partition(":")[0]] += 1
            assert process.wait(timeout=BOUND) in (0, -signal.SIGKILL), process.stderr.read()
            assert tree(site) in complete, f"killed at {pause}: the site is not a complete build"
    finally:
        reader.stop.set()
        reader.join()
    with capsys.disabled():
        print(f"\nbuilds killed per phase: {dict(kills)} of {len(pauses)}; the reader read the site "
              f"{reader.reads} times")
    assert reader.problems == [], reader.problems[:3]
    assert reader.reads > 0
    assert kills["render"] >= 1 and kills["writing"] >= 1 and kills["swapping"] >= 1, kills
    # the next build cleans whatever the killed ones left, and is right
    assert main(["build", "-q", "-p", str(sample_project)]) == 0
    assert [p.name for p in sample_project.iterdir() if ".perfsite-tmp-" in p.name] == []
    clean = build(sample_project, tmp_path / "clean", force=True).out_dir
    assert tree_bytes(site) == tree_bytes(clean)


def test_no_command_modifies_content(sample_project, tmp_path, capsys):
    before = content_state(sample_project)
    assert main(["check", "-p", str(sample_project)]) == 0
    assert main(["check", "--format", "json", "-p", str(sample_project)]) == 0
    assert main(["build", "-p", str(sample_project)]) == 0
    assert main(["build", "-p", str(sample_project), "-o", str(tmp_path / "elsewhere")]) == 0
    assert main(["schema", "--out", str(tmp_path / "schemas")]) == 0
    server = subprocess.Popen([sys.executable, "-m", "generator", "serve", "-p", str(sample_project), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(BOUND, server.kill)  # only for a server that never starts
    watchdog.start()
    try:
        for line in server.stdout:  # until it serves (or ends)
            if line.startswith("serving "):
                break
    finally:
        watchdog.cancel()
        server.send_signal(signal.SIGINT)
        server.wait(timeout=BOUND)
    assert content_state(sample_project) == before


def test_failed_build_leaves_no_partial_output(tiny_project, capsys):
    assert main(["build", "-q", "-p", str(tiny_project)]) == 0
    before = tree(tiny_project / "site")
    bad = tiny_project / "content/departments/alpha/2022.yaml"
    bad.write_text(bad.read_text(encoding="utf-8") + "unknown_key: 1\n", encoding="utf-8")
    assert main(["build", "-q", "-p", str(tiny_project)]) == 1
    assert tree(tiny_project / "site") == before
    assert not any(".perfsite-tmp-" in name for name in os.listdir(tiny_project))
