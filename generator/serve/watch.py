"""What changed below the folders ``perfsite serve`` watches, as the paths of the files.

Polling every file ten times a second cost half a core at 10,000 forms with nothing being
edited, and a tenth of a second before each reload. On Linux the kernel says which folder
changed (inotify, one watch per folder): nothing is done while nothing changes, and only
the folders named are listed again. Elsewhere, or when the kernel refuses more watches
(``fs.inotify.max_user_watches``), every file is polled as before. Either way the files
seen follow the inputs' one walk and ignore rule (:func:`~generator.read.inputs.walk_files`)
and a change is a file that appeared, went, or changed size or mtime.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import select
import struct
import sys
import threading
from pathlib import Path

from ..read.config import themes_root
from ..read.inputs import is_ignored, walk_files

POLL_SECONDS = 0.1
QUIET_SECONDS = 0.05  # a burst of saves (an editor's, a checkout's) settles into one change
Stats = dict[str, tuple[int, int]]  # path -> (mtime_ns, size)


def snapshot(roots: list[Path]) -> Stats:
    """mtime and size of every file below the roots (the inputs' one walk and ignore rule)."""
    found: Stats = {}
    for root in roots:
        for _rel, entry in walk_files(root):
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            found[entry.path] = (st.st_mtime_ns, st.st_size)
    return found


def changed_paths(before: Stats, after: Stats) -> set[Path]:
    return {Path(p) for p in set(before) ^ set(after)} | {Path(p) for p in before if p in after
                                                           and before[p] != after[p]}


class PollingWatcher:
    """Every file's mtime and size, compared every tenth of a second."""

    def __init__(self, roots: list[Path]):
        self.roots = roots
        self.files = snapshot(roots)

    def wait(self, stop: threading.Event, timeout: float = POLL_SECONDS) -> bool:
        """Wait up to ``timeout``; whether something may have changed (polling: always)."""
        return not stop.wait(min(timeout, POLL_SECONDS))

    def changes(self) -> set[Path]:
        after = snapshot(self.roots)
        changed = changed_paths(self.files, after)
        self.files = after
        return changed

    def close(self) -> None:
        pass


# inotify(7)
IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x2, 0x4, 0x8
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF, IN_Q_OVERFLOW, IN_IGNORED = 0x400, 0x800, 0x4000, 0x8000
IN_ONLYDIR, IN_DONT_FOLLOW = 0x01000000, 0x02000000
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000
FOLDER_EVENTS = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
                 | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW)
EVENT = struct.Struct("iIII")


class NoInotify(Exception):
    """The kernel cannot watch these folders (not Linux, or out of watches)."""


class InotifyWatcher:
    """The files below the roots, listed again only in the folders the kernel says changed."""

    def __init__(self, roots: list[Path]):
        if not sys.platform.startswith("linux"):
            raise NoInotify("not Linux")
        self._libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        self.fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise NoInotify(os.strerror(ctypes.get_errno()))
        self.roots = [str(r) for r in roots]
        self.tree: dict[str, Stats] = {}  # folder -> the files directly in it
        self.folders: dict[int, str] = {}  # watch -> folder
        self.dirty: set[str] = set()
        self.overflow = False
        try:
            for root in self.roots:
                parent = os.path.dirname(root)  # so that a root made later (overrides/) is seen
                if parent not in self.folders.values():
                    self._watch(parent)
                self._adopt(root)
        except BaseException:
            self.close()
            raise

    @property
    def files(self) -> Stats:
        return {path: stat for found in self.tree.values() for path, stat in found.items()}

    def wait(self, stop: threading.Event, timeout: float = 0.25) -> bool:
        """Wait up to ``timeout`` for an event; whether something may have changed."""
        if stop.is_set():
            return False
        readable, _, _ = select.select([self.fd], [], [], timeout)
        if readable:
            self._read()
        return bool(self.dirty) or self.overflow

    def changes(self) -> set[Path]:
        """The files that appeared, went or changed in the folders named since the last call."""
        self._read()
        if self.overflow:  # events were lost: compare every file
            self.overflow = False
            self.dirty.clear()
            before = self.files
            self.tree = {}
            for root in self.roots:
                self._adopt(root)
            return changed_paths(before, self.files)
        changed: set[Path] = set()
        dirty, self.dirty = self.dirty, set()
        for folder in sorted(dirty):
            if any(folder == r or folder.startswith(r + os.sep) for r in self.roots):
                changed |= self._sync(folder)
            else:  # a root's parent: a root made or removed
                for root in self.roots:
                    if os.path.dirname(root) == folder and (root in self.tree) != _is_folder(root):
                        changed |= self._adopt(root) if _is_folder(root) else self._drop(root)
        return changed

    # -- the kernel's side ----------------------------------------------------------------
    def _watch(self, folder: str) -> bool:
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(folder), FOLDER_EVENTS)
        if wd < 0:
            code = ctypes.get_errno()
            if code in (errno.ENOSPC, errno.ENOMEM):
                raise NoInotify(f"{folder}: {os.strerror(code)} (fs.inotify.max_user_watches)")
            return False  # gone meanwhile, or not a folder
        self.folders[wd] = folder
        return True

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return
            offset = 0
            while offset < len(data):
                wd, mask, _cookie, length = EVENT.unpack_from(data, offset)
                offset += EVENT.size + length
                if mask & IN_Q_OVERFLOW:
                    self.overflow = True
                elif mask & IN_IGNORED:
                    self.folders.pop(wd, None)
                elif wd in self.folders:
                    self.dirty.add(self.folders[wd])

    # -- the files' side ------------------------------------------------------------------
    def _sync(self, folder: str) -> set[Path]:
        """List one folder again: its files compared, new subfolders adopted, gone ones dropped."""
        before = self.tree.get(folder, {})
        after, subfolders = _listing(folder)  # nothing when the folder went: its parent's event drops it
        changed: set[Path] = set()
        for sub in subfolders:
            if sub not in self.tree:
                changed |= self._adopt(sub)
        for known in [f for f in self.tree if os.path.dirname(f) == folder and f not in subfolders]:
            changed |= self._drop(known)
        if folder in self.tree:
            self.tree[folder] = after
        return changed | changed_paths(before, after)

    def _adopt(self, folder: str) -> set[Path]:
        """A folder new to the watcher: watched, with every folder below it; all its files are new."""
        if not _is_folder(folder) or not self._watch(folder):
            return set()
        files, subfolders = _listing(folder)
        self.tree[folder] = files
        changed = {Path(p) for p in files}
        for sub in subfolders:
            changed |= self._adopt(sub)
        return changed

    def _drop(self, folder: str) -> set[Path]:
        """A folder that went, with everything below it (the kernel ends their watches)."""
        gone: set[Path] = set()
        for known in [f for f in self.tree if f == folder or f.startswith(folder + os.sep)]:
            gone |= {Path(p) for p in self.tree.pop(known)}
        return gone

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _listing(folder: str) -> tuple[Stats, list[str]]:
    """The files directly in a folder (mtime and size) and its subfolders, by the inputs' ignore rule."""
    files: Stats = {}
    subfolders: list[str] = []
    try:
        with os.scandir(folder) as found:
            entries = sorted(found, key=lambda e: e.name)
    except OSError:
        return files, subfolders
    for entry in entries:
        if is_ignored(entry.name):
            continue
        if entry.is_dir(follow_symlinks=False):
            subfolders.append(entry.path)
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        files[entry.path] = (st.st_mtime_ns, st.st_size)
    return files, subfolders


def _is_folder(path: str) -> bool:
    return os.path.isdir(path) and not os.path.islink(path)


Watcher = PollingWatcher | InotifyWatcher


def watcher(roots: list[Path]) -> Watcher:
    """The kernel's notifications where it has them, polling otherwise."""
    if os.environ.get("PERFSITE_WATCH") == "poll":
        return PollingWatcher(roots)
    try:
        return InotifyWatcher(roots)
    except NoInotify:
        return PollingWatcher(roots)


def next_changes(watching: Watcher, stop: threading.Event) -> set[Path]:
    """Wait for a change and for the burst it starts to settle; the paths changed (empty once
    ``stop`` is set)."""
    while not stop.is_set():
        if not watching.wait(stop):
            continue
        changed = watching.changes()
        if not changed:
            continue
        while not stop.is_set():
            if not watching.wait(stop, QUIET_SECONDS):
                break
            more = watching.changes()
            if not more:
                break
            changed |= more
        return changed
    return set()


def watched_roots(project_dir: Path) -> list[Path]:
    """What a site is made from, but the generator itself: the content, overrides, themes."""
    return [project_dir / "content", project_dir / "overrides", themes_root()]
