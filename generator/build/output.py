"""Write the rendered site so that a reader never sees half of it.

The new site is made in the standby copy beside the target (:class:`StandbyOutput`),
which is then swapped in with one atomic ``renameat2(RENAME_EXCHANGE)`` (two renames
where the kernel lacks it). A killed or failed build leaves the previous site untouched.
An output folder that cannot be renamed (a mount point: a container volume, a web root)
is updated in place instead, one top-level entry at a time, each swapped atomically
(:func:`~generator.build.sitefolder.replace_entries`): every page is whole, old or new.
A non-empty folder that perfsite did not write is never overwritten.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import os
import shutil
from pathlib import Path

from ..errors import ConfigError, PerfsiteError
from ..files import located
from .sitefolder import (
    IN_PLACE_NAMES,
    MARKER,
    exchange,
    is_mount_point,
    make_ours,
    remove_tree,
    replace_entries,
    virtual_file_system,
)

MARKER_TEXT = b"This folder is written by perfsite build; the next build undoes any edit made here.\n"
TMP_TAG = ".perfsite-tmp-"
DIGEST_SIZE = 16
STANDBY_TAG = ".perfsite-standby"
Stat = tuple[int, int, int]  # inode, size, mtime_ns of one output file


def check_output_dir(out_dir: Path, project_dir: Path) -> None:
    """Refuse targets whose replacement would destroy something that is not ours, or feed the
    site back into itself. Paths are compared resolved (symlinks followed), both ways."""
    out_dir, project_dir = out_dir.resolve(), project_dir.resolve()
    for name in ("content", "overrides"):
        inputs = (project_dir / name).resolve()
        if out_dir == inputs or inputs in out_dir.parents or out_dir in inputs.parents:
            raise ConfigError(f"{out_dir}: the output folder must not be, contain or be inside the {name} "
                              f"folder {inputs} (the build reads it: the site must neither replace it nor be "
                              "copied into it)")
    system = virtual_file_system(out_dir)
    if system:
        raise ConfigError(f"{out_dir}: is on the {system} virtual file system, which cannot hold a site; "
                          "choose another --out")
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir}: exists and is not a folder; refusing to replace it")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).is_file():
        raise ConfigError(f"{out_dir}: not empty and not written by perfsite; refusing to overwrite it "
                          "(choose another --out or empty it yourself)")


def _clean_leftovers(out_dir: Path) -> None:
    """Folders left by a build that was killed: ours by name, safe to remove."""
    for stale in out_dir.parent.glob(f".{glob.escape(out_dir.name)}{TMP_TAG}*"):
        remove_tree(stale)
    for name in IN_PLACE_NAMES:
        remove_tree(out_dir / name)


def digest(data: bytes) -> bytes:
    """Identity of an output file's bytes (128 bits of SHA-256)."""
    return hashlib.sha256(data).digest()[:DIGEST_SIZE]


def standby_path(out_dir: Path) -> Path:
    """Beside the output; inside it when the output is a mount point (the only place from where
    an entry can be renamed into it), as a hidden folder that the swap removes."""
    if is_mount_point(out_dir):
        return out_dir / IN_PLACE_NAMES[0]
    return out_dir.parent / f".{out_dir.name}{STANDBY_TAG}"


def output_stats(out_dir: Path, repair: bool = False) -> dict[str, Stat] | None:
    """Inode, size and mtime of every file perfsite wrote below ``out_dir``; None when the folder
    is not ours or holds anything but folders and regular files (a symlink is never ours).
    ``repair``: give back to us every folder a user made read-only (the standby is about to be
    changed; a folder left 0o555 would stop every later build)."""
    if not (out_dir / MARKER).is_file():
        return None
    skip = set(IN_PLACE_NAMES) if is_mount_point(out_dir) else set()
    found: dict[str, Stat] = {}
    root = str(out_dir)  # strings, not Paths: tens of thousands of folders at scale
    todo = [""]
    while todo:
        rel = todo.pop()
        with os.scandir(f"{root}/{rel}" if rel else root) as entries:
            for entry in entries:
                path = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir(follow_symlinks=False):
                    if path not in skip:
                        todo.append(path)
                    if repair:
                        make_ours(entry.path, entry.stat(follow_symlinks=False).st_mode)
                elif not entry.is_file(follow_symlinks=False):
                    return None
                elif path != MARKER:
                    st = entry.stat(follow_symlinks=False)
                    found[path] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return found


def describes(tree, files: dict[str, Stat] | None) -> bool:
    """Whether a tree read from the cache is exactly the files found in its folder (``files``,
    from :func:`output_stats`): same paths, inodes, sizes and mtimes. This is what proves every
    path of a planted or stale cache inside the folder it names: the walk yields nothing else."""
    manifest, stats = getattr(tree, "manifest", None), getattr(tree, "stats", None)
    return (isinstance(manifest, dict) and isinstance(stats, dict) and manifest.keys() == stats.keys()
            and files is not None and files == stats)


def _walked(folder: Path, repair: bool = False) -> dict[str, Stat] | None:
    try:
        return output_stats(folder, repair)
    except OSError:  # unreadable: not a folder we can trust
        return None


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


def write_new(root: Path, rel: str, data: bytes) -> Stat:
    """Write a file as a new inode; returns its inode, size and mtime."""
    target = os.path.join(root, rel)
    fd = _create(target)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        st = os.fstat(fd)
    except OSError as exc:
        raise located(exc, target) from exc
    finally:
        os.close(fd)
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class NewFile:
    """A file written in pieces as a new inode, its digest taken on the way (for big files)."""

    def __init__(self, root: Path, rel: str):
        self.rel = rel
        self.path = os.path.join(root, rel)
        self._file = os.fdopen(_create(self.path), "wb")
        self._hash = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        try:
            self._file.write(data)
        except OSError as exc:
            raise located(exc, self.path) from exc

    def close(self) -> tuple[bytes, Stat]:
        try:
            self._file.flush()
            st = os.fstat(self._file.fileno())
        except OSError as exc:
            raise located(exc, self.path) from exc
        finally:
            with contextlib.suppress(OSError):
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
    one whose state is unknown or does not match the folder) the standby starts empty and
    everything is written.

    ``base``/``live``: what is known to be in the standby and in the live folder
    (:class:`~generator.build.cache.Tree`), or None when unknown. ``live`` must already be
    proven to describe the output folder (:func:`describes`); ``base`` is checked here, but
    when ``trusted`` (this process swapped it out, and no other build ran since).
    """

    def __init__(self, out_dir: Path, project_dir: Path, live, base, trusted: bool = False):
        self.out_dir = out_dir.resolve()
        check_output_dir(self.out_dir, project_dir)
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        _clean_leftovers(self.out_dir)
        self.in_place = is_mount_point(self.out_dir)
        self.path = standby_path(self.out_dir)
        if live is not None and live.manifest.keys() != live.stats.keys():
            live = None
        self.live = live
        if base is not None and not (trusted and (self.path / MARKER).is_file()) and not (
                make_ours(self.path) and describes(base, _walked(self.path, repair=True))):
            base = None
        if base is None:
            remove_tree(self.path)
            self.path.mkdir(mode=0o700 if self.in_place else 0o777)
        else:  # from now on its content is in flux: a build that dies here leaves it unmarked, unused
            (self.path / MARKER).unlink()
        self.base_manifest: dict[str, bytes] = base.manifest if base else {}
        self.base_stats: dict = base.stats if base else {}
        self.manifest: dict[str, bytes] = {}
        self.stats: dict[str, Stat] = {}

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

    def reuse_all(self, outputs: dict[str, bytes]) -> bool:
        """:meth:`reuse` of every file of ``outputs`` (path to digest); the usual case, all of
        them already in the standby, in C (a watched edit adopts some 34,000 files this way)."""
        if outputs.items() <= self.base_manifest.items():
            self.manifest.update(outputs)
            self.stats.update(zip(outputs, map(self.base_stats.__getitem__, outputs), strict=True))
            return True
        return all([self.reuse(rel, file_digest) for rel, file_digest in outputs.items()])

    def put_pieces(self, rel: str, pieces) -> None:
        """Write a big file from an iterable of byte strings without holding it whole."""
        out = NewFile(self.path, rel)
        try:
            for piece in pieces:
                out.write(piece)
        finally:
            file_digest, stat = out.close()
        self.adopt(rel, file_digest, stat)

    def adopt(self, rel: str, file_digest: bytes, stat: Stat) -> None:
        """Record a file written into the standby by someone else (a worker process)."""
        self.manifest[rel] = file_digest
        self.stats[rel] = stat

    def __exit__(self, kind, _value, _tb) -> None:
        if kind is not None:  # the standby is now in no known state: start it afresh next time
            with contextlib.suppress(PerfsiteError, OSError):  # the error that stopped us says more
                remove_tree(self.path)

    def delete_the_rest(self) -> None:
        """Remove what the standby has but the new site does not (paths proven in __init__)."""
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
        if not self.in_place:
            try:
                if not self.out_dir.exists():
                    self.path.rename(self.out_dir)
                    return False
                if exchange(self.path, self.out_dir):
                    return True
                self._two_renames()
                return False
            except OSError as exc:  # a mount point that is not listed as one (EBUSY), or another mount (EXDEV)
                if exc.errno not in (errno.EBUSY, errno.EXDEV):
                    raise
        replace_entries(self.path, self.out_dir)
        remove_tree(self.path)  # the old site: in place, it would be served
        self.stats = output_stats(self.out_dir) or {}  # renamed, or copied from another file system
        return False

    def _two_renames(self) -> None:
        """Without an atomic exchange (old kernels, some file systems): the site is missing for
        the moment between the two renames."""
        old = self.out_dir.parent / f".{self.out_dir.name}{TMP_TAG}old-{os.getpid()}"
        self.out_dir.rename(old)
        self.path.rename(self.out_dir)
        remove_tree(old)
