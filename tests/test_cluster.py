"""A build on a Dask ``distributed`` cluster (#16.6): a local cluster of two worker processes
builds the sample's departments; the site is byte for byte the one this machine builds, first
in full and then after a one-record edit, and the work really ran on the workers."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from conftest import tree_bytes

from generator.build import shards
from generator.build.run import build
from generator.errors import ConfigError
from generator.read.config import load_config

distributed = pytest.importorskip("distributed")  # the 'cluster' extra; CI installs it with the test extra


@pytest.fixture(scope="module")
def cluster():
    local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                     silence_logs=logging.ERROR)
    client = distributed.Client(local)
    yield local.scheduler_address, client
    client.close()
    local.close()


def built_on_workers(client) -> dict[str, list]:
    """Per worker, the builds it made a context for (kept until its next build)."""
    return client.run(lambda: [str(task.project_dir) for task in shards._WORKER_CONTEXT])


def test_a_cluster_build_is_the_local_build_byte_for_byte(sample_project, cluster):
    address, client = cluster
    on_cluster = build(sample_project, sample_project / "site-cluster", cluster=address)
    here = build(sample_project, sample_project / "site-here", jobs=2)
    assert on_cluster.rebuilt == here.rebuilt == len(on_cluster.site.content.departments) == 14
    assert tree_bytes(on_cluster.out_dir) == tree_bytes(here.out_dir)
    workers = built_on_workers(client)
    assert len(workers) == 2 and all(found == [str(sample_project)] for found in workers.values()), workers


def test_an_edit_rebuilds_one_department_on_the_cluster(sample_project, cluster):
    address, _client = cluster
    build(sample_project, sample_project / "site", cluster=address)
    record = sample_project / "content/departments/demo-jiaoyu/2023.yaml"
    text = record.read_text(encoding="utf-8")
    record.write_text(text.replace("示例市教育局负责", "集群编辑：示例市教育局负责", 1), encoding="utf-8")
    again = build(sample_project, sample_project / "site", cluster=address)
    assert again.rebuilt == 1
    assert "集群编辑" in (again.out_dir / "departments/demo-jiaoyu/2023/index.html").read_text(encoding="utf-8")
    clean = build(sample_project, sample_project / "site-clean", force=True)
    assert tree_bytes(again.out_dir) == tree_bytes(clean.out_dir)


def test_a_worker_that_sees_another_site_refuses(sample_project, tmp_path):
    """The worker works out the build's key itself; a different one (other content, theme or
    perfsite) stops the build instead of mixing two sites' pages."""
    out = sample_project / "site"
    build(sample_project, out)
    task = shards.ClusterTask(sample_project, out, tmp_path / "standby", "not-this-sites-key")
    with pytest.raises(shards.ClusterMismatch, match="same perfsite and the project at the same path"):
        shards.build_shard_on_worker(task, 0, ["demo-jiaoyu"])
    task = replace(task, key=shards.prepare(load_config(sample_project)).key)
    (tmp_path / "standby").mkdir()
    result = shards.build_shard_on_worker(task, 0, ["demo-jiaoyu"])
    assert [u.meta.slug for u in result.units] == ["demo-jiaoyu"] and not result.problems
    shards._WORKER_CONTEXT.clear()


def test_an_unknown_scheduler_is_a_clear_error(sample_project, monkeypatch):
    from generator.build import cluster as cluster_module

    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT", "2s")
    with pytest.raises(ConfigError, match="cannot connect to the Dask scheduler"):
        build(sample_project, cluster="tcp://127.0.0.1:9")
