"""Files perfsite writes outside the site (records, workbooks, schemas, cache files).

One atomic writer for all of them, and one way to name the file an OS error is about
(``os.write`` and ``flush`` do not).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Replace one file in one step, the way every file outside the site is written (records,
    workbooks, schemas, cache files): a reader never sees half of it, a killed write leaves
    the old file or none, and a failed one (disk full, a folder in the way) leaves no temporary
    file and names ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise located(exc, path) from exc


def located(exc: OSError, path) -> OSError:
    """The same error, naming the file (``os.write`` and ``flush`` do not)."""
    return OSError(exc.errno, exc.strerror or str(exc), os.fspath(path))
