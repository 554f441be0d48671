"""Write the rendered site so that a reader never sees half of it.

Everything goes into a temporary folder beside the target, which is then swapped in
with one atomic ``renameat2(RENAME_EXCHANGE)`` (two renames where the kernel lacks
it). A killed or failed build leaves the previous site untouched. A non-empty folder
that perfsite did not write is never overwritten.
"""

from __future__ import annotations

import ctypes
import glob
import os
import shutil
from pathlib import Path

from .errors import ConfigError

MARKER = ".perfsite-output"
MARKER_TEXT = b"This folder is written by perfsite build; it is replaced whole on every build.\n"
TMP_TAG = ".perfsite-tmp-"


def check_output_dir(out_dir: Path, project_dir: Path) -> None:
    """Refuse targets whose replacement would destroy something that is not ours."""
    out_dir, project_dir = out_dir.resolve(), project_dir.resolve()
    content = project_dir / "content"
    if out_dir in (project_dir, content) or out_dir in content.parents or content in out_dir.parents:
        raise ConfigError(f"{out_dir}: the output folder must not contain or be inside the content folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir}: exists and is not a folder; refusing to replace it")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).is_file():
        raise ConfigError(f"{out_dir}: not empty and not written by perfsite; refusing to overwrite it "
                          "(choose another --out or empty it yourself)")


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux); False when the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0


def _clean_leftovers(out_dir: Path) -> None:
    """Folders left by a build that was killed: ours by name, safe to remove."""
    for stale in out_dir.parent.glob(f".{glob.escape(out_dir.name)}{TMP_TAG}*"):
        shutil.rmtree(stale, ignore_errors=True)


class StagedOutput:
    """A new site written file by file into a folder beside the target, then swapped in.

    Use as a context manager: leaving the block normally swaps the staged folder in;
    an exception (or a kill) leaves the previous site as it was.
    """

    def __init__(self, out_dir: Path, project_dir: Path):
        self.out_dir = out_dir.resolve()
        check_output_dir(self.out_dir, project_dir)
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        _clean_leftovers(self.out_dir)
        self.path = self.out_dir.parent / f".{self.out_dir.name}{TMP_TAG}{os.getpid()}"
        self._made: set[Path] = set()

    def __enter__(self) -> StagedOutput:
        self.path.mkdir()
        self._made.add(self.path)
        return self

    def write(self, rel: str, data: bytes) -> None:
        write_file(self.path, rel, data, self._made)

    def write_all(self, files: dict[str, bytes]) -> None:
        for rel in sorted(files):
            self.write(rel, files[rel])

    def __exit__(self, kind, _value, _tb) -> None:
        if kind is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        try:
            self._swap()
        except BaseException:
            shutil.rmtree(self.path, ignore_errors=True)
            raise

    def _swap(self) -> None:
        (self.path / MARKER).write_bytes(MARKER_TEXT)
        out_dir, tmp = self.out_dir, self.path
        if out_dir.exists() and _exchange(tmp, out_dir):
            shutil.rmtree(tmp)  # now holds the previous site
            return
        if out_dir.exists():
            old = out_dir.parent / f".{out_dir.name}{TMP_TAG}old-{os.getpid()}"
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old)
        else:
            tmp.rename(out_dir)


def write_file(root: Path, rel: str, data: bytes, made: set[Path] | None = None) -> None:
    """Write one output file below ``root``, creating folders as needed."""
    target = root / rel
    if made is None or target.parent not in made:
        target.parent.mkdir(parents=True, exist_ok=True)
        if made is not None:
            made.add(target.parent)
    target.write_bytes(data)


def write_site(files: dict[str, bytes], out_dir: Path, project_dir: Path) -> None:
    """Write ``files`` as the complete new content of ``out_dir``."""
    with StagedOutput(out_dir, project_dir) as staged:
        staged.write_all(files)
