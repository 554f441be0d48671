"""Search on a big site: several Pagefind bundles, merged by the search page, re-indexed one
at a time. The sample is split into many bundles by lowering the forms per bundle."""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from browser_support import TIMEOUT_MS, open_page, serve_folder
from conftest import REPO, copy_project, tree_bytes
from playwright.sync_api import Page, expect

from generator.build.run import build
from generator.site import search

SEED = "departments/wangcheng-kexie/2021/index.html"
SEED_QUERY = "科普服务人数"
# words only demo-jiaoyu's forms hold: ranking across 16 tiny bundles (BM25 per bundle) is not what is
# tested here, merging is; the department's name is shared in part by every 示例市…局（虚构示例）
FICTIONAL_NAME = "新增公办学位数"
FICTIONAL_FORMS = re.compile(r"/departments/demo-jiaoyu/20\d\d/index\.html$")
RESULT_LINK = ".pagefind-ui__result-inner > .pagefind-ui__result-title .pagefind-ui__result-link"


def test_bundle_count_doubles_and_departments_keep_their_bundle():
    assert [search.bundle_count(n) for n in (0, 1, 1000, 1001, 2000, 2001, 10_000)] == [1, 1, 1, 2, 2, 4, 16]
    slugs = [f"dept-{i:04d}" for i in range(300)]
    small = search.plan_bundles({s: 5 for s in slugs[:250]})  # 1,250 forms: 2 bundles
    grown = search.plan_bundles({s: 5 for s in slugs})         # 1,500 forms: still 2
    assert set(small.values()) == set(grown.values()) == {"pagefind", "pagefind-2"}
    assert all(grown[s] == small[s] for s in small)
    # crc32("dept-0000") = 0x17d805fe (even: bundle 0), crc32("dept-0001") = 0x60df3568 (even too);
    # with 16 bundles 0x…fe mod 16 = 14 and 0x…68 mod 16 = 8
    assert (small["dept-0000"], small["dept-0001"]) == ("pagefind", "pagefind")
    large = search.plan_bundles({s: 50 for s in slugs})  # 15,000 forms: 16 bundles
    assert (large["dept-0000"], large["dept-0001"]) == ("pagefind-15", "pagefind-9")
    assert search.bundle_names({}) == ["pagefind"]


@pytest.fixture(scope="module")
def split_sample(tmp_path_factory) -> Iterator[Path]:
    """The sample built with at most ~4 forms per bundle (so 16 bundles for its 33 forms)."""
    patch = pytest.MonkeyPatch()
    patch.setattr(search, "FORMS_PER_BUNDLE", 4)
    try:
        project = copy_project(REPO, tmp_path_factory.mktemp("split"))
        build(project)
        yield project
    finally:
        patch.undo()


def indexed_urls(bundle: Path) -> set[str]:
    urls = set()
    for path in (bundle / "fragment").glob("*.pf_fragment"):
        raw = gzip.decompress(path.read_bytes())
        urls.add(json.loads(raw[len(b"pagefind_dcd"):])["url"].lstrip("/"))
    return urls


def test_every_form_is_in_exactly_one_bundle(split_sample: Path):
    site = split_sample / "site"
    bundles = sorted(p for p in site.glob("pagefind*") if p.is_dir())
    assert len(bundles) > 2, bundles
    pages = [*site.glob("departments/*/*/index.html"), *site.glob("departments/*/*/*/index.html")]  # + projects
    forms = {p.relative_to(site).as_posix() for p in pages}
    seen: list[str] = []
    for bundle in bundles:
        seen += sorted(indexed_urls(bundle) & forms)
    assert sorted(seen) == sorted(forms)
    page = (site / "search/index.html").read_text(encoding="utf-8")
    merged = re.search(r'data-merge="([^"]*)"', page).group(1).split()
    primary = re.search(r'data-bundle="([^"]*)"', page).group(1)
    assert sorted([primary, *merged]) == sorted(f"../{b.name}/" for b in bundles)
    # the forms the browser tests below look for are in merged bundles, not the primary one
    in_primary = indexed_urls(site / primary.strip("./"))
    assert SEED not in in_primary and not any(FICTIONAL_FORMS.search("/" + url) for url in in_primary)


def test_one_record_reindexes_one_bundle(split_sample: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(search, "FORMS_PER_BUNDLE", 4)
    indexed = []
    real = search.index_pages

    def counting(pages, bundle, cancel=None):
        indexed.append(bundle)
        return real(pages, bundle, cancel)

    monkeypatch.setattr("generator.build.search_lanes.index_pages", counting)
    record = split_sample / "content/departments/demo-jiaoyu/2022.yaml"
    record.write_text(record.read_text(encoding="utf-8").replace("units: 14", "units: 15"), encoding="utf-8")
    assert build(split_sample).rebuilt == 1
    # 33 forms (26 department-wide, 7 project forms) at 4 a bundle: 16 bundles (1, 2, 4, 8 are too few);
    # crc32("demo-jiaoyu") = 0x950775ad, and 0x950775ad mod 16 = 13 (its last hex digit d): the 14th bundle
    assert indexed == ["pagefind-14"]
    clean = build(split_sample, tmp_path / "clean", force=True)
    assert tree_bytes(split_sample / "site") == tree_bytes(clean.out_dir)


def test_one_pagefind_at_a_time(split_sample: Path, tmp_path: Path, monkeypatch):
    """Each Pagefind holds ~240 MB and uses every core itself: bundles are indexed one by one."""
    monkeypatch.setattr(search, "FORMS_PER_BUNDLE", 4)
    running, most, lock, calls = [0], [0], threading.Lock(), []
    real = search.index_pages

    def one_at_a_time(pages, bundle, cancel=None):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            calls.append(bundle)
        try:
            time.sleep(0.05)  # long enough for a second lane, were there one, to start meanwhile
            return real(pages, bundle, cancel)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr("generator.build.search_lanes.index_pages", one_at_a_time)
    built = build(split_sample, tmp_path / "site", force=True)
    entries = sorted(p.parent.name for p in built.out_dir.glob("pagefind*/pagefind-entry.json"))
    assert most[0] == 1 and len(entries) > 2 and sorted(calls) == entries


@pytest.fixture(scope="module")
def split_url(split_sample: Path) -> Iterator[str]:
    with serve_folder(split_sample, name="perfsite-split-search") as url:
        yield f"{url}site/"  # under a sub-path, too


@pytest.mark.browser
@pytest.mark.parametrize(("query", "wanted"), [(SEED_QUERY, re.compile(re.escape(SEED) + "$")),
                                                (FICTIONAL_NAME, FICTIONAL_FORMS)], ids=["seed", "fictional"])
def test_merged_bundles_find_forms_in_any_bundle(page: Page, split_url: str, query: str, wanted):
    _, problems = open_page(page, f"{split_url}search/index.html?q={quote(query)}")
    link = page.locator(".pagefind-ui__result").first.locator(RESULT_LINK)
    expect(link).to_be_visible(timeout=TIMEOUT_MS)
    href = link.evaluate("a => a.href")
    assert href.startswith(split_url) and wanted.search(href), href
    assert problems.all() == [], "\n".join(problems.all())
