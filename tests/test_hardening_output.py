"""The output folder and the build cache under attack or under strain: a planted cache, two
builds into one output, a mount point as output, read-only folders left in the site, a full
disk, folders where files belong, outputs that would swallow their own inputs."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import FIXTURES, copy_project, tree_bytes
from test_nothing_lost import BOUND, paused_build, wait_paused

from generator.build import cache as buildcache
from generator.build import output
from generator.build.cache import BuildCache
from generator.build.output import MARKER, standby_path
from generator.build.run import build
from generator.build.sitefolder import IN_PLACE_NAMES
from generator.cli import main

BETA = "content/departments/beta/2021.yaml"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def assert_clean(project: Path, out: Path, scratch: Path) -> None:
    clean = build(project, scratch / "clean", force=True).out_dir
    assert tree_bytes(out) == tree_bytes(clean)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=BOUND, **kwargs)


def perfsite(*argv: str) -> list[str]:
    return [sys.executable, "-m", "generator", *argv]


@pytest.fixture
def rebuilt(tiny_project):
    """A tiny project built twice, so that a standby copy and a build state exist."""
    build(tiny_project)
    edit(tiny_project / BETA, "actual: 92%", "actual: 93%")
    build(tiny_project)
    return tiny_project


# -- 1. a planted build cache is a miss, never an action -------------------------------------------


def test_planted_standby_state_deletes_nothing(rebuilt, tmp_path):
    cache = BuildCache(rebuilt, (rebuilt / "site").resolve())
    state = cache.load_state()
    assert state.standby is not None
    sentinels = [tmp_path / "sentinel", tmp_path / "sentinel-absolute"]
    for sentinel in sentinels:
        sentinel.write_text("not the site's", encoding="utf-8")
    planted = {"../../sentinel": sentinels[0], str(sentinels[1]): sentinels[1]}
    for rel in planted:
        state.standby.manifest[rel] = b"\0" * 16
        state.standby.stats[rel] = (1, 2, 3)
    cache.save_state(state)
    edit(rebuilt / BETA, "actual: 93%", "actual: 94%")
    assert build(rebuilt).site is not None
    assert all(sentinel.read_text(encoding="utf-8") == "not the site's" for sentinel in sentinels)
    assert_clean(rebuilt, rebuilt / "site", tmp_path)


def test_planted_live_manifest_and_search_bundle_delete_nothing(rebuilt, tmp_path):
    """A path added to what the live site is said to hold, and to a kept search bundle that
    would be reused from it: the state no longer describes the site, so nothing of it is used."""
    cache = BuildCache(rebuilt, (rebuilt / "site").resolve())
    sentinel = rebuilt / "sentinel"  # ../sentinel from the standby and from the site
    sentinel.write_text("not the site's", encoding="utf-8")
    state = cache.load_state()
    state.live.manifest["../sentinel"] = b"\1" * 16
    cache.save_state(state)
    bundles = sorted((cache.root / "search").glob("*.pickle"))
    assert bundles
    for path in bundles:
        key, files = buildcache.load(path)
        buildcache.dump((key, {**files, "../sentinel": b"\1" * 16}), path)
    os.utime(rebuilt / BETA)  # the same content: the search bundle's key stays what it was
    assert build(rebuilt).site is not None
    assert sentinel.read_text(encoding="utf-8") == "not the site's"
    assert_clean(rebuilt, rebuilt / "site", tmp_path)


def test_hand_edited_standby_is_not_trusted(rebuilt, tmp_path):
    standby = standby_path(rebuilt / "site")
    page = standby / "departments/alpha/index.html"  # alpha is not rebuilt: the page would be reused
    page.unlink()  # a hard link shared with the live site: replaced, not written through
    page.write_text("edited in the standby", encoding="utf-8")
    edit(rebuilt / BETA, "actual: 93%", "actual: 94%")
    assert build(rebuilt).rebuilt == 1
    assert_clean(rebuilt, rebuilt / "site", tmp_path)


# -- 5. two projects, one output: the builds take turns --------------------------------------------


def waiting_for_a_lock(pid: int) -> bool:
    """Whether ``pid`` is blocked on a file lock (the ``->`` lines of /proc/locks)."""
    return any(parts[1:2] == ["->"] and parts[5:6] == [str(pid)]
               for parts in (line.split() for line in Path("/proc/locks").read_text().splitlines()))


def test_two_projects_building_into_one_output_take_turns(tiny_project, tmp_path):
    other = copy_project(FIXTURES / "tiny", tmp_path / "other")
    (other / "content/site.yaml").write_text("title: 另一个站点\nprofile: national\n", encoding="utf-8")
    out = tiny_project / "site"
    build(tiny_project)
    edit(tiny_project / BETA, "actual: 92%", "actual: 93%")
    first = paused_build(tmp_path / "runner.py", tiny_project, "writing:2")
    assert wait_paused(first), first.stderr.read()
    second = subprocess.Popen(perfsite("build", "-q", "-p", str(other), "-o", str(out)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    waited = threading.Event()
    for _ in range(BOUND * 20):  # until the second build is seen waiting for the first's lock
        assert second.poll() is None, f"the second build ran while the first held the output: {second.stderr.read()}"
        if waiting_for_a_lock(second.pid):
            break
        waited.wait(0.05)
    else:
        pytest.fail("the second build neither waited nor ended")
    first.send_signal(signal.SIGKILL)  # mid-write, holding the lock
    first.wait(timeout=BOUND)
    assert second.wait(timeout=BOUND) == 0, second.stderr.read()
    assert_clean(other, out, tmp_path)


# -- 8. an output folder that is a mount point -----------------------------------------------------


@contextlib.contextmanager
def mounted(point: Path, *how: str):
    point.mkdir(parents=True, exist_ok=True)
    done = run(["mount", *how, str(point)])
    if done.returncode != 0:
        pytest.skip(f"this machine refuses `mount {' '.join(how)}` ({done.stderr.strip()}): needs root "
                    "with CAP_SYS_ADMIN")
    try:
        yield point
    finally:
        run(["umount", "-l", str(point)])


@pytest.mark.parametrize("how", ["tmpfs", "bind"])
def test_output_that_is_a_mount_point(tiny_project, tmp_path, how):
    out = tmp_path / "www"
    args = ("-t", "tmpfs", "-o", "size=64m", "perfsite-test") if how == "tmpfs" else ("--bind", str(out))
    out.mkdir()
    with mounted(out, *args):
        assert build(tiny_project, out).site is not None
        edit(tiny_project / BETA, "actual: 92%", "actual: 93%")
        assert build(tiny_project, out).rebuilt == 1
        assert build(tiny_project, out, force=True).site is not None
        assert output.is_mount_point(out)
        assert not any((out / name).exists() for name in IN_PLACE_NAMES)  # the old site is not served
        assert_clean(tiny_project, out, tmp_path)


def test_killed_while_replacing_a_mount_point_every_page_is_whole(tiny_project, tmp_path):
    out = tmp_path / "www"
    with mounted(out, "-t", "tmpfs", "-o", "size=64m", "perfsite-test"):
        record = tiny_project / BETA
        versions = [record.read_text(encoding="utf-8")]
        versions.append(versions[0].replace("actual: 92%", "actual: 93%"))
        complete = []
        for text in versions:
            record.write_text(text, encoding="utf-8")
            build(tiny_project, out)
            complete.append(tree_bytes(out))
        kills = 0
        for attempt, step in enumerate((1, 3, 6, 9, 12)):
            record.write_text(versions[attempt % 2], encoding="utf-8")
            process = paused_build(tmp_path / "runner.py", tiny_project, f"swapping:{step}", "-o", str(out))
            if wait_paused(process):
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.wait(timeout=BOUND)
            now = tree_bytes(out)
            assert (out / MARKER).is_file()
            for rel in complete[0]:  # a page that is in both versions is always there, old or new
                assert now.get(rel) in (complete[0][rel], complete[1].get(rel)), (step, rel)
        assert kills >= 2
        assert build(tiny_project, out).site is not None
        assert_clean(tiny_project, out, tmp_path)


def test_exchange_refused_falls_back_to_entry_by_entry(tiny_project, tmp_path, monkeypatch):
    def busy(_a, b):
        raise OSError(errno.EBUSY, "Device or resource busy (simulated)", str(b))

    build(tiny_project)
    monkeypatch.setattr(output, "exchange", busy)
    for value in ("93%", "94%"):
        edit(tiny_project / BETA, "actual: 92%" if value == "93%" else "actual: 93%", f"actual: {value}")
        assert build(tiny_project).site is not None
        assert_clean(tiny_project, tiny_project / "site", tmp_path / value)
    assert not standby_path(tiny_project / "site").exists()
    assert sorted(p.name for p in tiny_project.iterdir()) == [".perfsite-cache", "content", "site"]


def test_mount_point_not_recognised_is_copied_in_entry_by_entry(tiny_project, tmp_path, monkeypatch):
    """The standby beside the output is on another file system: the exchange fails for real
    (EXDEV or EBUSY) and each entry is copied into the output, then exchanged."""
    out = tmp_path / "www"
    with mounted(out, "-t", "tmpfs", "-o", "size=64m", "perfsite-test"):
        monkeypatch.setattr(output, "is_mount_point", lambda _path: False)
        assert build(tiny_project, out).site is not None
        edit(tiny_project / BETA, "actual: 92%", "actual: 93%")
        assert build(tiny_project, out).site is not None
        monkeypatch.undo()
        assert_clean(tiny_project, out, tmp_path)
        assert not any((out / name).exists() for name in IN_PLACE_NAMES)


# -- 9. read-only folders left in the site -----------------------------------------------------------


def without_root_override(command: list[str]) -> list[str]:
    """Run ``command`` so that folder permissions bind it, as they bind any user: as root, without
    the capabilities that let root ignore them."""
    if os.geteuid() != 0:
        return command
    wrapped = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    if not shutil.which("setpriv") or run([*wrapped, "true"]).returncode != 0:
        pytest.skip("running as root, and setpriv cannot drop CAP_DAC_OVERRIDE here: chmod would not bind")
    return [*wrapped, *command]


def test_read_only_folders_in_the_site_and_standby_do_not_stop_builds(rebuilt, tmp_path):
    site, standby = rebuilt / "site", standby_path(rebuilt / "site")
    for folder in (site / "departments/alpha", standby / "departments/beta", standby / "data", standby):
        folder.chmod(0o555)
    edit(rebuilt / BETA, "actual: 93%", "actual: 94%")
    done = run(without_root_override(perfsite("build", "-q", "-p", str(rebuilt))))  # updates the standby
    assert done.returncode == 0, done.stderr
    (site / "departments/beta").chmod(0o555)
    done = run(without_root_override(perfsite("build", "-q", "--force", "-p", str(rebuilt))))  # empties it
    assert done.returncode == 0, done.stderr
    assert_clean(rebuilt, site, tmp_path)


def test_read_only_folder_in_a_mount_point_output_does_not_stop_builds(tiny_project, tmp_path):
    """In place, a top-level folder moves between the site and its hidden standby: a move to
    another parent needs write permission on the folder itself."""
    out = tmp_path / "www"
    with mounted(out, "-t", "tmpfs", "-o", "size=64m", "perfsite-test"):
        build(tiny_project, out)
        (out / "departments").chmod(0o555)
        edit(tiny_project / BETA, "actual: 92%", "actual: 93%")
        done = run(without_root_override(perfsite("build", "-q", "-p", str(tiny_project), "-o", str(out))))
        assert done.returncode == 0, done.stderr
        assert_clean(tiny_project, out, tmp_path)


def test_folder_that_cannot_be_emptied_is_named(rebuilt, tmp_path, monkeypatch, capsys):
    """Even giving the folder back its rights does not help (an immutable folder, another owner):
    the build stops with the path and the cause."""
    blocked = standby_path(rebuilt / "site") / "departments/beta/index.html"
    assert blocked.is_file()
    real_unlink = os.unlink

    def refuse(path, *, dir_fd=None):
        where = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), path) if dir_fd is not None else path
        if os.fspath(where) == str(blocked):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_unlink(path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "unlink", refuse)
    code, err = cli(capsys, "build", "-p", str(rebuilt), "--force")
    monkeypatch.undo()
    assert code == 1
    line = one_line(err)
    assert str(blocked) in line and "Permission denied" in line, line


# -- 10. one located line instead of a traceback ---------------------------------------------------


@pytest.mark.parametrize("target", ["/proc/perfsite-site", "/sys/perfsite-site"])
def test_output_on_a_virtual_file_system_is_refused(tiny_project, capsys, target):
    code, err = cli(capsys, "build", "-p", str(tiny_project), "-o", target)
    assert code == 1
    line = one_line(err)
    assert target in line and "virtual file system" in line, line


def limited(size: int):
    """A child process that may not write a file past ``size`` bytes: a real failing write."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def no_temporary_files(project: Path) -> list[Path]:
    return [p for p in (project / buildcache.CACHE_DIR).rglob("*") if p.name.endswith(".tmp")]


def test_write_past_the_file_size_limit_is_one_line(tiny_project, tmp_path):
    """plotly.js (megabytes) cannot be written under a 1 MiB limit: the site and cache stay as they were."""
    build(tiny_project)
    before = tree_bytes(tiny_project / "site")
    done = run(perfsite("build", "-q", "--force", "-p", str(tiny_project)), preexec_fn=limited(1 << 20))
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert str(standby_path(tiny_project / "site").resolve()) in line and "File too large" in line, line
    assert tree_bytes(tiny_project / "site") == before
    assert no_temporary_files(tiny_project) == []


def test_cache_write_that_fails_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "cache" / "big.pickle"
    code = (f"import sys\nfrom pathlib import Path\nfrom generator.build.cache import dump\n"
            f"try:\n    dump(b'x' * (2 << 20), Path({str(target)!r}))\nexcept OSError as exc:\n"
            f"    sys.exit(str(exc))\n")
    done = run([sys.executable, "-c", code], preexec_fn=limited(1 << 20))
    assert done.returncode == 1 and str(target) in done.stderr and "File too large" in done.stderr, done.stderr
    assert os.listdir(target.parent) == []


def fill(folder: Path) -> None:
    """Fill the file system ``folder`` is on, to the last byte."""
    with open(folder / "filler", "wb", buffering=0) as file:
        for size in (65536, 1):
            with contextlib.suppress(OSError):
                while file.write(b"\0" * size):
                    pass


def test_full_disk_under_the_site_is_one_line(tiny_project, tmp_path, capsys):
    disk = tmp_path / "disk"
    with mounted(disk, "-t", "tmpfs", "-o", "size=32m", "perfsite-test"):
        out = disk / "site"
        build(tiny_project, out)
        before = tree_bytes(out)
        fill(disk)
        (tiny_project / "content/site.yaml").write_text("title: 改过的标题\nprofile: national\n", encoding="utf-8")
        code, err = cli(capsys, "build", "-p", str(tiny_project), "-o", str(out))
        assert code == 1
        line = one_line(err)
        assert str(standby_path(out)) in line and "No space left on device" in line, line
        assert tree_bytes(out) == before
        (disk / "filler").unlink()
        assert build(tiny_project, out).site is not None
        assert_clean(tiny_project, out, tmp_path)


def test_full_disk_under_the_cache_is_one_line_and_leaves_no_temporary_file(rebuilt, tmp_path, capsys):
    cache = rebuilt / buildcache.CACHE_DIR
    saved = tmp_path / "saved-cache"
    shutil.copytree(cache, saved)
    with mounted(cache, "-t", "tmpfs", "-o", "size=4m", "perfsite-test"):
        shutil.copytree(saved, cache, dirs_exist_ok=True)
        fill(cache)
        before = tree_bytes(rebuilt / "site")
        edit(rebuilt / BETA, "actual: 93%", "actual: 94%")
        code, err = cli(capsys, "build", "-p", str(rebuilt))
        assert code == 1
        line = one_line(err)
        assert str(cache) in line and "No space left on device" in line, line
        assert no_temporary_files(rebuilt) == []
        assert tree_bytes(rebuilt / "site") == before


@pytest.mark.parametrize("name", ["state.pickle", "units/alpha.data", "units/alpha.sections", "units/alpha.meta"])
def test_folder_where_a_cache_file_belongs_is_one_line(rebuilt, capsys, name):
    (root,) = (rebuilt / buildcache.CACHE_DIR).glob("build-*")
    (root / name).unlink()
    (root / name / "in-the-way").mkdir(parents=True)
    edit(rebuilt / BETA, "actual: 93%", "actual: 94%")  # alpha is reused: its record is read
    code, err = cli(capsys, "build", "-p", str(rebuilt))
    assert code == 1
    line = one_line(err)
    assert str(root / name) in line and "a folder is in the way" in line, line


@pytest.mark.parametrize("name", ["alpha.data", "alpha.sections", "alpha.meta"])
@pytest.mark.parametrize("damage", [b"", b"\x80\x05garbage", b"not a pickle at all"])
def test_damaged_department_record_is_a_cache_miss(rebuilt, tmp_path, name, damage):
    (root,) = (rebuilt / buildcache.CACHE_DIR).glob("build-*")
    (root / "units" / name).write_bytes(damage)
    edit(rebuilt / BETA, "actual: 93%", "actual: 94%")
    assert build(rebuilt).rebuilt == 2  # beta, edited, and alpha, whose record was unusable
    assert_clean(rebuilt, rebuilt / "site", tmp_path)
    assert (root / "units" / name).read_bytes() != damage


# -- 11. outputs that would swallow their own inputs --------------------------------------------------


def test_output_inside_overrides_static_is_refused(tiny_project, capsys):
    static = tiny_project / "overrides/static"
    static.mkdir(parents=True)
    code, err = cli(capsys, "build", "-p", str(tiny_project), "-o", str(static / "site"))
    assert code == 1
    assert "overrides folder" in one_line(err)
    assert list(static.iterdir()) == []


@pytest.mark.parametrize("target", ["content/site", "."])
def test_symlinked_content_is_guarded_by_where_it_leads(tiny_project, tmp_path, capsys, target):
    """``content`` is a link to a folder elsewhere: ``-o content/site`` would write into that
    folder, and an output that holds that folder would replace it."""
    real = tmp_path / "data" / "content"
    real.parent.mkdir()
    shutil.move(tiny_project / "content", real)
    (tiny_project / "content").symlink_to(real, target_is_directory=True)
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "data").rglob("*"))
    out = tiny_project / target if target != "." else tmp_path / "data"
    code, err = cli(capsys, "build", "-p", str(tiny_project), "-o", str(out))
    assert code == 1
    assert "content folder" in one_line(err)
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "data").rglob("*")) == before
