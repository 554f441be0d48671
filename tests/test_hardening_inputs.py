"""Every input is read under one rule (:mod:`generator.read.inputs`), and odd input is named, not followed.

Links (out of the project or inside it), year files whose names only look right, files that
nothing reads, unreadable folders and files, huge files, unsorted grades and content echoed
back in messages: each is a located one-line problem (or a warning, for an unused file), never
a traceback, a silent omission or a file from outside the project in the site.
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_hardening_output import without_root_override

from generator.cli import main
from generator.read import inputs

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "OUTSIDE-SECRET-5521"
OUTSIDE = "a symbolic link to outside the project: never read or published " \
          "(perfsite reads only the project's own files; copy what you need into the project)"
SUMMARY_1 = "perfsite: 1 problem in the content; nothing was changed\n"


@pytest.fixture
def project(tmp_path) -> Path:
    """The tiny site with an empty overrides folder, in a scratch folder beside ``outside/``."""
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "tiny" / "content", root / "content")
    (root / "overrides").mkdir()
    return root


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def move_out_and_link(project: Path, rel: str, target: Path) -> None:
    """Move ``rel`` (a file or a folder) to ``target`` and leave a link to it in its place."""
    path = project / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        shutil.move(path, target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target, target_is_directory=target.is_dir())


def _plant(folder: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")


# Every kind of input: (the path replaced by a link, what to put there first, where the problem is named).
STRINGS = "findings: " + SECRET + "\n"
LINKED_INPUTS = {
    "site.yaml": ("content/site.yaml", {}, "content/site.yaml"),
    "department-folder": ("content/departments/beta", {}, "content/departments/beta"),
    "department.yaml": ("content/departments/beta/department.yaml", {}, "content/departments/beta/department.yaml"),
    "year-file": ("content/departments/beta/2021.yaml", {}, "content/departments/beta/2021.yaml"),
    "departments-folder": ("content/departments", {}, "content/departments"),
    "overrides": ("overrides", {"overrides/static/leak.txt": SECRET}, "overrides"),
    "overrides-static": ("overrides/static", {"overrides/static/leak.txt": SECRET}, "overrides/static"),
    "static-file": ("overrides/static/leak.txt", {"overrides/static/leak.txt": SECRET},
                    "overrides/static/leak.txt"),
    "overrides-templates": ("overrides/templates", {"overrides/templates/404.html": SECRET},
                            "overrides/templates"),
    "template": ("overrides/templates/404.html", {"overrides/templates/404.html": SECRET},
                 "overrides/templates/404.html"),
    "strings": ("overrides/strings/zh-CN.yaml", {"overrides/strings/zh-CN.yaml": STRINGS},
                "overrides/strings/zh-CN.yaml"),
    "glossary": ("overrides/glossary.yaml", {"overrides/glossary.yaml": f"- {{term: {SECRET}}}\n"},
                 "overrides/glossary.yaml"),
}
THEME_INPUTS = {name for name, (rel, _, _) in LINKED_INPUTS.items() if rel.startswith("overrides")}


def _expected_err(name: str, where: str, message: str) -> str:
    if name in THEME_INPUTS:  # a theme problem is one line from the CLI
        return f"perfsite: {where}: {message}\n"
    return f"{where}: {message}\n" + SUMMARY_1


@pytest.mark.parametrize("name", list(LINKED_INPUTS))
def test_a_link_to_outside_the_project_is_refused_for_every_input(name, project, tmp_path, capsys):
    rel, files, where = LINKED_INPUTS[name]
    _plant(project, files)
    move_out_and_link(project, rel, tmp_path / "outside" / Path(rel).name)
    code, out, err = run(capsys, "build", "-p", str(project))
    assert (code, out, err) == (1, "", _expected_err(name, where, OUTSIDE))
    assert not (project / "site").exists()


@pytest.mark.parametrize("name", list(LINKED_INPUTS))
def test_a_link_inside_the_project_is_refused_the_same_way(name, project, capsys):
    rel, files, where = LINKED_INPUTS[name]
    _plant(project, files)
    move_out_and_link(project, rel, project / "elsewhere" / Path(rel).name)
    message = (f"a symbolic link (to elsewhere/{Path(rel).name}): links are not followed "
               "(put the file or folder itself here)")
    code, out, err = run(capsys, "build", "-p", str(project))
    assert (code, out, err) == (1, "", _expected_err(name, where, message))


def test_symlinked_department_folder_is_reported_by_check_not_dropped(project, tmp_path, capsys):
    """It used to vanish with its forms, exit 0."""
    move_out_and_link(project, "content/departments/beta", tmp_path / "outside" / "beta")
    code, out, err = run(capsys, "check", "-p", str(project))
    assert (code, out) == (1, "")
    assert err == f"content/departments/beta: {OUTSIDE}\n" + SUMMARY_1


def test_a_link_in_the_middle_of_a_path_is_named(project, tmp_path):
    """Proving a path stays inside takes every folder on the way, not only the file's name."""
    move_out_and_link(project, "content/departments/beta", tmp_path / "outside" / "beta")
    raw, problem = inputs.read_input(project / "content/departments/beta/2021.yaml", project,
                                     "content/departments/beta/2021.yaml")
    assert raw is None
    assert str(problem) == f"content/departments/beta: {OUTSIDE}"


def test_a_project_named_through_a_link_is_still_inside(project, tmp_path):
    """Only links below the project folder count: the folder itself may be reached through one."""
    alias = tmp_path / "alias"
    alias.symlink_to(project, target_is_directory=True)
    raw, problem = inputs.read_input(alias / "content/site.yaml", alias, "content/site.yaml")
    assert (raw, problem) == ((project / "content/site.yaml").read_bytes(), None)


def test_a_pipe_is_refused_without_hanging(project):
    fifo = project / "content/departments/beta/2021.yaml"
    fifo.unlink()
    os.mkfifo(fifo)
    raw, problem = inputs.read_input(fifo, project, "content/departments/beta/2021.yaml")
    assert raw is None
    assert str(problem) == "content/departments/beta/2021.yaml: expected a file, found a special file " \
                           "(pipe, device or socket)"


# --- year file names: exactly [0-9]{4}.yaml; everything else is named ----------------------------

FORM = "content/departments/alpha/2021.yaml"
EXPECTED_NAMES = "unexpected file name: expected department.yaml, <year>.yaml or <year>-<project>.yaml "
NAMED = {
    # name: (keep 2021.yaml beside it, the problem)
    "２０２１.yaml": (True, "a second file for alpha 2021, beside 2021.yaml (its name has U+FF12 (FULLWIDTH DIGIT "
                     "TWO), U+FF10 (FULLWIDTH DIGIT ZERO), U+FF11 (FULLWIDTH DIGIT ONE); keep one file per year, "
                     "named 2021.yaml)"),
    "٢٠٢١.yaml": (True, "a second file for alpha 2021, beside 2021.yaml (its name has U+0662 (ARABIC-INDIC DIGIT "
                       "TWO), U+0660 (ARABIC-INDIC DIGIT ZERO), U+0661 (ARABIC-INDIC DIGIT ONE); keep one file per "
                       "year, named 2021.yaml)"),
    "２０２１.yaml#alone": (False, EXPECTED_NAMES + "(the name has "
                           "U+FF12 (FULLWIDTH DIGIT TWO), U+FF10 (FULLWIDTH DIGIT ZERO), U+FF11 (FULLWIDTH DIGIT "
                           "ONE); name each form by its year in ASCII digits, e.g. 2021.yaml, "
                 "or 2021-<project>.yaml for a project form)"),
    "2021.yaml ": (False, EXPECTED_NAMES + "(the name has U+0020 "
                          "(SPACE); name each form by its year in ASCII digits, e.g. 2021.yaml, "
                 "or 2021-<project>.yaml for a project form)"),
    "2021.yaml\u200b": (False, EXPECTED_NAMES + "(the name has U+200B "
                               "(ZERO WIDTH SPACE); name each form by its year in ASCII digits, e.g. 2021.yaml, "
                 "or 2021-<project>.yaml for a project form)"),
    "2021 .yaml": (True, "a second file for alpha 2021, beside 2021.yaml (its name has U+0020 (SPACE); keep one "
                         "file per year, named 2021.yaml)"),
    "2021.yml": (True, "a second file for alpha 2021, beside 2021.yaml (keep one file per year, named 2021.yaml)"),
    "2021.ｙａｍｌ": (False, EXPECTED_NAMES + "(the name has U+FF59 "
                         "(FULLWIDTH LATIN SMALL LETTER Y), U+FF41 (FULLWIDTH LATIN SMALL LETTER A), U+FF4D "
                         "(FULLWIDTH LATIN SMALL LETTER M), …; name each form by its year in ASCII digits, e.g. "
                         "2021.yaml, or 2021-<project>.yaml for a project form)"),
}


@pytest.mark.parametrize("case", list(NAMED))
def test_a_year_file_name_that_only_looks_right_is_an_error(case, project, capsys):
    """Full-width digits used to replace the real form; a trailing space or an invisible
    character made the form disappear. Both are now located errors."""
    name = case.split("#")[0]
    keep, message = NAMED[case]
    shutil.copy(project / FORM, project / "content/departments/alpha" / name)
    if not keep:
        (project / FORM).unlink()
    code, out, err = run(capsys, "check", "-p", str(project))
    shown = name.replace("\u200b", "\\u200b")
    assert (code, out, err) == (1, "", f"content/departments/alpha/{shown}: {message}\n" + SUMMARY_1)


def test_control_characters_in_a_file_name_are_not_printed(project, capsys):
    (project / "content/departments/alpha/2021\x1b[2J.yaml").write_text("x", encoding="utf-8")
    code, _, err = run(capsys, "check", "-p", str(project))
    assert code == 1
    assert "\x1b" not in err
    assert err.startswith("content/departments/alpha/2021\\u001b[2J.yaml: unexpected file name")


UNUSED = {
    "content/notes.txt": "not used: perfsite reads content/site.yaml and content/departments/ only",
    "content/2021.yaml": "not used: perfsite reads content/site.yaml and content/departments/ only",
    "content/departments/README.md": "not used: records sit in department folders",
    "content/departments/alpha/2021.yaml.bak": "not used: a department folder holds department.yaml, <year>.yaml "
                                               "and <year>-<project>.yaml only",
    "content/departments/alpha/scans/2021.pdf": "not used: a department folder holds department.yaml, "
                                                "<year>.yaml and <year>-<project>.yaml only",
}


@pytest.mark.parametrize("rel", list(UNUSED))
def test_a_file_nothing_reads_is_a_warning(rel, project, capsys):
    path = project / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x", encoding="utf-8")
    shown = rel if rel.count("/") < 4 else rel.rsplit("/", 1)[0]  # a folder is named once
    line = (f"  warning {shown}: [unused-file] {UNUSED[rel]} "
            "(move it out of content/, or name it as a record if it is one)")
    code, out, err = run(capsys, "check", "-p", str(project))
    assert (code, err) == (0, "")
    assert f"\n\ncontent\n{line}\n\n" in out
    baseline = main(["check", "-q", "-p", str(FIXTURES / "tiny")]) or capsys.readouterr().out
    warnings = int(baseline.split(" warnings")[0].rsplit(" ", 1)[1])
    assert f"{warnings + 1} warnings" in out.splitlines()[-1]
    assert run(capsys, "check", "--strict", "-p", str(project))[0] == 1


def test_unused_files_are_in_the_check_json(project, capsys):
    (project / "content/departments/alpha/notes.txt").write_text("x", encoding="utf-8")
    code, out, _ = run(capsys, "check", "--format", "json", "-p", str(project))
    content = json.loads(out)["content"]
    assert code == 0
    assert [(f["code"], f["severity"], f["file"]) for f in content] == [
        ("unused-file", "warning", "content/departments/alpha/notes.txt")]


def test_hidden_files_are_left_alone(project, capsys):
    (project / "content/.DS_Store").write_text("x", encoding="utf-8")
    (project / "content/departments/alpha/.2021.yaml.swp").write_text("x", encoding="utf-8")
    code, out, _ = run(capsys, "check", "-p", str(project))
    assert code == 0
    assert "unused-file" not in out


# --- huge files: sized before they are read ----------------------------------------------------


def _sparse_2_gib(project: Path) -> Path:
    path = project / FORM
    with path.open("r+b") as f:
        os.truncate(f.fileno(), 2 * 1024 ** 3)
    return path


def test_a_2_gib_file_is_refused_by_its_size_without_being_read(project, monkeypatch, capsys):
    path = _sparse_2_gib(project)
    reads = []
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    raw, problem = inputs.read_input(path, project, FORM)
    assert (raw, reads) == (None, [])
    assert str(problem) == f"{FORM}: file too large: 2048.0 MiB, limit 1 MiB"


def test_a_2_gib_file_fails_check_in_little_memory(project):
    """Reading it whole (as before) needs 2 GiB; with 1 GiB of address space it must still work."""
    _sparse_2_gib(project)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1024 ** 3, 1024 ** 3))

    result = subprocess.run([sys.executable, "-m", "generator", "check", "-p", str(project)],
                            capture_output=True, text=True, encoding="utf-8", preexec_fn=limit, timeout=120,
                            env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"{FORM}: file too large: 2048.0 MiB, limit 1 MiB\n" + SUMMARY_1


# --- unreadable folders and files: one located line, exit 1 -----------------------------------


@pytest.fixture
def deny(monkeypatch) -> set[str]:
    """Paths whose opening or listing fails with EACCES, as chmod 000 does for a normal user."""
    denied: set[str] = set()

    def guard(function):
        def guarded(path, *args, **kwargs):
            if isinstance(path, (str, os.PathLike)) and os.path.abspath(os.fspath(path)) in denied:
                raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
            return function(path, *args, **kwargs)
        return guarded

    for module, name in ((os, "open"), (os, "scandir"), (os, "listdir"), (builtins, "open"), (io, "open")):
        monkeypatch.setattr(module, name, guard(getattr(module, name)))
    return denied


UNREADABLE = {
    "department-folder": ("content/departments/beta", {},
                          "content/departments/beta: cannot read: Permission denied (check its permissions)\n"
                          + SUMMARY_1),
    "year-file": (FORM, {}, f"{FORM}: cannot read: Permission denied (check its permissions)\n" + SUMMARY_1),
    "template": ("overrides/templates/404.html", {"overrides/templates/404.html": "x"},
                 "perfsite: overrides/templates/404.html: cannot read: Permission denied (check its permissions)\n"),
    "static-file": ("overrides/static/extra.css", {"overrides/static/extra.css": "x"},
                    "perfsite: overrides/static/extra.css: cannot read: Permission denied (check its permissions)\n"),
    "static-folder": ("overrides/static/css", {"overrides/static/css/extra.css": "x"},
                      "perfsite: overrides/static/css: cannot read: Permission denied (check its permissions)\n"),
}


@pytest.mark.parametrize("name", list(UNREADABLE))
def test_permission_denied_is_a_located_line(name, project, deny, capsys):
    rel, files, expected = UNREADABLE[name]
    _plant(project, files)
    deny.add(str(project / rel))
    code, out, err = run(capsys, "build", "-p", str(project))
    assert (code, out, err) == (1, "", expected)


@pytest.mark.parametrize("name", list(UNREADABLE))
def test_permission_denied_for_real(name, project):
    """A real chmod, binding even as root (CI): perfsite runs without the capabilities that let
    root ignore permissions."""
    rel, files, expected = UNREADABLE[name]
    _plant(project, files)
    path = project / rel
    path.chmod(0)
    try:
        done = subprocess.run(without_root_override([sys.executable, "-m", "generator", "build", "-p", str(project)]),
                              capture_output=True, text=True, timeout=300)
    finally:
        path.chmod(0o755)
    assert (done.returncode, done.stdout, done.stderr) == (1, "", expected)


# --- refused files: say what is wrong and where, never what is inside -------------------------

BETA = "content/departments/beta/department.yaml"
REFUSED = {
    "plain-text": (b"SECRET-TOKEN-1234 and more words\n",
                   f"{BETA}:1:1: expected a mapping (key: value), got text without any key "
                   "(write one key: value per line)"),
    "binary-with-nul": (b"SECRET-TOKEN-1234\x00\x01\x02\x89PNG",
                        f"{BETA}: not UTF-8 text: it contains NUL bytes (a binary file, or UTF-16 without a byte "
                        "order mark) (save the file as UTF-8 text)"),
    "control-character": (b"name: SECRET-TOKEN-1234\x07\n",
                          f"{BETA}:1:24: invalid YAML: the character U+0007 is not allowed (control characters "
                          "cannot be shown or published) (remove it)"),
    "bom-then-bad-byte": (b"\xef\xbb\xbfname: SECRET\xff\n",
                          f"{BETA}:1:13: not UTF-8 text: byte 0xFF cannot be decoded (save the file as UTF-8)"),
    "oversized": (b"name: SECRET-TOKEN-1234\nnote: " + b"x" * (2 * 1024 * 1024) + b"\n",
                  f"{BETA}: file too large: 2.0 MiB, limit 1 MiB"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_refused_file_is_not_quoted(name, project, capsys):
    raw, expected = REFUSED[name]
    (project / BETA).write_bytes(raw)
    code, out, err = run(capsys, "check", "-p", str(project))
    assert (code, out) == (1, "")
    assert err == expected + "\n" + SUMMARY_1
    assert "SECRET" not in err


def test_build_strict_fails_on_an_unused_file(project, capsys):
    (project / "content/departments/alpha/2022.yaml").unlink()  # the two clean forms are left
    assert run(capsys, "build", "--strict", "-q", "-p", str(project))[0] == 0
    (project / "content/departments/alpha/notes.txt").write_text("x", encoding="utf-8")
    code, out, err = run(capsys, "build", "--strict", "-p", str(project))
    assert (code, err) == (1, "perfsite: --strict: the audit found errors or warnings (see perfsite check)\n")
    assert "0 errors, 1 warnings" in out
