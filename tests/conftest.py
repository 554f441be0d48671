"""Layered fixtures in pipeline order: project folder → checked site → built site → browser.

Scratch projects are copied into tmp_path so no test touches the repository's content.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ARTIFACTS = REPO / "test-artifacts"

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """Debian's Chromium: `playwright install` cannot download a browser here."""
    return {"executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS, "headless": True}


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every output file below ``folder`` (but perfsite's marker) by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".perfsite-output"}


def copy_project(source: Path, target: Path) -> Path:
    shutil.copytree(source / "content", target / "content")
    if (source / "overrides").is_dir():
        shutil.copytree(source / "overrides", target / "overrides")
    return target


@pytest.fixture
def tiny_project(tmp_path) -> Path:
    """A small valid site (2 departments, 3 forms) in a scratch folder."""
    return copy_project(FIXTURES / "tiny", tmp_path / "tiny")


@pytest.fixture
def sample_project(tmp_path) -> Path:
    """The bundled sample content (real seed form + fictional demo set) in a scratch folder."""
    return copy_project(REPO, tmp_path / "sample")


@pytest.fixture(scope="session")
def built_sample(tmp_path_factory) -> Path:
    """The bundled sample, built once per session; returns the output folder."""
    from generator.build.run import build

    project = copy_project(REPO, tmp_path_factory.mktemp("sample"))
    return build(project).out_dir


@pytest.fixture(scope="session")
def checked_sample(tmp_path_factory):
    from generator.score.check import check_project

    return check_project(copy_project(REPO, tmp_path_factory.mktemp("checked")))


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
