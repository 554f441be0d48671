"""One rule for every file perfsite reads from a project, applied in one place.

**The rule.** An input (``content/site.yaml``, a department folder, ``department.yaml``, a
year file, anything under ``overrides/``, and each shipped theme's files) must be a real
file or folder *inside its root* (the project folder; for a shipped theme, the installed
themes folder), reached **without a symbolic link anywhere below that root**. A link is
refused wherever it points, with a located one-line problem:

* a link out of the project would publish files from elsewhere (a home folder, ``/etc``);
* a link that stays inside would let one file be two records, and the build cache and
  ``serve`` watch a link itself, not its target, so edits behind it would go unseen.

Everything else that keeps a file from being read (no permission, a FIFO or device, a file
over the size limit) is a located problem too, never a traceback. A file is opened once
with ``O_NOFOLLOW`` and sized by ``fstat`` before a byte is read, so a 2 GiB file costs a
stat, and the checked file is the one read (no swap between the check and the read).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ..errors import Location, Problem

MAX_FILE_BYTES = 1024 * 1024
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0))  # NONBLOCK: opening a FIFO must not hang


def too_large(display: str, size: int) -> Problem:
    """Say how big, never what is inside."""
    return Problem(Location(display), "", f"file too large: {size / 1024 / 1024:.1f} MiB, limit 1 MiB")


def link_problem(path: Path, root: Path, display: str, real: str | None = None) -> Problem | None:
    """``None`` when ``path`` (absolute, below the resolved ``root``) is reached without a link;
    otherwise the problem, naming the link and whether it leads out of the project.

    ``real`` is where the path really leads, when the caller already knows it."""
    plain = os.path.normpath(path)
    real = os.path.realpath(path) if real is None else real
    if real == plain and _within(real, root):
        return None
    resolved = os.path.realpath(root)
    if resolved != str(root) and _within(plain, root):  # the root itself was named through a link
        plain, root = os.path.join(resolved, os.path.relpath(plain, root)), Path(resolved)
        if real == plain:
            return None
    link = _first_link(Path(plain), root)
    if link is None and not _within(plain, root):  # a name with ../ in it, not a link
        return Problem(Location(display), "", "outside the project: never read or published")
    where = display if link is None else _display_of(link, root, Path(plain), display)
    if not _within(real, root):
        return Problem(Location(where), "", "a symbolic link to outside the project: never read or published",
                       "perfsite reads only the project's own files; copy what you need into the project")
    target = Path(real).relative_to(root).as_posix()
    return Problem(Location(where), "", f"a symbolic link (to {target}): links are not followed",
                   "put the file or folder itself here")


def folder_problem(path: Path, root: Path, display: str) -> Problem | None:
    """``None`` when ``path`` is a real folder below ``root``; a missing folder is the caller's
    business (``None`` too), anything else a problem."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return cannot_read(display, exc)
    problem = link_problem(path, root, display)
    if problem is None and not stat.S_ISDIR(st.st_mode):
        problem = Problem(Location(display), "", "expected a folder, found a file")
    return problem


def is_folder(path: Path) -> bool:
    """A real folder, not a link to one (links are reported by :func:`folder_problem`)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


IGNORED_NAMES = frozenset({"__pycache__", "node_modules"})


def is_ignored(name: str) -> bool:
    """The one ignore rule of every walk over inputs: hidden names (``.git``, editor swap files,
    ``.perfsite-cache``) and tool folders are not the project's content."""
    return name.startswith(".") or name in IGNORED_NAMES


def walk_files(root: Path, on_error=None, skip=()):
    """Every entry below ``root`` that is not a folder (files, and links, which are never
    followed), as ``(rel, DirEntry)`` in path order; ignored names, and the folders whose
    paths are in ``skip``, are skipped. A folder that cannot be listed is passed to
    ``on_error(rel, exc)`` (default: skipped)."""
    todo = [""]
    while todo:
        rel = todo.pop()
        try:
            with os.scandir(os.path.join(root, rel) if rel else root) as found:
                entries = sorted(found, key=lambda e: e.name)
        except OSError as exc:
            if on_error is not None:
                on_error(rel, exc)
            continue
        folders = []
        for entry in entries:
            if is_ignored(entry.name):
                continue
            path = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                if path not in skip:
                    folders.append(path)
            else:
                yield path, entry
        todo.extend(reversed(folders))


def cannot_read(display: str, exc: OSError) -> Problem:
    hint = "check its permissions" if exc.errno in (errno.EACCES, errno.EPERM) else ""
    return Problem(Location(display), "", f"cannot read: {exc.strerror or exc}", hint)


def list_folder(path: Path, display: str) -> tuple[list[os.DirEntry], Problem | None]:
    """The entries of a folder sorted by name, or the problem that stops listing it."""
    try:
        with os.scandir(path) as found:
            return sorted(found, key=lambda e: e.name), None
    except OSError as exc:
        return [], cannot_read(display, exc)


def open_input(path: Path, root: Path, display: str) -> tuple[int | None, os.stat_result | None, Problem | None]:
    """An open descriptor and its stat for a regular file that obeys the rule, or the problem.

    The caller closes the descriptor (:func:`read_open` does)."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the file itself is a link
            return None, None, link_problem(path, root, display) or cannot_read(display, exc)
        return None, None, cannot_read(display, exc)
    try:
        st = os.fstat(fd)
        problem = None
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a special file (pipe, device or socket)"
            problem = Problem(Location(display), "", f"expected a file, found {kind}")
        else:
            problem = link_problem(path, root, display, _real_path(fd, path))
    except OSError as exc:
        problem = cannot_read(display, exc)
    if problem is not None:
        os.close(fd)
        return None, None, problem
    return fd, st, None


def read_open(fd: int, st: os.stat_result, display: str, limit: int | None = MAX_FILE_BYTES
              ) -> tuple[bytes | None, Problem | None]:
    """Read a descriptor from :func:`open_input` and close it; refuse by size before reading."""
    try:
        if limit is not None and st.st_size > limit:
            return None, too_large(display, st.st_size)
        chunks, total, want = [], 0, (limit + 1 if limit is not None else max(st.st_size, 1 << 16))
        while True:  # read until the end (the file may have grown), stopping just past the limit
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if limit is not None and total > limit:
                return None, too_large(display, os.fstat(fd).st_size)
            want = limit + 1 - total if limit is not None else 1 << 20
        return b"".join(chunks), None
    except OSError as exc:
        return None, cannot_read(display, exc)
    finally:
        os.close(fd)


def read_input(path: Path, root: Path, display: str, limit: int | None = MAX_FILE_BYTES
               ) -> tuple[bytes | None, Problem | None]:
    """The bytes of one input file, or the located problem that keeps it from being read."""
    fd, st, problem = open_input(path, root, display)
    if problem is not None:
        return None, problem
    return read_open(fd, st, display, limit)


def root_of(path: Path, rel: str) -> Path:
    """The folder ``rel`` is written relative to (``path`` minus ``rel``): the project folder
    for ``content/...`` names; the file's own folder when ``rel`` is not a tail of ``path``."""
    parts = Path(rel).parts
    if parts and not Path(rel).is_absolute() and path.parts[-len(parts):] == parts:
        return Path(*path.parts[: -len(parts)])
    return path.parent


def _real_path(fd: int, path: Path) -> str:
    """Where an open file really is: one readlink on Linux, a walk of the path elsewhere."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return os.path.realpath(path)


def _within(real: str, root: Path) -> bool:
    return real == str(root) or real.startswith(str(root).rstrip(os.sep) + os.sep)


def _first_link(path: Path, root: Path) -> Path | None:
    """The first link on the way from ``root`` down to ``path`` (only worked out to name it)."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return None
    probe = root
    for part in parts:
        probe = probe / part
        if probe.is_symlink():
            return probe
    return None


def _display_of(link: Path, root: Path, path: Path, display: str) -> str:
    """The link's name in the same style as ``display`` (which names ``path``)."""
    tail = path.relative_to(link).as_posix()
    if tail != "." and display.endswith("/" + tail):
        return display[: -len(tail) - 1]
    return display if tail == "." else link.relative_to(root).as_posix()


def shown_name(name: str) -> str:
    """A file name safe to print on one line: invisible and control characters as ``\\uXXXX``."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in name)
