"""The benchmark script runs end to end at a small N (no timing is asserted: speed is
measured by the script, not by tests)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO


def test_benchmark_runs_at_small_n(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, str(REPO / "bench" / "benchmark.py"), "--forms", "300", "--no-search",
                             "--json", str(out)], capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["forms"] == 300 and data["site_files"] > 300 * 4
    for key in ("check_s", "cold_build_s", "no_change_rebuild_s", "one_record_rebuild_s", "one_record_again_s",
                "reference_s",
                "cold_build_rss_mb", "site_mb"):
        assert data[key] > 0, key
    assert "cold_build_vs_reference" in data


def test_stage_profile_runs_at_small_n():
    result = subprocess.run([sys.executable, str(REPO / "bench" / "profile_stages.py"), "--forms", "60"],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    for stage in ("read_department_folder", "render form.html", "write_new", "one-record rebuild", "write_bulk"):
        assert stage in result.stdout, (stage, result.stdout)
