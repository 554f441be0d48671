"""Build a site's departments on a Dask ``distributed`` cluster (the optional ``cluster`` extra).

``perfsite build --cluster ADDRESS`` sends the department shards that need rebuilding to the
workers of the Dask scheduler at ADDRESS (``tcp://host:8786``), or of a cluster of local
worker processes started for this build (``local``). Everything else stays in the main
process: what changed, the every-form pages, the bulk files, the search index, the swap.
Workers read the project and write into the standby copy of the site and the build cache,
so they need the project folder and the output folder at the same paths (shared storage)
and the same perfsite; each checks that it sees the same site as the main process before it
builds anything (:func:`~generator.build.shards.build_shard_on_worker`). The output is the
same bytes as a build on this machine; a test keeps it so.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import ConfigError
from .shards import ClusterMismatch, ClusterTask, ShardResult, build_shard_on_worker

LOCAL = "local"
CONNECT_TIMEOUT = "30s"  # for the scheduler to answer


class Cluster:
    """A connected Dask client (and the local cluster it started, if any)."""

    def __init__(self, client, local=None):
        self.client, self.local = client, local

    @property
    def workers(self) -> int:
        """Worker threads across the cluster: the shards are planned for about four each."""
        info = self.client.scheduler_info().get("workers", {})
        return max(1, sum(w.get("nthreads", 1) for w in info.values()))

    def runner(self, task: ClusterTask) -> ClusterRunner:
        return ClusterRunner(self, task)

    def close(self) -> None:
        self.client.close()
        if self.local is not None:
            self.local.close()


class ClusterRunner:
    """Runs one build's shards on the cluster, yielding each result as it completes."""

    def __init__(self, cluster: Cluster, task: ClusterTask):
        self.cluster, self.task = cluster, task
        self.workers = cluster.workers

    def run(self, shards: list[list[str]]) -> Iterator[ShardResult]:
        from distributed import as_completed

        client, run_id = self.cluster.client, uuid.uuid4().hex
        futures = [client.submit(build_shard_on_worker, self.task, index, slugs, pure=False,
                                 key=f"perfsite-shard-{run_id}-{index}")
                   for index, slugs in enumerate(shards)]
        try:
            for future in as_completed(futures):
                try:
                    yield future.result()
                except ClusterMismatch as exc:
                    raise ConfigError(str(exc)) from exc
        finally:
            client.cancel(futures)


@contextmanager
def connect(address: str, jobs: int) -> Iterator[Cluster]:
    """A client of the scheduler at ``address``, or of ``jobs`` local worker processes (``local``)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ConfigError("perfsite build --cluster needs Dask distributed: pip install 'perfsite[cluster]'") from exc
    local = None
    try:
        if address == LOCAL:
            local = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                                 silence_logs=logging.ERROR)
            client = Client(local)
        else:
            client = Client(address, timeout=CONNECT_TIMEOUT)
    except OSError as exc:  # includes the timeout of an unreachable scheduler
        if local is not None:
            local.close()
        raise ConfigError(f"--cluster {address}: cannot connect to the Dask scheduler ({exc})") from exc
    cluster = Cluster(client, local)
    try:
        yield cluster
    finally:
        cluster.close()
