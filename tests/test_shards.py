"""The sharded, multi-process build makes exactly the bytes of the in-memory engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import tree_bytes

from generator.build import shards
from generator.build.shards import build_sharded, plan_shards
from generator.errors import ContentError
from generator.read.config import load_config
from generator.serve.state import SiteState


def test_plan_shards_keeps_order_and_balances():
    departments = [(f"d{i:02d}", n) for i, n in enumerate([5, 1, 1, 1, 5, 5, 1, 1, 3, 2])]
    shards = plan_shards(departments, jobs=2)
    assert [s for shard in shards for s in shard] == [d for d, _ in departments]
    assert 2 <= len(shards) <= 8
    assert plan_shards(departments, jobs=1) == [[d for d, _ in departments]]


@pytest.fixture
def processes_always(monkeypatch):
    """Worker processes even for the small sample (normally only from 300 forms)."""
    monkeypatch.setattr(shards, "PROCESSES_FROM", 0)


@pytest.mark.parametrize("jobs", [1, 2])
def test_sharded_build_equals_in_memory_build(sample_project: Path, tmp_path: Path, jobs: int, processes_always):
    expected = SiteState(sample_project).update().files
    out = tmp_path / f"site-{jobs}"
    build_sharded(load_config(sample_project), out, jobs)
    written = tree_bytes(out)
    assert sorted(written) == sorted(expected)
    assert [k for k in expected if written[k] != expected[k]] == []


def test_sharded_build_reports_every_problem_and_keeps_the_old_site(sample_project: Path, tmp_path: Path,
                                                                     processes_always):
    out = tmp_path / "site"
    build_sharded(load_config(sample_project), out, 2)
    before = tree_bytes(out)
    for slug in ("demo-jiaoyu", "wangcheng-kexie"):  # problems in two different shards
        record = sample_project / f"content/departments/{slug}/2021.yaml"
        record.write_text(record.read_text(encoding="utf-8") + "mystery: 1\n", encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        build_sharded(load_config(sample_project), out, 2)
    assert [p.location.file for p in caught.value.problems] == [
        "content/departments/demo-jiaoyu/2021.yaml", "content/departments/wangcheng-kexie/2021.yaml"]
    assert tree_bytes(out) == before
