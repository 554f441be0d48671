"""``perfsite build --watch``: a build kept in memory between edits makes, after every edit,
the bytes a clean build makes, and trusts what it kept only while nobody else touched it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import tree_bytes

from generator.build.output import standby_path
from generator.build.run import build, settle
from generator.build.shards import Kept
from generator.errors import ContentError

DEPARTMENTS = "content/departments"


def replace_in(path: Path, old: str, new: str) -> Path:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def assert_same_as_clean(project: Path, tmp_path: Path, name: str) -> None:
    clean = build(project, tmp_path / f"clean-{name}", force=True)
    assert tree_bytes(project / "site") == tree_bytes(clean.out_dir), name


@pytest.fixture
def resident(sample_project):
    """The sample built once, with what the build keeps in memory for the next one."""
    kept = Kept()
    first = build(sample_project, kept=kept)
    assert first.rebuilt == len(list((sample_project / DEPARTMENTS).iterdir()))
    assert kept.state is not None and kept.metas and kept.pending  # the cache is written after the swap
    settle(kept, sample_project / "site")
    assert not kept.pending and kept.identity
    return sample_project, kept


def test_edits_in_memory_match_clean_builds(resident, tmp_path):
    project, kept = resident
    departments = project / DEPARTMENTS

    def edit_number():
        replace_in(departments / "wangcheng-kexie/2021.yaml", "reported: {total: 94.52}", "reported: {total: 87.95}")
        return 1

    def add_template_override():
        override = project / "overrides/templates/form.html"
        override.parent.mkdir(parents=True)
        override.write_text('{% extends "!theme/form.html" %}{% block content %}<p>OVR</p>{{ super() }}'
                            '{% endblock %}', encoding="utf-8")
        return len(list(departments.iterdir()))  # every department's form pages use it

    def edit_site_title():
        replace_in(project / "content/site.yaml", "title: 部门整体支出绩效自评公开（示例站点）", "title: 示例站点乙")
        return len(list(departments.iterdir()))

    def delete_record():
        (departments / "demo-shuili/2023.yaml").unlink()
        return 1

    def add_department():
        shutil.copytree(departments / "demo-nongye", departments / "demo-nongye2")
        replace_in(departments / "demo-nongye2/department.yaml", "示例市", "样例市")
        return 1

    def remove_department():
        shutil.rmtree(departments / "demo-wenlv")
        return 0

    def add_year():  # a year the site did not have: the navigation of every page changes
        (departments / "demo-jiaoyu/2024.yaml").write_text(
            (departments / "demo-jiaoyu/2023.yaml").read_text(encoding="utf-8").replace("year: 2023", "year: 2024"),
            encoding="utf-8")
        return len(list(departments.iterdir()))

    def edit_again():
        replace_in(departments / "demo-jiaoyu/2022.yaml", "units: 14", "units: 15")
        return 1

    for step in (edit_number, add_template_override, edit_site_title, delete_record, add_department,
                 remove_department, add_year, edit_again):
        expected = step()
        result = build(project, kept=kept)
        assert result.rebuilt == expected, step.__name__
        assert_same_as_clean(project, tmp_path, step.__name__)
    assert build(project, kept=kept).site is None  # nothing changed since: nothing done


def test_what_the_every_form_pages_worked_out_is_kept_only_while_it_holds(resident, tmp_path):
    """The overview and quality pages keep each year's sums while that year's stamp stands;
    what else they show is worked out again when it changes: a department with no form in the
    latest year renamed (listed as without a form, no year of the overview's changed), a new
    department without any form, an edit in the latest year."""
    project, kept = resident
    departments = project / DEPARTMENTS
    for step in ("renamed", "added"):
        if step == "renamed":
            kept.changed = {replace_in(departments / "wangcheng-kexie/department.yaml", "name: ", "name: 改名后的")}
        else:
            new = departments / "demo-xinjian"
            new.mkdir()
            (new / "department.yaml").write_text(
                (departments / "demo-nongye/department.yaml").read_text(encoding="utf-8")
                .replace("农业农村局", "新建局"), encoding="utf-8")
            kept.changed = {new}
        build(project, kept=kept)
        index = (project / "site/index.html").read_text(encoding="utf-8")
        assert "改名后的" in index and (step == "renamed") == ("新建局" not in index)
        assert_same_as_clean(project, tmp_path, step)
    kept.changed = {replace_in(departments / "demo-jiaoyu/2023.yaml", "units: ", "units: 1")}
    build(project, kept=kept)
    assert_same_as_clean(project, tmp_path, "latest year")


def test_a_list_page_none_of_whose_rows_changed_is_kept_as_it_was(sample_project, tmp_path, monkeypatch):
    """With lists paged every 3 rows, an edit of one department renders again only the pages
    that show it (and those that sum up everything); the others are the live site's files."""
    import generator.build.shards as shards

    site_yaml = sample_project / "content/site.yaml"
    site_yaml.write_text(site_yaml.read_text(encoding="utf-8") + "rows_per_page: 3\n", encoding="utf-8")
    kept = Kept()
    build(sample_project, kept=kept)
    settle(kept, sample_project / "site")
    rendered: list[str] = []
    render = shards.render_page
    monkeypatch.setattr(shards, "render_page", lambda theme, page, *a: rendered.append(page.dest_path)
                        or render(theme, page, *a))
    record = replace_in(sample_project / DEPARTMENTS / "demo-wenlv/2022.yaml", "units: ", "units: 1")
    kept.changed = {record}
    build(sample_project, kept=kept)
    every_form = [p for p in rendered if not p.startswith("departments/demo-wenlv/")]
    pages = [p for p in (sample_project / "site/departments").glob("page-*.html")]
    assert len(pages) >= 3 and len([p for p in every_form if p.startswith("departments/")]) == 1
    assert "departments/page-2.html" not in every_form and "2021/index.html" not in every_form
    assert_same_as_clean(sample_project, tmp_path, "one row")
    rendered.clear()
    kept.changed = {replace_in(site_yaml, "rows_per_page: 3", "rows_per_page: 4")}
    build(sample_project, kept=kept)  # another site.yaml: every page made again
    assert "departments/page-2.html" in rendered
    assert_same_as_clean(sample_project, tmp_path, "other paging")


def test_bulk_files_copy_the_unchanged_departments_from_the_live_file(resident, tmp_path, monkeypatch):
    """After an edit only the edited department's slices are read; the rest of each bulk file
    is copied from the live one. Removing the first department, adding one before it, and the
    every-year files exercise the separators between pieces."""
    from generator.build.cache import BuildCache

    project, kept = resident
    departments = project / DEPARTMENTS
    read: list[str] = []
    load_slices = BuildCache.load_slices

    def counting(self, slug):
        read.append(slug)
        return load_slices(self, slug)

    monkeypatch.setattr(BuildCache, "load_slices", counting)
    replace_in(departments / "demo-jiaoyu/2022.yaml", "units: 14", "units: 15")
    build(project, kept=kept)
    assert read == ["demo-jiaoyu"]
    assert_same_as_clean(project, tmp_path, "edit")
    assert all(layout.digest == kept.state.live.manifest[rel] for rel, layout in kept.bulk.items())

    first = sorted(p.name for p in departments.iterdir())[0]
    shutil.rmtree(departments / first)
    read.clear()
    build(project, kept=kept)
    # every piece is copied (the one now first without its separator) but demo-jiaoyu's in the
    # years its edit left as they were: those pieces were made from its record before the edit
    assert read == ["demo-jiaoyu"]
    assert_same_as_clean(project, tmp_path, "first-removed")

    shutil.copytree(departments / "demo-jiaoyu", departments / "a-first")
    build(project, kept=kept)
    assert_same_as_clean(project, tmp_path, "first-added")

    replace_in(project / "content/site.yaml", "profile: deviation", "profile: deviation\nall_years_downloads: true")
    build(project, kept=kept)
    assert (project / "site/data/reports.json").is_file()
    assert_same_as_clean(project, tmp_path, "all-years")
    read.clear()
    replace_in(departments / "demo-jiaoyu/2022.yaml", "units: 15", "units: 16")
    build(project, kept=kept)
    assert read == ["demo-jiaoyu"]
    assert_same_as_clean(project, tmp_path, "all-years-edit")

    (departments / "demo-kong").mkdir()  # a department without a form: no piece, no separator
    shutil.copy(departments / "demo-jiaoyu/department.yaml", departments / "demo-kong/department.yaml")
    build(project, kept=kept)
    assert_same_as_clean(project, tmp_path, "no-form")


@pytest.mark.parametrize("standby_touched", [False, True])
def test_a_watch_started_on_a_built_site_reads_it_once_then_walks_nothing(sample_project, tmp_path, monkeypatch,
                                                                          standby_touched):
    """Starting on an up-to-date site, the first build changes nothing but reads every record
    and walks both folders (a standby changed by hand is not trusted); the edits after it walk
    neither folder and still match a clean build."""
    import generator.build.output as output
    import generator.build.run as run
    from generator.build.cache import BuildCache

    record = sample_project / DEPARTMENTS / "demo-jiaoyu/2022.yaml"
    build(sample_project)
    replace_in(record, "units: 14", "units: 13")
    build(sample_project)  # now there is a standby too
    if standby_touched:
        page = standby_path((sample_project / "site").resolve()) / "index.html"
        page.write_bytes(page.read_bytes() + b"<!-- by hand -->")
    kept = Kept()
    assert build(sample_project, kept=kept).site is None
    assert kept.metas and kept.state is not None
    assert (kept.state.standby is None) == standby_touched
    assert kept.bulk  # where each department's piece lies in the live bulk files, from their slices
    walks: list = []
    for module in (output, run):
        real = module.output_stats
        monkeypatch.setattr(module, "output_stats", lambda *a, real=real, **k: walks.append(a) or real(*a, **k))
    read: list[str] = []
    load_slices = BuildCache.load_slices
    monkeypatch.setattr(BuildCache, "load_slices", lambda self, slug: read.append(slug) or load_slices(self, slug))
    for old, new in (("units: 13", "units: 15"), ("units: 15", "units: 16")):
        replace_in(record, old, new)
        walks.clear()
        read.clear()
        assert build(sample_project, kept=kept).rebuilt == 1
        assert walks == []
        assert read == ["demo-jiaoyu"]  # the year's bulk files spliced from the first edit on
        settle(kept, sample_project / "site")
        assert_same_as_clean(sample_project, tmp_path, f"{new[-2:]}-{standby_touched}")


def test_folders_the_watcher_did_not_name_are_not_listed_again(resident, tmp_path, monkeypatch):
    """Given what changed (as the watch passes it), only the folders named are listed again."""
    import generator.build.shards as shards

    project, kept = resident
    listed: list[Path] = []
    signature = shards.folder_signature
    monkeypatch.setattr(shards, "folder_signature", lambda folder: listed.append(folder) or signature(folder))
    record = replace_in(project / DEPARTMENTS / "demo-jiaoyu/2022.yaml", "units: 14", "units: 15")
    kept.changed = {record.resolve()}
    assert build(project, kept=kept).rebuilt == 1
    assert {p.name for p in listed if p.parent.name == "departments"} == {"demo-jiaoyu"}  # and its rebuild
    assert_same_as_clean(project, tmp_path, "named")
    listed.clear()
    notes = project / "content/notes.txt"  # not inside a department folder: every folder is listed
    notes.write_text("以后再说\n", encoding="utf-8")
    kept.changed = {notes.resolve()}
    assert build(project, kept=kept).rebuilt == 0
    every = {p.name for p in (project / DEPARTMENTS).iterdir()}
    assert {p.name for p in listed if p.parent.name == "departments"} == every
    stray = project / DEPARTMENTS / "demo-jiaoyu/notes.txt"  # named: an unused-file warning, counted on pages
    stray.write_text("备忘\n", encoding="utf-8")
    kept.changed = {stray.resolve()}
    result = build(project, kept=kept)
    assert result.rebuilt == 1 and any("notes.txt" in f.file for f in result.site.notices)
    assert_same_as_clean(project, tmp_path, "named-stray")
    added = project / DEPARTMENTS / "demo-jiaoyu/2024.yaml"  # named, and a year the site did not have
    added.write_text((project / DEPARTMENTS / "demo-jiaoyu/2023.yaml").read_text(encoding="utf-8")
                     .replace("year: 2023", "year: 2024"), encoding="utf-8")
    kept.changed = {added.resolve()}
    assert build(project, kept=kept).rebuilt == len(every)  # the navigation of every page changed
    assert_same_as_clean(project, tmp_path, "named-year")


def test_the_theme_is_worked_out_again_only_when_it_may_have_changed(resident):
    project, kept = resident
    prepared = kept.prepared
    replace_in(project / DEPARTMENTS / "demo-jiaoyu/2022.yaml", "units: 14", "units: 15")
    build(project, kept=kept)
    assert kept.prepared.theme is prepared.theme  # a record edit: the same theme, templates compiled once
    replace_in(project / "content/site.yaml", "publisher: perfsite 示例", "publisher: 示例乙")
    build(project, kept=kept)
    assert kept.prepared.theme is not prepared.theme


def test_a_failed_build_keeps_the_site_and_the_next_one_matches_a_clean_build(resident, tmp_path):
    project, kept = resident
    before = tree_bytes(project / "site")
    record = replace_in(project / DEPARTMENTS / "demo-jiaoyu/2022.yaml", "units: 14", "units: [")
    with pytest.raises(ContentError):
        build(project, kept=kept)
    assert tree_bytes(project / "site") == before
    assert kept.state is None  # the standby is in no known state: the next build walks the folders
    replace_in(record, "units: [", "units: 16")
    assert build(project, kept=kept).rebuilt == 1
    assert_same_as_clean(project, tmp_path, "fixed")
    assert kept.state is not None


@pytest.mark.parametrize("meddle", ["one-shot build", "site removed", "standby removed", "state file removed"])
def test_what_was_kept_is_not_trusted_once_someone_else_touched_the_site(resident, tmp_path, meddle):
    """Another build, or a folder put in place of ours, shows in the identity kept with the
    state: the next build then checks the folders as a one-shot build does, and still makes
    the bytes of a clean build."""
    project, kept = resident
    record = project / DEPARTMENTS / "demo-jiaoyu/2022.yaml"
    replace_in(record, "units: 14", "units: 13")
    build(project, kept=kept)  # now both copies of the site exist, as this process left them
    settle(kept, project / "site")  # as the watch does once it has said what it built
    if meddle == "one-shot build":
        replace_in(record, "units: 13", "units: 15")
        assert build(project).rebuilt == 1  # as another process would
    elif meddle == "site removed":
        shutil.rmtree(project / "site")
    elif meddle == "standby removed":
        shutil.rmtree(standby_path((project / "site").resolve()))
    else:
        (project / ".perfsite-cache").joinpath(*kept_state_file(project, kept)).unlink()
    replace_in(record, "units: 1", "units: 2")
    result = build(project, kept=kept)
    assert result.site is not None
    assert_same_as_clean(project, tmp_path, meddle.replace(" ", "-"))


def kept_state_file(project: Path, kept) -> tuple[str, ...]:
    found = list((project / ".perfsite-cache").glob("build-*/state.pickle"))
    assert len(found) == 1
    return found[0].relative_to(project / ".perfsite-cache").parts


def wait_for(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Lines:
    """What a process printed so far, read without blocking (a thread per stream)."""

    def __init__(self, stream):
        import threading

        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)


def test_build_watch_rebuilds_after_each_save_and_stops_on_sigterm(sample_project, tmp_path):
    """The command as a user runs it: a real process, real files, the kernel's notifications."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "generator", "build", "--watch", "-p", str(sample_project)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                               env=env, stdin=subprocess.DEVNULL)
    out, err = Lines(process.stdout), Lines(process.stderr)
    try:
        wait_for(lambda: out.count("watching for changes") == 1, "the first build")
        page = sample_project / "site/departments/demo-jiaoyu/2022/index.html"
        record = replace_in(sample_project / DEPARTMENTS / "demo-jiaoyu/2022.yaml", "units: 14", "units: 15")
        wait_for(lambda: out.count("watching for changes") == 2, "the build after an edit")
        assert any("changed: content/departments/demo-jiaoyu/2022.yaml" in line for line in out.lines)
        assert any("1 of 14 departments rebuilt" in line for line in out.lines)
        assert_same_as_clean(sample_project, tmp_path, "watched")
        shown = page.read_bytes()

        replace_in(record, "units: 15", "units: [")  # a mistake: the site stays as it was
        wait_for(lambda: err.count("the site was not changed") == 1, "the failed build")
        assert any("2022.yaml:" in line for line in err.lines)  # located
        assert page.read_bytes() == shown

        # an edit elsewhere while the mistake stands: the site must not go live without it
        replace_in(sample_project / DEPARTMENTS / "demo-nongye/2022.yaml", "units: ", "units: 1")
        wait_for(lambda: err.count("the site was not changed") == 2, "the second failed build")
        assert page.read_bytes() == shown
        wait_for(lambda: out.count("watching for changes") == 4, "ready again")  # after each build, failed or not

        replace_in(record, "units: [", "units: 16")
        wait_for(lambda: out.count("watching for changes") == 5, "the build after the fix")
        assert_same_as_clean(sample_project, tmp_path, "fixed")
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0
    wait_for(lambda: "stopped" in out.lines, "the last line")
    assert not [line for line in err.lines if "Traceback" in line]


def test_a_layout_is_read_only_from_the_pieces_a_file_is_made_of():
    """Where each department's piece lies, worked out from the pieces, holds only when they
    hash to the file's digest in the manifest: a file made of other bytes is written whole."""
    import hashlib

    from generator.build.bulk_splice import LayoutReader
    from generator.site.pipeline import bulk_framing

    framing = bulk_framing()["reports.json"]
    file = b'{"forms": [{"a": 1}, {"a": 2}, {"b": 1}]}\n'
    reader = LayoutReader(framing)
    first, second = object(), object()
    reader.add("a", first, [b'{"a": 1}', b'{"a": 2}'])
    reader.add("b", second, [b'{"b": 1}'])
    layout = reader.layout(hashlib.sha256(file).digest()[:16])
    assert layout is not None
    a, b = layout.pieces["a"], layout.pieces["b"]
    assert file[a.offset:a.offset + a.length] == b'{"a": 1}, {"a": 2}' and a.source is first
    assert file[b.offset:b.offset + b.length] == b'{"b": 1}' and b.source is second
    other = LayoutReader(framing)
    other.add("a", first, [b'{"a": 9}'])
    assert other.layout(hashlib.sha256(file).digest()[:16]) is None
    assert LayoutReader(framing).layout(None) is None


def test_page_inputs_tell_apart_what_prints_differently():
    """A page is kept only when its context is made of the very same records and of plain
    values that print the same: 1.0 and 1.00 are equal numbers but not equal text."""
    from decimal import Decimal

    from markupsafe import Markup

    from generator.site.sitemodel import page_inputs, same_inputs

    record = object()
    base = {"rows": [record], "total": Decimal("1.0"), "note": "<b>", "flag": True}
    assert same_inputs(page_inputs(base), page_inputs(dict(base)))
    for changed in ({"total": Decimal("1.00")}, {"note": Markup("<b>")}, {"flag": 1}, {"rows": [object()]},
                    {"rows": [record, record]}, {"extra": None}):
        assert not same_inputs(page_inputs(base), page_inputs({**base, **changed})), changed


def test_a_small_edit_leaves_the_collector_until_the_site_is_in_place(sample_project, monkeypatch):
    """The cyclic collector pauses while a watched edit of a few forms is built (its passes were
    a twentieth of the edit) and runs again once the build is over; a build of many forms
    keeps it running (its garbage would pile up)."""
    import gc

    from generator.build import shards

    seen = []
    write = shards.write_every_form_pages

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return write(*args, **kwargs)

    monkeypatch.setattr(shards, "write_every_form_pages", spy)
    monkeypatch.setattr(shards, "PROCESSES_FROM", 5)  # the sample's first build counts as many forms
    kept = Kept()
    build(sample_project, kept=kept)
    settle(kept, sample_project / "site")
    replace_in(sample_project / DEPARTMENTS / "wangcheng-kexie/2021.yaml", "reported: {total: 94.52}",
               "reported: {total: 87.95}")
    kept.changed = {(sample_project / DEPARTMENTS / "wangcheng-kexie/2021.yaml").resolve()}
    assert build(sample_project, kept=kept).rebuilt == 1
    assert seen == [True, False] and gc.isenabled()
