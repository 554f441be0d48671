"""The tool works from a non-editable install, in a folder that is not this repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("src") / "perfsite"
    # build from a clean copy of the tracked tree, as a fresh clone would
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for rel in files.splitlines():
        target = source / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / rel).is_file():
            shutil.copy2(REPO / rel, target)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
                   check=True, capture_output=True)
    return next(out.glob("perfsite-*.whl"))


def test_wheel_carries_profiles_and_themes(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tracked = subprocess.run(["git", "ls-files", "themes", "generator"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    shipped = {n.replace("perfsite_themes/", "themes/", 1) for n in names}
    missing = [rel for rel in tracked if rel not in shipped]
    assert missing == []  # every module of every stage package, every profile, every theme file ships
    assert "generator/build/shards.py" in names and "generator/read/profiles/national.yaml" in names
    assert "generator/read/profiles/national.yaml" in names
    assert "perfsite_themes/default/templates/form.html" in names
    assert "perfsite_themes/default/strings/en.yaml" in names
    assert "perfsite_themes/default/static/charts.js" in names
    assert not any(n.startswith(("tests/", "content/")) for n in names)


def test_installed_wheel_builds_a_project_elsewhere(wheel, tmp_path, tiny_project):
    target = tmp_path / "installed"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(target)}  # dependencies come from this interpreter
    result = subprocess.run([sys.executable, "-c", "import generator, sys; print(generator.__file__); "
                             "from generator.cli import main; sys.exit(main(['build', '-p', sys.argv[1]]))",
                             str(tiny_project)], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith(str(target))  # not this checkout
    assert (tiny_project / "site" / "departments" / "alpha" / "2021" / "index.html").is_file()
    glossary = (tiny_project / "site" / "glossary" / "index.html").read_text(encoding="utf-8")
    assert glossary.count('<th scope="row" lang="zh-CN">') >= 20  # the glossary shipped with its rows
