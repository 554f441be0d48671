"""The bulk files of a resident build (``perfsite build --watch``), made by copying from the
live file the bytes of every department that did not change.

A bulk file is its header, each department's piece (the fragments or rows of its forms) in
site order with the separator between forms, and its trailer
(:func:`~generator.site.pipeline.bulk_framing`). After an edit only the department's piece
differs: the new file is the old one's bytes around it, copied by the kernel
(``copy_file_range``: no byte passes through Python), and the new piece — milliseconds for
a year of 10,000 forms, where streaming every department's cached slices took a second.

Its identity in the site's manifest is a digest of its pieces' digests (the bytes are not
read to hash them): equal identities still mean equal bytes. A one-shot build hashes the
bytes instead; the two kinds are only ever compared for equality, so a file made one way
and then the other is simply written again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from ..files import located
from .output import DIGEST_SIZE, StandbyOutput, _create

DOMAIN = b"perfsite-bulk-pieces-1\0"


class Piece(NamedTuple):  # a tuple: made 6,000 times in an edit of a 10,000-form site
    offset: int
    length: int
    digest: bytes
    source: object  # the department's record it was made from: copied only while that is current


@dataclass(frozen=True)
class Layout:
    """Where each department's piece lies in a bulk file this process wrote."""

    digest: bytes
    pieces: dict[str, Piece]


def write_spliced(tree: StandbyOutput, rel: str, framing: tuple[bytes, bytes, bytes],
                  departments: Iterable[tuple[str, object]], pieces_of: Callable[[object], list[bytes]],
                  old: Layout | None) -> Layout:
    """Write ``rel`` into the standby: ``departments`` in order as (slug, record), where
    ``pieces_of(record)`` gives the department's form pieces for this file (asked only when its
    bytes cannot be copied from the live file, which ``old`` describes)."""
    header, between, after = framing
    target = os.path.join(tree.path, rel)
    source_fd = _open_live(tree, rel) if old is not None else None
    known_pieces = old.pieces if source_fd is not None else {}
    fd = _create(target)
    writer = _Writer(fd, source_fd, target)
    try:
        writer.write(header)
        pieces: dict[str, Piece] = {}
        for slug, record in departments:
            known = known_pieces.get(slug)
            if pieces and between:
                writer.separate(between, known)
            if known is not None and known.source is record:
                offset = writer.copy(known.offset, known.length)
                piece = known if offset == known.offset else known._replace(offset=offset)
            else:
                data = between.join(pieces_of(record))
                piece = Piece(writer.write(data), len(data), _digest(data), record)
            pieces[slug] = piece
        writer.write(after)
        stat = writer.close()
    finally:
        writer.release()
    layout = Layout(pieces_digest(header, between, after, [piece.digest for piece in pieces.values()]), pieces)
    tree.adopt(rel, layout.digest, stat)
    return layout


class LayoutReader:
    """Works out where each department's piece lies in a bulk file a one-shot build wrote (a
    watch starting on a built site), from the pieces it was made of, fed in site order; the
    layout holds only if those pieces hash to the file's digest in the site's manifest."""

    def __init__(self, framing: tuple[bytes, bytes, bytes]):
        self.header, self.between, self.after = framing
        self.whole = hashlib.sha256(self.header)
        self.offset = len(self.header)
        self.pieces: dict[str, Piece] = {}

    def add(self, slug: str, record: object, forms: list[bytes]) -> None:
        if self.pieces and self.between:
            self.whole.update(self.between)
            self.offset += len(self.between)
        data = self.between.join(forms)
        self.pieces[slug] = Piece(self.offset, len(data), _digest(data), record)
        self.whole.update(data)
        self.offset += len(data)

    def layout(self, manifest_digest: bytes | None) -> Layout | None:
        self.whole.update(self.after)
        if manifest_digest is None or self.whole.digest()[:DIGEST_SIZE] != manifest_digest:
            return None  # not made of these pieces (or written by a splice): written whole next time
        return Layout(manifest_digest, self.pieces)


def pieces_digest(header: bytes, between: bytes, after: bytes, digests: list[bytes]) -> bytes:
    """A spliced file's identity: its framing and each piece's digest, in order."""
    whole = hashlib.sha256(DOMAIN + _digest(header) + _digest(between))
    if digests:
        whole.update(b"\1" + b"\2".join(digests))  # \1 before the first piece, \2 before each other
    whole.update(b"\3" + _digest(after))
    return whole.digest()[:DIGEST_SIZE]


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _open_live(tree: StandbyOutput, rel: str) -> int | None:
    try:
        return os.open(os.path.join(tree.out_dir, rel), os.O_RDONLY)
    except OSError:
        return None  # not there after all: every piece is written


class _Writer:
    """Appends bytes, and ranges of the live file (consecutive ranges coalesced into one copy)."""

    def __init__(self, fd: int, source_fd: int | None, path: str):
        self.fd, self.source_fd, self.path = fd, source_fd, path
        self.position = 0
        self._run: tuple[int, int] | None = None  # a range of the live file still to copy

    def write(self, data: bytes) -> int:
        """Append ``data``; returns where it starts."""
        self._flush()
        start = self.position
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as exc:
            raise located(exc, self.path) from exc
        self.position += len(data)
        return start

    def separate(self, between: bytes, known: Piece | None) -> None:
        """The separator before a piece: copied with it when it follows the run in the live file."""
        if self._run is not None and known is not None and known.offset == self._run[1] + len(between):
            self._run = (self._run[0], self._run[1] + len(between))
            self.position += len(between)
        else:
            self.write(between)

    def copy(self, offset: int, length: int) -> int:
        """Append ``length`` bytes of the live file from ``offset``; returns where they start."""
        start = self.position
        if self._run is not None and self._run[1] == offset:
            self._run = (self._run[0], offset + length)
        else:
            self._flush()
            self._run = (offset, offset + length)
        self.position += length
        return start

    def _flush(self) -> None:
        if self._run is None:
            return
        offset, end = self._run
        self._run = None
        try:
            while offset < end:
                try:
                    done = os.copy_file_range(self.source_fd, self.fd, end - offset, offset)
                except OSError:  # no copy_file_range between these files (or kernels): read and write
                    done = os.write(self.fd, os.pread(self.source_fd, min(end - offset, 1 << 20), offset))
                if done == 0:
                    raise OSError(f"the live file ended at byte {offset} of {end}")
                offset += done
        except OSError as exc:
            raise located(exc, self.path) from exc

    def close(self) -> tuple[int, int, int]:
        self._flush()
        st = os.fstat(self.fd)
        if st.st_size != self.position:
            raise OSError(f"{self.path}: wrote {st.st_size} bytes, meant {self.position}")
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def release(self) -> None:
        for fd in (self.fd, self.source_fd):
            if fd is not None:
                os.close(fd)
