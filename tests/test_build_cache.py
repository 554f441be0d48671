"""The build cache: what it reuses, what makes it rebuild, and that it can never serve a
stale page, run planted code, or touch the live site before the swap."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest
from conftest import tree_bytes

from generator.build.cache import BuildCache
from generator.build.output import standby_path
from generator.build.run import build
from generator.errors import ContentError

RECORD = "content/departments/demo-jiaoyu/2022.yaml"


def edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def assert_clean(project, tmp_path, name="clean"):
    clean = build(project, tmp_path / name, force=True)
    assert tree_bytes(project / "site") == tree_bytes(clean.out_dir)


@pytest.fixture
def built(sample_project):
    first = build(sample_project)
    assert first.rebuilt == len(list((sample_project / "content/departments").iterdir()))
    return sample_project


def test_one_record_rebuilds_one_department(built, tmp_path):
    edit(built / RECORD, "units: 14", "units: 15")
    result = build(built)
    assert result.rebuilt == 1
    assert_clean(built, tmp_path)


@pytest.mark.parametrize(("template", "page", "rebuilds_all"), [
    ("index.html", "index.html", False),       # shows every form: no department depends on it
    ("year.html", "2021/index.html", False),
    ("form.html", RECORD.replace("content/", "").replace(".yaml", "/index.html"), True),
    ("quality.html", "quality/index.html", False),
    ("quality-year.html", "quality/2021/index.html", True),  # its rows are made with each department
])
def test_template_edit_rebuilds_the_departments_that_use_it(built, tmp_path, template, page, rebuilds_all):
    override = built / "overrides/templates" / template
    override.parent.mkdir(parents=True, exist_ok=True)
    override.write_text(f'{{% extends "!theme/{template}" %}}{{% block content %}}<p>override</p>{{{{ super() }}}}'
                        '{% endblock %}', encoding="utf-8")
    departments = len(list((built / "content/departments").iterdir()))
    assert build(built).rebuilt == (departments if rebuilds_all else 0)
    assert "<p>override</p>" in (built / "site" / page).read_text(encoding="utf-8")
    assert_clean(built, tmp_path)


def test_new_year_rebuilds_every_department(built, tmp_path):
    """The navigation lists the years, and it is on every page."""
    folder = built / "content/departments/demo-jiaoyu"
    latest = max(int(p.stem) for p in folder.glob("[0-9][0-9][0-9][0-9].yaml"))  # its department-wide forms
    text = (folder / f"{latest}.yaml").read_text(encoding="utf-8")
    (folder / f"{latest + 1}.yaml").write_text(text.replace(f"year: {latest}", f"year: {latest + 1}"),
                                               encoding="utf-8")
    assert build(built).rebuilt == len(list((built / "content/departments").iterdir()))
    assert_clean(built, tmp_path)


def test_copy_that_keeps_size_and_mtime_is_still_seen(built, tmp_path):
    record = built / RECORD
    before = record.stat()
    edit(record, "units: 14", "units: 15")  # same size
    os.utime(record, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (record.stat().st_size, record.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    result = build(built)
    assert result.rebuilt == 1
    assert_clean(built, tmp_path)


def test_hand_edited_output_is_rebuilt_in_full(built, tmp_path):
    page = built / "site/departments/demo-jiaoyu/index.html"
    page.write_text("edited by hand", encoding="utf-8")
    result = build(built)
    assert result.site is not None and result.rebuilt == len(list((built / "content/departments").iterdir()))
    assert_clean(built, tmp_path)


def test_the_live_site_is_never_written_in_place(built):
    """The previous site survives the build untouched, as the standby copy."""
    before = tree_bytes(built / "site")
    edit(built / RECORD, "units: ", "units: 1")
    assert build(built).rebuilt == 1
    standby = standby_path(built / "site")
    assert tree_bytes(standby) == before
    assert tree_bytes(built / "site") != before


def test_failed_build_keeps_the_site_and_the_next_one_is_right(built, tmp_path):
    before = tree_bytes(built / "site")
    record = built / RECORD
    good = record.read_text(encoding="utf-8")
    record.write_text(good + "mystery: 1\n", encoding="utf-8")
    other = built / "content/departments/demo-shuili/2021.yaml"
    edit(other, "units: ", "units: 1")
    with pytest.raises(ContentError):
        build(built)
    assert tree_bytes(built / "site") == before
    record.write_text(good, encoding="utf-8")
    assert build(built).rebuilt == 2  # the failed build's work on demo-shuili never went live
    assert_clean(built, tmp_path)


class Planted:
    def __reduce__(self):
        return (os.system, ("touch PLANTED",))


def test_planted_cache_file_is_not_run(built, tmp_path, monkeypatch):
    cache = BuildCache(built, (built / "site").resolve())
    for path in cache.units.glob("*.meta"):
        path.write_bytes(pickle.dumps(Planted()))
    (cache.root / "state.pickle").write_bytes(pickle.dumps(Planted()))
    edit(built / RECORD, "units: ", "units: 1")
    monkeypatch.chdir(tmp_path)
    result = build(built)
    assert not (tmp_path / "PLANTED").exists()
    assert result.rebuilt == len(list((built / "content/departments").iterdir()))  # nothing trusted
    assert_clean(built, tmp_path)


class CallsABuiltin:
    def __reduce__(self):
        return (bytes, (16,))  # with 2**40 instead of 16, a planted file would exhaust memory


def test_cache_file_cannot_call_builtins(tmp_path):
    from generator.build.cache import load

    path = tmp_path / "planted.pickle"
    path.write_bytes(pickle.dumps(CallsABuiltin(), protocol=5))
    assert pickle.loads(path.read_bytes()) == bytes(16)
    assert load(path) is None


def test_slim_findings_come_back_as_the_one_object_of_their_kind(tmp_path):
    """The every-form pages count findings by object: read back from the cache or sent from a
    worker, a slim finding is its kind's one object; a stored kind of no known severity is
    not read."""
    import io

    from generator.build.cache import dump, load
    from generator.score.audit import slim_finding

    kinds = [slim_finding("reported_rate", "error"), slim_finding("reported_rate", "error"),
             slim_finding("odd:code", "info")]
    dump(kinds, tmp_path / "findings")
    back = load(tmp_path / "findings")
    assert back[0] is back[1] is kinds[0] and back[2] is kinds[2]
    assert pickle.loads(pickle.dumps(kinds))[2] is kinds[2]

    class Planted(pickle.Pickler):
        def persistent_id(self, obj):
            return "finding:fatal:x" if obj == "x" else None

    buffer = io.BytesIO()
    Planted(buffer, protocol=5).dump(["x"])
    (tmp_path / "planted").write_bytes(buffer.getvalue())
    assert load(tmp_path / "planted") is None


def test_deleted_cache_means_a_full_build(built, tmp_path):
    shutil.rmtree(built / ".perfsite-cache")
    edit(built / RECORD, "units: ", "units: 1")
    assert build(built).rebuilt == len(list((built / "content/departments").iterdir()))
    assert_clean(built, tmp_path)


def test_lost_standby_is_rebuilt_from_the_live_site(built, tmp_path):
    edit(built / RECORD, "units: ", "units: 1")
    build(built)
    shutil.rmtree(standby_path(built / "site"))
    edit(built / RECORD, "units: 1", "units: 2")
    assert build(built).rebuilt == 1
    assert_clean(built, tmp_path)


def test_build_dying_midway_leaves_nothing_that_is_trusted(built, tmp_path, monkeypatch):
    """As if killed after changing the standby: no cleanup runs, and the next build must not
    take the half-updated standby for the site it was."""
    from generator.build import output

    edit(built / RECORD, "units: 14", "units: 15")
    build(built)  # now the standby holds the site with 14 units, the live site 15
    edit(built / RECORD, "units: 15", "units: 16")

    def dies(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(output.StandbyOutput, "__exit__", lambda *args: None)  # no cleanup, like SIGKILL
    monkeypatch.setattr(output.StandbyOutput, "delete_the_rest", dies)  # after everything is written
    with pytest.raises(KeyboardInterrupt):
        build(built)
    monkeypatch.undo()
    edit(built / RECORD, "units: 16", "units: 14")  # back to what the standby held before it was touched
    assert build(built).site is not None
    assert_clean(built, tmp_path)


def test_file_system_without_hard_links(built, tmp_path, monkeypatch):
    def no_links(*_args):
        raise OSError(1, "Operation not permitted (simulated)")

    monkeypatch.setattr("os.link", no_links)
    for units in ("15", "16"):  # the first builds the standby from the live site, the second updates it
        edit(built / RECORD, f"units: {int(units) - 1}", f"units: {units}")
        assert build(built).rebuilt == 1
        assert_clean(built, tmp_path, f"clean-{units}")


def test_concurrent_builds_take_turns(built, tmp_path):
    """Two builds of one project share the standby copy: the second waits for the first."""
    import subprocess
    import sys

    edit(built / RECORD, "units: 14", "units: 15")
    command = [sys.executable, "-m", "generator", "build", "-q", "-p", str(built)]
    runs = [subprocess.Popen(command, stderr=subprocess.PIPE) for _ in range(3)]
    assert [run.wait(timeout=300) for run in runs] == [0, 0, 0], [run.stderr.read() for run in runs]
    assert_clean(built, tmp_path)


def test_read_only_project_keeps_its_cache_elsewhere(built, tmp_path, monkeypatch):
    from generator.build import cache as buildcache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    real_mkdir = Path.mkdir

    def refuse_in_project(self, *args, **kwargs):
        if buildcache.CACHE_DIR in self.parts and tmp_path / "user-cache" not in self.parents:
            raise PermissionError(13, "Read-only file system (simulated)", str(self))
        return real_mkdir(self, *args, **kwargs)

    shutil.rmtree(built / buildcache.CACHE_DIR)
    monkeypatch.setattr(Path, "mkdir", refuse_in_project)
    edit(built / RECORD, "units: 14", "units: 15")
    assert build(built).site is not None
    assert not (built / buildcache.CACHE_DIR).exists()
    assert list((tmp_path / "user-cache" / "perfsite").glob("*/build-*/state.pickle"))
    edit(built / RECORD, "units: 15", "units: 16")
    assert build(built).rebuilt == 1  # the cache elsewhere is used
    monkeypatch.undo()
    assert_clean(built, tmp_path)


def test_a_year_no_edit_touched_keeps_its_pages_and_files(tiny_project, tmp_path, monkeypatch):
    """Editing a 2021 form (beta's, then alpha's, whose folder also holds 2022) leaves what is
    made from 2022's forms alone: its page, quality page and bulk files are not made again, and
    the site is still a clean build's. Editing alpha's 2022 form then makes 2022's again, from
    sections kept meanwhile."""
    from generator.build import shards

    build(tiny_project)
    rendered, opened = [], []  # every-form pages written, bulk files opened
    real_put, real_sink = shards.StandbyOutput.put_pieces, shards.NewFile
    monkeypatch.setattr(shards.StandbyOutput, "put_pieces", lambda tree, rel, pieces: rendered.append(rel)
                        or real_put(tree, rel, pieces))
    monkeypatch.setattr(shards, "NewFile", lambda root, rel: opened.append(rel) or real_sink(root, rel))
    year_2022 = {"2022/index.html", "quality/2022/index.html", "data/by-year/2022/reports.json",
                 "data/by-year/2022/reports.csv", "data/by-year/2022/indicators.csv"}

    edit(tiny_project / "content/departments/beta/2021.yaml", "content: 效果,", "content: 效果（已修改）,")
    again = build(tiny_project)
    assert again.rebuilt == 1
    assert {"2021/index.html", "quality/2021/index.html", "index.html"} <= set(rendered)
    assert "data/by-year/2021/reports.json" in opened
    assert not year_2022 & (set(rendered) | set(opened))
    assert_clean(tiny_project, tmp_path, "clean-1")

    rendered.clear()
    opened.clear()
    edit(tiny_project / "content/departments/alpha/2021.yaml", "reported: {total: 87.00}", "reported: {total: 86}")
    build(tiny_project)
    assert "2021/index.html" in rendered and not year_2022 & (set(rendered) | set(opened))
    assert_clean(tiny_project, tmp_path, "clean-2")

    rendered.clear()
    opened.clear()
    edit(tiny_project / "content/departments/alpha/2022.yaml", "reported: {total: 99}", "reported: {total: 98}")
    build(tiny_project)
    assert year_2022 <= set(rendered) | set(opened)
    assert_clean(tiny_project, tmp_path, "clean-3")


def test_a_changed_year_template_remakes_every_years_page(built, tmp_path):
    template = built / "overrides/templates/year.html"
    template.parent.mkdir(parents=True)
    source = (Path(__file__).resolve().parent.parent / "themes/default/templates/year.html").read_text(encoding="utf-8")
    changed = source.replace("{% block content %}", "{% block content %}<p>模板已改</p>", 1)
    template.write_text(changed, encoding="utf-8")
    build(built)
    for year in ("2021", "2022", "2023"):
        assert "模板已改" in (built / "site" / year / "index.html").read_text(encoding="utf-8")
    assert_clean(built, tmp_path)
