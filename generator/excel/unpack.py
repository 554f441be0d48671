"""A workbook file checked before openpyxl parses any of it: size, zip bombs, damage, DTDs, giant tokens.

Workbooks come from anyone, and openpyxl unpacks whatever the zip holds and parses it with
expat, which expands DTD entities and (before expat 2.6) rescans one unfinished token on every
16 KiB it is fed: a 54 KB workbook holding a 40 MB XML comment took 68 s. So the file is read
once into memory and every entry is unpacked here, within limits, before openpyxl is given
those same bytes. A filled form is about 60 KB unpacked; the limits leave room for far more:

* the file at most :data:`MAX_WORKBOOK_BYTES`, at most :data:`MAX_ENTRIES` entries;
* at most :data:`MAX_UNPACKED_BYTES` unpacked in all, by the zip's headers and then by the
  bytes actually unpacked (in case the headers lie); an entry over 1 MiB unpacked may not
  pack more than :data:`MAX_RATIO` to 1;
* every entry unpacks with a good CRC (a damaged file is named, not a traceback);
* no XML entry declares a DTD (``<!DOCTYPE``): refused, so no entity is ever expanded, and no
  XML item (a tag, comment, processing instruction or text between tags) is longer than
  :data:`MAX_TOKEN_BYTES` (an Excel cell holds at most 32767 characters), which keeps parsing linear.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path
from xml.parsers import expat

from ..errors import Location, Problem

MiB = 1024 * 1024
MAX_WORKBOOK_BYTES = 20 * MiB
MAX_UNPACKED_BYTES = 20 * MiB
MAX_ENTRIES = 1000
MAX_RATIO = 100
RATIO_FLOOR = MiB  # small entries may pack well (a sheet of empty styled rows does)
MAX_TOKEN_BYTES = MiB
AGAIN = "save it again from Excel"


def read_workbook(path: Path, display: str) -> tuple[bytes | None, list[Problem]]:
    """The workbook's bytes once every check above has passed, else None and the problem."""
    def refuse(message: str, hint: str = AGAIN) -> tuple[None, list[Problem]]:
        return None, [Problem(Location(display), "", message, hint)]

    if path.is_dir():
        return refuse("a folder, not a workbook", "name the .xlsx files to import")
    try:
        with open(path, "rb") as handle:  # a bounded read: the size stat reports may be 0 (a pipe) or wrong
            raw = handle.read(MAX_WORKBOOK_BYTES + 1)
    except OSError as exc:
        return refuse(f"cannot read: {exc.strerror}", "")
    if len(raw) > MAX_WORKBOOK_BYTES:
        return refuse(f"file too large: more than {MAX_WORKBOOK_BYTES // MiB} MiB, the limit for a workbook")
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, EOFError):
        hint = "save it as an Excel workbook (.xlsx)"
        if path.suffix.lower() == ".xls":
            hint = "this is the old .xls format: open it in Excel and save it as .xlsx"
        return refuse("not an Excel workbook (.xlsx)", hint)
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            return refuse(f"the workbook holds {len(entries)} files, more than the limit of {MAX_ENTRIES}")
        declared = sum(info.file_size for info in entries)
        if declared > MAX_UNPACKED_BYTES:
            return refuse(f"the workbook unpacks to {declared / MiB:.1f} MiB, more than the limit of "
                          f"{MAX_UNPACKED_BYTES // MiB} MiB",
                          "a filled form unpacks to well under 1 MiB: save it again from Excel")
        for info in entries:
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                return refuse(f"{info.filename} unpacks to {info.file_size / MiB:.1f} MiB from "
                              f"{info.compress_size / 1024:.1f} KiB, more than {MAX_RATIO} times its packed "
                              "size: refused as a zip bomb")
        budget = MAX_UNPACKED_BYTES
        for info in entries:
            try:
                data = _unpack(archive, info, budget)
            except _TooLarge:
                return refuse(f"the workbook unpacks to more than {MAX_UNPACKED_BYTES // MiB} MiB "
                              "(more than its headers say)")
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError,
                    OSError) as exc:  # bad CRC, bad deflate stream, encrypted or unknown compression
                return refuse(f"damaged workbook: cannot unpack {info.filename} ({exc})")
            budget -= len(data)
            why = xml_refusal(data)
            if why:
                return refuse(f"{info.filename} {why}")
    return raw, []


class _TooLarge(Exception):
    pass


def _unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    """One entry's bytes, counted as they come out; zipfile checks the CRC at the end."""
    chunks, total = [], 0
    with archive.open(info) as entry:
        while chunk := entry.read(64 * 1024):
            total += len(chunk)
            if total > budget:
                raise _TooLarge
            chunks.append(chunk)
    return b"".join(chunks)


class _Refused(Exception):
    pass


# expat gives up at the start of a token it never saw the end of: that token runs to the end of the data
_UNFINISHED = {expat.errors.codes[message] for message in (
    expat.errors.XML_ERROR_UNCLOSED_TOKEN, expat.errors.XML_ERROR_PARTIAL_CHAR,
    expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION, expat.errors.XML_ERROR_NO_ELEMENTS)}


def xml_refusal(data: bytes) -> str:
    """Why an entry's XML may not be parsed (a DTD, an item over the limit), or "" when it may.

    The same parser openpyxl uses (expat) reads the whole entry at once, which is linear; the
    distance between the starts of consecutive items bounds the longest item. An entry expat
    cannot read (a picture) is left alone up to where expat stopped: openpyxl parses no further.
    """
    parser = expat.ParserCreate()
    last = 0
    too_long = f"holds one XML item (a tag, comment or text) of more than {MAX_TOKEN_BYTES // MiB} MiB: " \
               "refused, a form never needs one"

    def item(*_) -> None:
        nonlocal last
        at = parser.CurrentByteIndex
        if at - last > MAX_TOKEN_BYTES:
            raise _Refused(too_long)
        last = at

    def doctype(*_) -> None:
        raise _Refused("declares a DTD (<!DOCTYPE …>): refused, its entities are never expanded")

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    for handler in ("StartElementHandler", "EndElementHandler", "CommentHandler", "ProcessingInstructionHandler",
                    "StartCdataSectionHandler", "EndCdataSectionHandler"):
        setattr(parser, handler, item)
    try:
        parser.Parse(data, True)
        end = len(data)
    except _Refused as exc:
        return str(exc)
    except expat.ExpatError as exc:
        end = len(data) if exc.code in _UNFINISHED else parser.ErrorByteIndex
    return too_long if end - last > MAX_TOKEN_BYTES else ""
