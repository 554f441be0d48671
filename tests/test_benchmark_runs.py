"""The benchmark scripts run end to end at a small N, and the benchmark's checks of what it
timed hold (no timing is asserted: speed is measured by the script, not by tests)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys

import pytest
from conftest import REPO

from generator.cli import main as perfsite


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("perfsite_benchmark", REPO / "bench" / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_runs_at_small_n(tmp_path):
    out = tmp_path / "bench.json"
    # 300 forms: the cold build uses worker processes, so the tree's memory is more than one process's;
    # half of them project forms, in two years (the edits then meet a project form first)
    result = subprocess.run([sys.executable, str(REPO / "bench" / "benchmark.py"), "--forms", "300", "--no-search",
                             "--repeat", "2", "--years", "2", "--projects", "1", "--json", str(out)],
                            capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["verified"] == {"no_change_did_no_work": True, "one_record_rebuilt_one_department": True,
                                "same_bytes_as_clean_build": True}
    assert data["problems"] == []
    # each form: its page, its record and its CSV (its JSON is in the year's bulk file), and the rest
    assert data["forms"] == 300 and data["repeat"] == 2 and data["site_files"] > 300 * 3
    assert data["years"] == 2 and data["projects_per_department_form"] == 1
    kinds = data["kb_per_form"]
    assert kinds["form pages"] > kinds["department pages"] > 0 and kinds["record YAML"] > 0
    assert kinds["search index"] == 0
    assert abs(sum(v for k, v in kinds.items() if k not in ("all", "all but search")) - kinds["all"]) < 0.1
    assert kinds["all"] * 300 * 1024 == pytest.approx(data["site_mb"] * 1024 * 1024, rel=0.01)
    assert "KB per form: form pages" in result.stdout and "largest files" in result.stdout
    assert all(not rel.startswith("data/") for rel in data["largest_files_mb"])
    for step in ("check", "cold_build", "no_change_rebuild", "one_record_rebuild", "one_record_again", "reference"):
        assert 0 < data[f"{step}_s_min"] <= data[f"{step}_s"] <= data[f"{step}_s_max"], step
        assert data[f"{step}_tree_mb"] >= data[f"{step}_largest_mb"] > 0, step
    resident = data["resident"]  # build --watch: each repeat's three records edited and put back
    assert resident["edits"] == 2 * 3 * 2 and resident["start_s"] > 0 and resident["tree_mb"] > 0
    assert 0 < resident["save_to_site_s"]["min"] <= resident["save_to_site_s"]["median"]
    assert 0 < resident["build_s"]["median"] <= resident["build_s"]["max"]
    assert "perfsite build --watch on the built site: ready in" in result.stdout
    assert "cold_build_vs_reference" in data and "PSS" in data["memory"]
    assert "memory: peak of the summed PSS" in result.stdout and "not a competitor" in result.stdout
    if shutil.which("hugo") is None:
        assert data["hugo"] == "not installed" and "hugo: not installed" in result.stdout
    else:
        assert data["hugo_s"] > 0 and "hugo, comparable pages" in result.stdout


TREE = """
import os, sys
children = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        block = bytearray(os.urandom(64 << 20))  # 64 MiB of this process's own pages
        print("ready", flush=True)
        sys.stdin.read()
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
"""


def test_tree_memory_counts_every_live_process(bench):
    tree = subprocess.Popen([sys.executable, "-c", TREE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert [tree.stdout.readline() for _ in range(3)] == ["ready\n"] * 3  # all three hold their memory
        sampler = bench.TreeSampler(tree.pid)
        sampler.start()
        while sampler.samples < 2:  # a whole sample taken after the start: wait on the sampler, not a clock
            sampler.done.wait(0.01)
        sampler.done.set()
        sampler.join()
    finally:
        tree.stdin.close()
        tree.wait(timeout=60)
    assert sampler.peak_kib > 3 * 60 * 1024  # three workers' 64 MiB each, not the largest one's


def build(project, capsys, *flags) -> str:
    capsys.readouterr()
    assert perfsite(["build", "-p", str(project), *flags]) == 0
    return capsys.readouterr().out


def test_no_change_check_fails_on_a_build_that_did_work(bench, tiny_project, capsys):
    site = tiny_project / "site"
    build(tiny_project, capsys)
    before = bench.snapshot(site)
    assert bench.check_no_change(build(tiny_project, capsys), before, bench.snapshot(site, before)) == []
    forced = build(tiny_project, capsys, "--force")
    problems = bench.check_no_change(forced, before, bench.snapshot(site, before))
    assert len(problems) == 2 and "touched" in problems[1]


def test_one_record_check_fails_when_other_departments_change(bench, tiny_project, capsys):
    site = tiny_project / "site"
    build(tiny_project, capsys)
    before = bench.snapshot(site)
    bench.edit_record(tiny_project / "content/departments/alpha/2021.yaml")
    stdout = build(tiny_project, capsys)
    after = bench.snapshot(site, before)
    assert bench.check_one_record(stdout, "alpha", before, after) == []
    assert "changed the pages of departments ['alpha']" in bench.check_one_record(stdout, "beta", before, after)[0]
    clean = tiny_project.parent / "clean"
    shutil.copytree(tiny_project / "content", clean / "content")
    build(clean, capsys)
    assert bench.check_same_bytes(after, bench.snapshot(clean / "site")) == []
    assert bench.check_same_bytes(before, bench.snapshot(clean / "site")) != []


def test_stage_profile_runs_at_small_n():
    result = subprocess.run([sys.executable, str(REPO / "bench" / "profile_stages.py"), "--forms", "60"],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    for stage in ("read_department_folder", "render form.html", "write_new", "one-record rebuild", "write_bulk"):
        assert stage in result.stdout, (stage, result.stdout)


def test_serve_latency_runs_at_small_n():
    """300 forms: the first start checks them in worker processes and serves a department's
    pages meanwhile; the second reads the preview's cache; every edit reaches the page."""
    result = subprocess.run([sys.executable, str(REPO / "bench" / "serve_latency.py"), "--forms", "300",
                             "--edits", "2", "--no-search"],
                            capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert any("first start (no serve cache)" in line for line in lines), result.stdout
    assert any("60 of 60 department folders checked" in line for line in lines), result.stdout  # 5 forms each
    assert any("0 of 60 department folders checked" in line for line in lines), result.stdout
    assert any(line.startswith("save → form page fetched") for line in lines), result.stdout
