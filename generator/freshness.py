"""Is the site already up to date? Stamps of every input and of the written site.

``perfsite build`` with nothing changed should cost a directory walk, not a build. The
input stamp covers everything a build reads — content, the site's overrides, the theme,
the generator's own code and profiles, the versions of the libraries whose output we
ship — by path, size, mtime, ctime and inode (a copy that keeps mtimes still changes
the last two). The written site is known by the inode, size and mtime of every file, so
a hand-edited or deleted output file is noticed too (and the site rebuilt in full).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .buildcache import library_versions, stamp_folder
from .config import themes_root
from .output import output_stats  # noqa: F401 - the written site's stamp lives with the output


def input_stamp(project_dir: Path, out_dir: Path) -> str:
    digest = hashlib.sha256()
    digest.update("\n".join(library_versions() + [str(out_dir)]).encode())
    for root in (project_dir / "content", project_dir / "overrides", themes_root(), Path(__file__).parent):
        digest.update(f"\n[{root.name}]\n".encode())
        stamp_folder(root, digest)
    return digest.hexdigest()
