"""The output folder as a file system object: where it is, how it is swapped, locked, removed.

:mod:`generator.build.output` decides what the site holds; this module knows the ways a folder
can resist: a mount point cannot be renamed (its contents are replaced entry by entry,
each atomically), a folder a user made read-only cannot be emptied until it is ours
again, two builds into one output must take turns, and an ``OSError`` must reach the
user as one line that names the path.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import stat
from pathlib import Path

from ..errors import ConfigError

MARKER = ".perfsite-output"
# Hidden folders inside an output that is updated in place: the next site, and entries on
# their way in from another file system.
IN_PLACE_NAMES = (".perfsite-standby", ".perfsite-incoming")
VIRTUAL = {"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs", "securityfs",
           "configfs", "pstore", "bpf", "mqueue", "efivarfs", "binfmt_misc", "fusectl", "autofs", "nsfs"}


# -- where the output is ----------------------------------------------------------------------


def _mounts() -> list[tuple[str, str]]:
    """Mount points and their file system types (Linux; empty elsewhere)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as file:
            lines = file.read().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        fields, _, rest = line.partition(" - ")
        parts = fields.split()
        if len(parts) > 4 and rest:
            point = parts[4].encode().decode("unicode_escape") if "\\" in parts[4] else parts[4]
            found.append((point, rest.split()[0]))
    return found


def is_mount_point(path: Path) -> bool:
    """Whether ``path`` is a mount point, bind mounts of a folder of the same disk included
    (``os.path.ismount`` misses those; the kernel still refuses to rename them)."""
    if os.path.ismount(path):
        return True
    return os.path.isdir(path) and any(point == str(path) for point, _ in _mounts())


def virtual_file_system(path: Path) -> str:
    """The type of the kernel's virtual file system ``path`` is on (``proc``, ``sysfs``…), or ""."""
    best, kind = "", ""
    text = str(path)
    for point, fstype in _mounts():
        inside = text == point or text.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fstype
    return kind if kind in VIRTUAL else ""


# -- changing it --------------------------------------------------------------------------------


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2``); False when the system cannot, OSError
    when it refuses these paths (EBUSY for a mount point, EXDEV across file systems)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # no such call, or not on this file system
        return False
    raise OSError(code, os.strerror(code), os.fspath(b))


def _move_in(source: Path, target: Path) -> None:
    """Rename, or copy (then remove) when ``source`` is on another file system."""
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        if source.is_dir() and not source.is_symlink():
            shutil.copytree(source, target, symlinks=True)
        else:
            shutil.copy2(source, target, follow_symlinks=False)
        remove_tree(source)


def replace_entries(new: Path, out: Path) -> None:
    """Make ``out`` hold what ``new`` holds without renaming ``out`` itself: each top-level
    entry is exchanged atomically with its old version (a page is always whole, old or new;
    during the swap the site mixes old and new entries). Old entries may be left in ``new``."""
    incoming = out / IN_PLACE_NAMES[1]
    remove_tree(incoming)
    names = set(os.listdir(new))
    for name in sorted(names, key=lambda n: n == MARKER):  # the marker last: it is the same
        try:
            _put(new / name, out / name, incoming)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            incoming.mkdir(exist_ok=True)  # from another file system: copied in, then renamed
            _move_in(new / name, incoming / name)
            _put(incoming / name, out / name, incoming)
    for name in set(os.listdir(out)) - names - set(IN_PLACE_NAMES):
        remove_tree(out / name)
    remove_tree(incoming)


def _put(source: Path, target: Path, aside: Path) -> None:
    """Put ``source`` at ``target`` in one step (its old version goes where ``source`` was). A folder
    moved to another parent must be writable (its ``..`` changes): ours, so made so."""
    for folder in (source, target):
        if folder.is_dir() and not folder.is_symlink():
            make_ours(folder)
    if not os.path.lexists(target):
        os.rename(source, target)
    elif not exchange(source, target):  # no atomic exchange here: a file is still replaced atomically,
        if source.is_dir() and not source.is_symlink():  # a folder is missing for a moment
            aside.mkdir(exist_ok=True)
            os.rename(target, aside / f"{target.name}.old")
        os.replace(source, target)


def make_ours(path: str | Path, mode: int | None = None) -> bool:
    """Give the owner read, write and search rights on a folder of ours that a user restricted;
    False when even that is refused."""
    try:
        mode = os.lstat(path).st_mode if mode is None else mode
        if stat.S_IMODE(mode) & stat.S_IRWXU != stat.S_IRWXU:
            os.chmod(path, stat.S_IMODE(mode) | stat.S_IRWXU)
    except OSError:
        return False
    return True


def remove_tree(path: Path) -> None:
    """Remove a file or folder of ours, whatever rights a user left on its folders; when it still
    cannot be removed, say which path refuses and why (a build stopped by it must say so)."""
    if not os.path.lexists(path):
        return
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
        return
    with contextlib.suppress(OSError):
        shutil.rmtree(path)
        return
    todo = [os.fspath(path)]
    while todo:  # top down: a folder must be ours again before it can be listed and emptied
        folder = todo.pop()
        make_ours(folder)
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            todo += [e.path for e in entries if e.is_dir(follow_symlinks=False)]

    def refuse(_function, where, exc_info):
        exc = exc_info[1]
        raise ConfigError(f"{where}: cannot be removed ({exc.strerror or exc}); perfsite wrote it and must "
                          "replace it: give it back write permission, or remove it yourself") from exc

    shutil.rmtree(path, onerror=refuse)


# -- taking turns -------------------------------------------------------------------------------


@contextlib.contextmanager
def output_lock(out_dir: Path):
    """One build at a time per output folder, whatever project it comes from (they share the
    standby and the swap). The lock is on the folder that holds the output (it is never
    renamed; the output itself is); it goes with the process, however it ends."""
    try:
        import fcntl
    except ImportError:  # not on POSIX: no lock
        yield
        return
    holder = out_dir if is_mount_point(out_dir) else out_dir.parent
    holder.mkdir(parents=True, exist_ok=True)
    fd = os.open(holder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def os_error_message(exc: OSError) -> str:
    """One line that names the path and the cause, with what to do about the usual ones."""
    where = exc.filename if exc.filename is not None else "perfsite"
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    hint = {errno.ENOSPC: "the disk is full: free some space and build again",
            errno.EDQUOT: "the disk quota is used up",
            errno.EFBIG: "a file grew past the size this process may write",
            errno.EROFS: "the file system is read-only",
            errno.EACCES: "permission denied: check the rights on this path",
            errno.EPERM: "not permitted: check the rights on this path",
            errno.EISDIR: "a folder is in the way of a file perfsite writes: remove it",
            errno.ENOTDIR: "a file is in the way of a folder perfsite writes: remove it"}.get(exc.errno, "")
    reason = exc.strerror or str(exc)
    return f"{where}: {reason}" + (f" ({hint})" if hint else "")
