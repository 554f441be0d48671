"""Write the rendered site so that a reader never sees half of it.

The new site is made in the standby copy beside the target (:class:`StandbyOutput`),
which is then swapped in with one atomic ``renameat2(RENAME_EXCHANGE)`` (two renames
where the kernel lacks it). A killed or failed build leaves the previous site untouched.
A non-empty folder that perfsite did not write is never overwritten.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import hashlib
import os
import shutil
from pathlib import Path

from .errors import ConfigError

MARKER = ".perfsite-output"
MARKER_TEXT = b"This folder is written by perfsite build; the next build undoes any edit made here.\n"
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


DIGEST_SIZE = 16
STANDBY_TAG = ".perfsite-standby"


def digest(data: bytes) -> bytes:
    """Identity of an output file's bytes (128 bits of SHA-256)."""
    return hashlib.sha256(data).digest()[:DIGEST_SIZE]


def standby_path(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}{STANDBY_TAG}"


def _create(target: str) -> int:
    """Open ``target`` as a new inode (never through an existing one, which may be a hard link
    into the live site). Tries the common case first, a new file in a folder that exists: a
    syscall saved per file is a second saved per 10,000 forms."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        return os.open(target, flags, 0o644)
    except FileExistsError:
        os.unlink(target)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(target), exist_ok=True)
    return os.open(target, flags, 0o644)


def write_new(root: Path, rel: str, data: bytes) -> tuple[int, int, int]:
    """Write a file as a new inode; returns its inode, size and mtime."""
    fd = _create(os.path.join(root, rel))
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        st = os.fstat(fd)
    finally:
        os.close(fd)
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class NewFile:
    """A file written in pieces as a new inode, its digest taken on the way (for big files)."""

    def __init__(self, root: Path, rel: str):
        self.rel = rel
        self._file = os.fdopen(_create(os.path.join(root, rel)), "wb")
        self._hash = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        self._file.write(data)

    def close(self) -> tuple[bytes, tuple[int, int, int]]:
        self._file.flush()
        st = os.fstat(self._file.fileno())
        self._file.close()
        return self._hash.digest()[:DIGEST_SIZE], (st.st_ino, st.st_size, st.st_mtime_ns)


class StandbyOutput:
    """The next site, made by bringing the standby copy up to date and swapping it in.

    Beside the site sits its previous version (``.<name>.perfsite-standby``), which shares
    every unchanged file with the live site through hard links. A build changes only the
    files that differ — written as new inodes, or linked from the live site when the live
    copy is already right — deletes what is gone, and swaps the two folders with one
    atomic exchange. The live site is never written to, so a reader (or a killed build)
    sees either the old site or the new one. Without a usable standby (first build, or
    one whose state is unknown) the standby starts empty and everything is written.

    ``base``/``live``: what is known to be in the standby and in the live folder
    (:class:`~generator.buildcache.Tree`), or None when unknown.
    """

    def __init__(self, out_dir: Path, project_dir: Path, live, base):
        self.out_dir = out_dir.resolve()
        check_output_dir(self.out_dir, project_dir)
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        _clean_leftovers(self.out_dir)
        self.path = standby_path(self.out_dir)
        self.live = live
        if base is None or not self.path.is_dir() or not (self.path / MARKER).is_file():
            shutil.rmtree(self.path, ignore_errors=True)
            self.path.mkdir()
            base = None
        else:  # from now on its content is in flux: a build that dies here leaves it unmarked, unused
            (self.path / MARKER).unlink()
        self.base_manifest: dict[str, bytes] = base.manifest if base else {}
        self.base_stats: dict = base.stats if base else {}
        self.manifest: dict[str, bytes] = {}
        self.stats: dict[str, tuple[int, int, int]] = {}

    def __enter__(self) -> StandbyOutput:
        return self

    def put(self, rel: str, data: bytes) -> None:
        """Make ``rel`` hold ``data``, writing only if neither copy has it already."""
        file_digest = digest(data)
        if not self.reuse(rel, file_digest):
            self.adopt(rel, file_digest, write_new(self.path, rel, data))

    def has(self, rel: str, file_digest: bytes) -> bool:
        """Whether either copy has this file, so :meth:`reuse` would not need to write it."""
        return (self.base_manifest.get(rel) == file_digest
                or (self.live is not None and self.live.manifest.get(rel) == file_digest))

    def reuse(self, rel: str, file_digest: bytes) -> bool:
        """Make ``rel`` hold the file with this digest without writing, if either copy has it."""
        if self.base_manifest.get(rel) == file_digest:
            self.adopt(rel, file_digest, self.base_stats[rel])
            return True
        if self.live is not None and self.live.manifest.get(rel) == file_digest:
            target = self.path / rel
            try:
                os.unlink(target)
            except FileNotFoundError:
                target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(self.out_dir / rel, target)
                stat = self.live.stats[rel]
            except OSError:  # a file system without hard links: copy it (a new inode, so its own stat)
                shutil.copyfile(self.out_dir / rel, target)
                st = os.stat(target)
                stat = (st.st_ino, st.st_size, st.st_mtime_ns)
            self.adopt(rel, file_digest, stat)
            return True
        return False

    def put_pieces(self, rel: str, pieces) -> None:
        """Write a big file from an iterable of byte strings without holding it whole."""
        out = NewFile(self.path, rel)
        try:
            for piece in pieces:
                out.write(piece)
        finally:
            file_digest, stat = out.close()
        self.adopt(rel, file_digest, stat)

    def adopt(self, rel: str, file_digest: bytes, stat: tuple[int, int, int]) -> None:
        """Record a file written into the standby by someone else (a worker process)."""
        self.manifest[rel] = file_digest
        self.stats[rel] = stat

    def __exit__(self, kind, _value, _tb) -> None:
        if kind is not None:  # the standby is now in no known state: start it afresh next time
            shutil.rmtree(self.path, ignore_errors=True)

    def delete_the_rest(self) -> None:
        """Remove what the standby has but the new site does not."""
        parents = set()
        for rel in (self.base_manifest.keys() | self.base_stats.keys()) - self.manifest.keys():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path / rel)
            parents.add(os.path.dirname(rel))
        for folder in sorted(parents, key=len, reverse=True):
            while folder:
                try:
                    os.rmdir(self.path / folder)
                except OSError:
                    break
                folder = os.path.dirname(folder)

    def swap(self) -> bool:
        """Put the standby in place of the site; True when the old site is now the standby."""
        (self.path / MARKER).write_bytes(MARKER_TEXT)
        if self.out_dir.exists() and _exchange(self.path, self.out_dir):
            return True
        if self.out_dir.exists():
            old = self.out_dir.parent / f".{self.out_dir.name}{TMP_TAG}old-{os.getpid()}"
            self.out_dir.rename(old)
            self.path.rename(self.out_dir)
            shutil.rmtree(old)
        else:
            self.path.rename(self.out_dir)
        return False
