"""The dev server's site made on request (:mod:`generator.serve.preview`) is the site ``build`` makes.

Every file the preview can serve is compared, byte for byte, with the in-memory engine's
(which the sharded build is compared with in ``test_shards``), after a first start, an edit,
a start from the preview's cache, a template override and a start checked in worker
processes; a broken edit leaves the last good version in place.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import ContentError
from generator.serve import preview
from generator.serve.preview import PreviewSite, search_files
from generator.serve.state import SiteState
from generator.site.search import BUNDLE

RECORD = "content/departments/demo-jiaoyu/2021.yaml"


def expected_files(project: Path) -> dict[str, bytes]:
    return SiteState(project, preview=True).update().files


def assert_same_site(snapshot: preview.Snapshot, expected: dict[str, bytes], search: bool = False) -> None:
    plain = {rel: data for rel, data in expected.items() if not rel.startswith(BUNDLE)}
    assert sorted(snapshot.names()) == sorted(plain)
    assert all(rel in snapshot for rel in plain)
    differing = [rel for rel, data in plain.items() if snapshot.get(rel) != data]
    assert differing == []
    if search:
        bundle = {rel: data for rel, data in expected.items() if rel.startswith(BUNDLE)}
        assert search_files(snapshot)[0] == bundle


def edit(project: Path, rel: str, old: str, new: str) -> Path:
    path = project / rel
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_first_start_serves_the_bytes_of_a_build(sample_project: Path):
    update = PreviewSite(sample_project).update()
    assert update.rechecked == update.departments > 1
    assert_same_site(update.snapshot, expected_files(sample_project), search=True)
    assert update.snapshot.get("no/such/file.html") is None and "no/such/file.html" not in update.snapshot


def test_an_edit_rechecks_its_department_only(sample_project: Path):
    site = PreviewSite(sample_project)
    site.update()
    path = edit(sample_project, RECORD, "year: 2021", "year: 2021\nnotes: 预览编辑")
    update = site.update({path})
    assert update.rechecked == 1
    assert_same_site(update.snapshot, expected_files(sample_project))


def test_a_second_start_reads_the_cache(sample_project: Path):
    PreviewSite(sample_project).update()
    update = PreviewSite(sample_project).update()
    assert update.rechecked == 0
    assert_same_site(update.snapshot, expected_files(sample_project))


def test_a_template_override_rechecks_nothing(sample_project: Path):
    site = PreviewSite(sample_project)
    site.update()
    override = sample_project / "overrides" / "templates" / "form.html"
    override.parent.mkdir(parents=True, exist_ok=True)
    override.write_text('{% extends "!theme/form.html" %}{% block content %}<p id="override">覆盖</p>'
                        "{{ super() }}{% endblock %}", encoding="utf-8")
    update = site.update({override})
    assert update.rechecked == 0  # the form page is not among the sections a department's record holds
    assert b'id="override"' in update.snapshot.get("departments/demo-jiaoyu/2021/index.html")
    assert_same_site(update.snapshot, expected_files(sample_project))

    overview = override.parent / "index.html"  # a page that shows every form, but makes no department's sections
    overview.write_text('{% extends "!theme/index.html" %}{% block content %}<p id="overview">总览</p>'
                        "{{ super() }}{% endblock %}", encoding="utf-8")
    update = site.update({overview})
    assert update.rechecked == 0
    assert b'id="overview"' in update.snapshot.get("index.html")
    assert_same_site(update.snapshot, expected_files(sample_project))

    quality = override.parent / "quality-year.html"  # makes the sections each department's record holds
    quality.write_text('{% extends "!theme/quality-year.html" %}', encoding="utf-8")
    update = site.update({quality})
    assert update.rechecked == update.departments
    assert_same_site(update.snapshot, expected_files(sample_project))


def test_a_start_checked_in_worker_processes(sample_project: Path, monkeypatch):
    """And meanwhile a department's files can be served (made from its folder), nothing else."""
    monkeypatch.setattr(preview, "PROCESSES_FROM", 0)
    expected = expected_files(sample_project)
    seen = {}

    def early(site: preview.EarlySite) -> None:
        department = [rel for rel in expected if rel.startswith(("departments/demo-jiaoyu/", "data/demo-jiaoyu/"))]
        assert len(department) > 4
        seen["department"] = {rel: site.get(rel) for rel in department if rel in site}
        seen["others"] = [rel for rel in ("index.html", "2021/index.html", "data/by-year/2021/reports.csv",
                                          "departments/index.html", "departments/no-such/index.html") if rel in site]
        seen["ready"] = site.ready

    update = PreviewSite(sample_project, jobs=2).update(early=early)
    assert update.rechecked == update.departments
    assert_same_site(update.snapshot, expected)
    assert seen["department"] == {rel: data for rel, data in expected.items() if rel in seen["department"]}
    assert len(seen["department"]) > 4 and seen["others"] == [] and seen["ready"] is False


def test_a_broken_edit_keeps_the_last_good_version(sample_project: Path):
    site = PreviewSite(sample_project)
    good = site.update().snapshot
    path = edit(sample_project, RECORD, "year: 2021", "year: 2021\nmystery: 1")
    with pytest.raises(ContentError) as caught:
        site.update({path})
    assert [p.location.file for p in caught.value.problems] == [RECORD]
    assert site.snapshot is good
    path.write_text(path.read_text(encoding="utf-8").replace("\nmystery: 1", ""), encoding="utf-8")
    assert_same_site(site.update({path}).snapshot, expected_files(sample_project))


def test_a_new_year_a_new_department_and_a_removed_one(sample_project: Path):
    """Changes the watcher reports as paths, which change the years in the navigation or the
    set of departments: the preview notices them without being told more than the paths."""
    import shutil

    site = PreviewSite(sample_project)
    site.update()
    departments = sample_project / "content" / "departments"
    source = departments / "demo-jiaoyu" / "2023.yaml"
    new_year = departments / "demo-jiaoyu" / "2024.yaml"
    new_year.write_text(source.read_text(encoding="utf-8").replace("2023", "2024"), encoding="utf-8")
    update = site.update({new_year})
    assert update.rechecked == update.departments  # every page's navigation gained a year
    assert "2024/index.html" in update.snapshot
    assert_same_site(update.snapshot, expected_files(sample_project))

    copy = shutil.copytree(departments / "demo-nongye", departments / "demo-nongye-copy")
    update = site.update(set(copy.iterdir()))
    assert update.rechecked == 1
    assert_same_site(update.snapshot, expected_files(sample_project))

    removed = set((departments / "demo-huanbao").iterdir())
    shutil.rmtree(departments / "demo-huanbao")
    update = site.update(removed)
    assert update.rechecked == 0 and "departments/demo-huanbao/index.html" not in update.snapshot
    assert_same_site(update.snapshot, expected_files(sample_project))


def test_an_edit_reindexes_only_its_search_bundle(sample_project: Path, monkeypatch):
    from generator.site import search

    monkeypatch.setattr(search, "FORMS_PER_BUNDLE", 8)  # several bundles from the small sample
    indexed: list[str] = []
    real = preview.index_pages
    monkeypatch.setattr(preview, "index_pages", lambda pages, bundle, cancel=None: indexed.append(bundle)
                        or real(pages, bundle, cancel))
    site = PreviewSite(sample_project)
    files, kept = search_files(site.update().snapshot)
    assert len(kept) > 2 and len(indexed) == len(kept)

    indexed.clear()
    path = edit(sample_project, RECORD, "year: 2021", "year: 2021\nnotes: 预览编辑")
    snapshot = site.update({path}).snapshot
    files, kept = search_files(snapshot, kept=kept)
    assert indexed == [search.plan_bundles({u.meta.slug: len(u.meta.forms) for u in snapshot.units})["demo-jiaoyu"]]
    assert files == {rel: data for rel, data in expected_files(sample_project).items() if rel.startswith(BUNDLE)}


def test_a_first_start_after_a_build_reads_the_builds_records(sample_project: Path):
    from generator.build.run import build

    build(sample_project)
    edit(sample_project, RECORD, "year: 2021", "year: 2021\nnotes: 构建之后编辑")  # one department changed
    update = PreviewSite(sample_project).update()
    assert update.rechecked == 1  # the others as the build left them
    assert_same_site(update.snapshot, expected_files(sample_project))
    again = PreviewSite(sample_project).update()  # the edited department from the preview's records
    assert again.rechecked == 0
    assert_same_site(again.snapshot, expected_files(sample_project))
