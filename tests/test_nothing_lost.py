"""Nothing is lost: killed builds leave a complete site, and no command touches content."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from generator.cli import main


def tree(folder: Path) -> dict[str, str]:
    """Relative path → content hash of every file below ``folder`` (hidden marker included)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def content_state(project: Path) -> dict[str, tuple[str, int]]:
    return {p.relative_to(project).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted((project / "content").rglob("*")) if p.is_file()}


def build_cli(project: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "generator", "build", "-q", "-p", str(project)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_builds_killed_at_random_moments_leave_a_complete_site(sample_project, capsys):
    record = sample_project / "content/departments/wangcheng-kexie/2021.yaml"
    versions = [record.read_text(encoding="utf-8")]
    versions.append(versions[0].replace("reported: {total: 94.52}", "reported: {total: 87.95}"))
    complete = []
    for text in versions:  # the two complete sites a build may leave behind
        record.write_text(text, encoding="utf-8")
        assert main(["build", "-q", "-p", str(sample_project)]) == 0
        complete.append(tree(sample_project / "site"))
    assert complete[0] != complete[1]

    started = time.perf_counter()
    assert build_cli(sample_project).wait(timeout=120) == 0
    full_build = time.perf_counter() - started
    rng = random.Random(20211231)
    kills = mid_write = 0
    for attempt in range(20):
        record.write_text(versions[attempt % 2], encoding="utf-8")
        process = build_cli(sample_project)
        time.sleep(rng.uniform(0.05, full_build * 1.1))  # anywhere from start-up to the final swap
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
        if any(".perfsite-tmp-" in p.name for p in sample_project.iterdir()):
            mid_write += 1  # killed while the new site was being written beside the old one
        assert tree(sample_project / "site") in complete, f"attempt {attempt}: the site is not a complete build"
    assert kills >= 10, f"only {kills} of 20 builds were still running when killed"
    print(f"{kills} builds killed, {mid_write} of them while writing")
    # the next build cleans whatever the killed ones left beside the site
    assert main(["build", "-q", "-p", str(sample_project)]) == 0
    assert [p.name for p in sample_project.iterdir() if ".perfsite-tmp-" in p.name] == []


def test_no_command_modifies_content(sample_project, tmp_path, capsys):
    before = content_state(sample_project)
    assert main(["check", "-p", str(sample_project)]) == 0
    assert main(["check", "--format", "json", "-p", str(sample_project)]) == 0
    assert main(["build", "-p", str(sample_project)]) == 0
    assert main(["build", "-p", str(sample_project), "-o", str(tmp_path / "elsewhere")]) == 0
    assert main(["schema", "--out", str(tmp_path / "schemas")]) == 0
    server = subprocess.Popen([sys.executable, "-m", "generator", "serve", "-p", str(sample_project), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            line = server.stdout.readline()
            if line.startswith("serving ") or not line:
                break
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    assert content_state(sample_project) == before


def test_failed_build_leaves_no_partial_output(tiny_project, capsys):
    assert main(["build", "-q", "-p", str(tiny_project)]) == 0
    before = tree(tiny_project / "site")
    bad = tiny_project / "content/departments/alpha/2022.yaml"
    bad.write_text(bad.read_text(encoding="utf-8") + "unknown_key: 1\n", encoding="utf-8")
    assert main(["build", "-q", "-p", str(tiny_project)]) == 1
    assert tree(tiny_project / "site") == before
    assert not any(".perfsite-tmp-" in name for name in os.listdir(tiny_project))
