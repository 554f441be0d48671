"""Is the site already up to date? A stamp of every input, kept beside the project.

``perfsite build`` with nothing changed should cost a directory walk, not a build. The
stamp covers everything a build reads — content, the site's overrides, the theme, the
generator's own code and profiles, the versions of the libraries whose output we ship —
by path, size and modification time, and the written site by the same, so a hand-edited
or deleted output file is rebuilt too. It lives in ``.perfsite-cache/`` in the project
folder (safe to delete; never published).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from importlib import metadata
from pathlib import Path

from . import __version__
from .config import themes_root
from .output import MARKER

CACHE_DIR = ".perfsite-cache"


def _walk(root: Path, digest, skip_names: tuple[str, ...] = ()) -> None:
    if not root.exists():
        digest.update(f"missing:{root}\n".encode())
        return
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(files):
            if name.startswith(".") and name not in skip_names:
                continue
            if name in skip_names:
                continue
            path = os.path.join(folder, name)
            st = os.stat(path)
            digest.update(f"{os.path.relpath(path, root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())


def input_stamp(project_dir: Path, out_dir: Path) -> str:
    digest = hashlib.sha256()
    versions = [__version__, sys.version]
    for package in ("jinja2", "markdown-it-py", "pyyaml", "plotly"):
        try:
            versions.append(f"{package}={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package}=?")
    digest.update("\n".join(versions + [str(out_dir)]).encode())
    for root in (project_dir / "content", project_dir / "overrides", themes_root(), Path(__file__).parent):
        digest.update(f"\n[{root.name}]\n".encode())
        _walk(root, digest)
    return digest.hexdigest()


def output_stamp(out_dir: Path) -> str:
    digest = hashlib.sha256()
    _walk(out_dir, digest, skip_names=(MARKER,))
    return digest.hexdigest()


def _state_file(project_dir: Path, out_dir: Path) -> Path:
    name = hashlib.sha256(str(out_dir).encode()).hexdigest()[:16]
    return project_dir / CACHE_DIR / f"build-{name}.json"


def is_up_to_date(project_dir: Path, out_dir: Path) -> bool:
    state = _state_file(project_dir, out_dir)
    if not state.is_file() or not (out_dir / MARKER).is_file():
        return False
    try:
        saved = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return saved.get("inputs") == input_stamp(project_dir, out_dir) and saved.get("outputs") == output_stamp(out_dir)


def remember_build(project_dir: Path, out_dir: Path, inputs: str) -> None:
    """Record what the site now in ``out_dir`` was built from (best effort: a cache)."""
    state = _state_file(project_dir, out_dir)
    try:
        state.parent.mkdir(exist_ok=True)
        (state.parent / ".gitignore").write_text("*\n", encoding="utf-8")
        state.write_text(json.dumps({"inputs": inputs, "outputs": output_stamp(out_dir)}) + "\n", encoding="utf-8")
    except OSError:
        pass
