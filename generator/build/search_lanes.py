"""Search bundles indexed beside a build, as soon as their departments are in the standby.

Overlapped with rendering, Pagefind adds about half its time to a cold build instead of all
of it. A bundle is re-indexed only when a page it indexes changed.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

from ..site.search import BUNDLE, bundle_names, index_pages, plan_bundles, search_version
from .cache import BuildCache, UnitMeta
from .output import StandbyOutput, digest


class SearchIndexer:
    """The search bundles, each indexed as soon as all its pages are in the standby, on a thread
    beside the workers, and only when a page it indexes changed since the bundle was last made."""

    def __init__(self, tree: StandbyOutput, cache: BuildCache, forms: dict[str, int]):
        self.tree, self.cache, self.forms = tree, cache, forms
        self.plan = plan_bundles(forms)
        self.names = bundle_names(forms) if any(forms.values()) else []
        self.waiting = {name: {slug for slug, bundle in self.plan.items() if bundle == name} for name in self.names}
        self.metas: dict[str, UnitMeta] = {}
        self.started: dict[str, tuple] = {}  # bundle -> (key, future or None, files kept from last time)
        # one Pagefind at a time: it uses every core itself, and each holds ~240 MB for a bundle
        # of ~750 pages (two at once after rendering made a cold build's peak at 10,000 forms
        # 640 MB instead of 410, for about the same time)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="perfsite-search")

    def order(self, slug: str) -> tuple:
        """Build departments bundle by bundle, so bundles complete (and index) one after another."""
        return (self.names.index(self.plan[slug]) if self.plan[slug] in self.names else -1, slug)

    def ready(self, meta: UnitMeta) -> None:
        """The department's pages are in the standby."""
        self.metas[meta.slug] = meta
        waiting = self.waiting.get(self.plan.get(meta.slug))
        if waiting is not None:
            waiting.discard(meta.slug)
            if not waiting:
                self._start(self.plan[meta.slug])

    def _start(self, bundle: str) -> None:
        pages = sorted((rel, d) for slug, name in self.plan.items() if name == bundle
                       for rel, d in self.metas[slug].outputs.items() if rel.endswith(".html"))
        key = hashlib.sha256(repr((bundle, search_version(), pages)).encode()).hexdigest()
        kept = self.cache.load_bundle(bundle)
        if kept is not None and kept[0] == key and all(self.tree.has(rel, d) for rel, d in kept[1].items()):
            self.started[bundle] = (key, None, kept[1])
        else:
            job = self.pool.submit(index_pages, [(rel, self.tree.path / rel) for rel, _ in pages], bundle)
            self.started[bundle] = (key, job, None)

    def finish(self) -> None:
        """Wait for the bundles and put them in the standby (called once every page is written)."""
        if not self.names:  # no form yet: an index of what there is, so the search page works
            pages = [(rel, self.tree.path / rel) for rel in sorted(self.tree.manifest) if rel.endswith(".html")]
            for rel, data in index_pages(pages, BUNDLE).items():
                self.tree.put(rel, data)
            return
        for bundle in self.names:
            key, job, kept = self.started[bundle]
            if job is None:
                for rel, d in kept.items():
                    self.tree.reuse(rel, d)
                continue
            files = job.result()
            for rel, data in files.items():
                self.tree.put(rel, data)
            self.cache.save_bundle(bundle, key, {rel: digest(data) for rel, data in files.items()})

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
