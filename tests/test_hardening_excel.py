"""Hardening of template, export and import: hostile workbooks and careless paths through the real CLI.

Every case runs ``perfsite`` as a user would (:func:`generator.cli.main`) and checks the exit
code and the message: a located message and exit 1, never a traceback, never a clobbered file.
"""

from __future__ import annotations

import io
import os
import random
import re
import struct
import zipfile
from pathlib import Path

import openpyxl
import pytest

from generator.cli import main

SHEET_XML = "xl/worksheets/sheet1.xml"
NOT_CHANGED = "perfsite: 1 problem in the content; nothing was changed"


def perfsite(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def filled(capsys, path: Path, **cells) -> Path:
    """A workbook from ``perfsite template`` with a minimal valid form typed in, then ``cells``."""
    assert perfsite(capsys, "template", path)[0] == 0
    book = openpyxl.load_workbook(path)
    ws = book["自评表"]
    values = {"B2": "示例局", "B3": "demo-x", "G2": 2023, "C9": 100, "D9": 90,
              "C20": "业务支出", "D20": "服务人数", "E20": "100人次", "F20": "100人次", "G20": 10, "H20": 10}
    for coordinate, value in {**values, **cells}.items():
        ws[coordinate] = value
    book.save(path)
    return path


def rezip(path: Path, edit=lambda name, data: data, stored: bool = False) -> Path:
    """Rewrite the workbook's zip with ``edit(name, data)`` applied to every entry."""
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", method) as target:
        for name, data in entries:
            target.writestr(name, edit(name, data))
    return path


def in_sheet(change):
    """An ``edit`` for :func:`rezip` that changes the form sheet's XML text."""
    return lambda name, data: change(data.decode("utf-8")).encode("utf-8") if name == SHEET_XML else data


def raw_cells(**stored: str):
    """Replace the stored value of cells with raw text, as a hand-made or damaged file could hold it."""
    def change(xml: str) -> str:
        for ref, text in stored.items():
            xml, count = re.subn(rf'<c r="{ref}"([^>]*?)(?: />|/>|>.*?</c>)', rf'<c r="{ref}"\1><v>{text}</v></c>', xml)
            assert count == 1, ref
        return xml
    return in_sheet(change)


@pytest.fixture
def project(tiny_project, monkeypatch):
    monkeypatch.chdir(tiny_project)
    return tiny_project


def assert_refused(capsys, path: Path, *lines: str) -> None:
    code, out, err = perfsite(capsys, "import", path)
    assert (code, out) == (1, "")
    assert err.splitlines() == [*lines, NOT_CHANGED if len(lines) == 1 else
                                f"perfsite: {len(lines)} problems in the content; nothing was changed"]
    assert not Path("content/departments/demo-x").exists()


def test_a_clean_filled_workbook_imports(capsys, project):
    """The baseline every hostile variant below starts from."""
    path = filled(capsys, Path("form.xlsx"))
    assert perfsite(capsys, "import", path)[:2] == (
        0, "imported 1 form from 1 workbook into content/departments (1 department.yaml written)\n")


# --- 3. what a workbook may unpack to ------------------------------------------------------

def comment(size: int, text: bytes = b"x"):
    return in_sheet(lambda xml: xml.replace("<sheetData>", "<!--" + (text * size).decode() + "--><sheetData>"))


def test_a_workbook_that_unpacks_beyond_the_cap_is_refused_before_parsing(capsys, project):
    # 54 KB on disk, 40 MB of XML comment: the XML parser took 68 s on it (quadratic in one token)
    path = rezip(filled(capsys, Path("bomb.xlsx")), comment(40 * 1024 * 1024))
    assert path.stat().st_size < 100 * 1024
    assert_refused(capsys, path, "bomb.xlsx: the workbook unpacks to 40.1 MiB, more than the limit of 20 MiB "
                                 "(a filled form unpacks to well under 1 MiB: save it again from Excel)")


def test_an_entry_packed_more_than_100_to_1_is_refused_as_a_zip_bomb(capsys, project):
    path = rezip(filled(capsys, Path("bomb.xlsx")), comment(5 * 1024 * 1024))
    code, _, err = perfsite(capsys, "import", path)
    assert code == 1
    assert re.fullmatch(rf"bomb\.xlsx: {SHEET_XML} unpacks to 5\.0 MiB from [0-9.]+ KiB, more than 100 times its "
                        r"packed size: refused as a zip bomb \(save it again from Excel\)\n" + NOT_CHANGED + "\n", err)


def test_one_giant_xml_token_is_refused_even_when_it_does_not_compress(capsys, project):
    noise = random.Random(3).randbytes(1024 * 1024).hex().encode()  # 2 MiB that packs about 2:1
    path = rezip(filled(capsys, Path("token.xlsx")), comment(1, noise))
    assert_refused(capsys, path, f"token.xlsx: {SHEET_XML} holds one XML item (a tag, comment or text) of more than "
                                 "1 MiB: refused, a form never needs one (save it again from Excel)")


def patch_declared_size(path: Path, name: str, size: int) -> None:
    """Make the zip headers claim ``size`` unpacked bytes for ``name`` (a lying header)."""
    raw = bytearray(path.read_bytes())
    # local file header and central directory entry: where the unpacked size, the name length and the name sit
    for signature, size_at, length_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        at = raw.find(signature)
        while at >= 0:
            length = struct.unpack_from("<H", raw, at + length_at)[0]
            if raw[at + name_at:at + name_at + length] == name.encode():
                struct.pack_into("<I", raw, at + size_at, size)
            at = raw.find(signature, at + 4)
    path.write_bytes(bytes(raw))


def test_headers_that_understate_the_unpacked_size_cannot_smuggle_data_in(capsys, project):
    path = rezip(filled(capsys, Path("liar.xlsx")), comment(30 * 1024 * 1024))
    patch_declared_size(path, SHEET_XML, 1000)
    with zipfile.ZipFile(path) as archive:
        assert sum(info.file_size for info in archive.infolist()) < 1024 * 1024  # the headers lie
    assert_refused(capsys, path, f"liar.xlsx: damaged workbook: cannot unpack {SHEET_XML} (Bad CRC-32 for file "
                                 f"'{SHEET_XML}') (save it again from Excel)")


# --- 4. template and export never clobber a file ------------------------------------------

def test_template_refuses_to_overwrite_an_existing_file(capsys, project):
    site = Path("content/site.yaml")
    before = site.read_bytes()
    assert perfsite(capsys, "template", site) == (
        1, "", "perfsite: content/site.yaml already exists: perfsite template --overwrite replaces it\n")
    assert site.read_bytes() == before
    assert perfsite(capsys, "template", "--overwrite", site)[0] == 0
    assert openpyxl.load_workbook(io.BytesIO(site.read_bytes())).sheetnames == ["自评表", "说明"]


def test_export_refuses_to_overwrite_existing_workbooks(capsys, project):
    assert perfsite(capsys, "export", "-o", "out")[0] == 0
    mine = Path("out/alpha/2021.xlsx")
    mine.write_bytes(b"my edited workbook")
    code, out, err = perfsite(capsys, "export", "-o", "out")
    assert (code, out) == (1, "")
    assert err == ("perfsite: out/alpha/2021.xlsx already exists (and 2 more workbooks): "
                   "perfsite export --overwrite replaces them\n")
    assert mine.read_bytes() == b"my edited workbook"
    assert perfsite(capsys, "export", "-o", "out", "--overwrite")[0] == 0
    assert openpyxl.load_workbook(mine).sheetnames == ["自评表", "说明"]


def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary_file(capsys, project, monkeypatch):
    target = Path("form.xlsx")
    target.write_bytes(b"the old workbook")

    def refused(source, destination) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refused)  # the last step of the write fails
    assert perfsite(capsys, "template", "--overwrite", target) == (
        1, "", "perfsite: cannot write form.xlsx: Permission denied\n")
    assert target.read_bytes() == b"the old workbook"
    assert sorted(p.name for p in Path(".").iterdir()) == ["content", "form.xlsx"]


# --- 10. messages, not tracebacks ----------------------------------------------------------

def test_template_into_a_folder_says_so(capsys, project):
    Path("somedir").mkdir()
    assert perfsite(capsys, "template", "somedir/") == (
        1, "", "perfsite: somedir is a folder: name the workbook to write, e.g. somedir/template.xlsx\n")
    assert list(Path("somedir").iterdir()) == []


def test_export_into_a_regular_file_says_so(capsys, project):
    Path("out.txt").write_text("notes\n", encoding="utf-8")
    assert perfsite(capsys, "export", "-o", "out.txt") == (
        1, "", "perfsite: out.txt is a file, not a folder: export -o takes the folder to write the workbooks into\n")
    assert Path("out.txt").read_text(encoding="utf-8") == "notes\n"


def test_impossible_numbers_are_cell_located_errors_all_at_once(capsys, project):
    path = rezip(filled(capsys, Path("form.xlsx"), D10=50),
                 raw_cells(C9="NaN", D9="12345678901234567890123456789012", E9="1e999", C10="9" * 5000,
                           G20="1e28", H20="-1E+200"))
    assert_refused(
        capsys, path,
        'form.xlsx!自评表!C10: funds.sources[1].budget: the cell stores "9999999999999999999999999999999999999...", '
        "not a number Excel can hold (type the number itself)",
        'form.xlsx!自评表!C9: funds.sources[0].budget: the cell stores "NaN", not a number Excel can hold '
        "(type the number itself)",
        # exact, digit for digit, and shown as its 0.00 cell shows it
        "form.xlsx!自评表!D9: funds.sources[0].executed: expected a number from 0 to 1000000000000000, "
        "got 12345678901234567890123456789012.00",
        "form.xlsx!自评表!E9: funds.sources[0].transfer: the cell stores an infinite number (type the number itself)",
        "form.xlsx!自评表!G20: indicators[0].weight: expected a number from 0 to 100, "
        "got 10000000000000000000000000000",
        "form.xlsx!自评表!H20: indicators[0].score: the cell stores a number with 201 digits, more than any form "
        "holds (type the number itself)",
    )


def test_a_bad_crc_is_a_file_located_error(capsys, project):
    path = rezip(filled(capsys, Path("form.xlsx")), stored=True)
    raw = path.read_bytes()
    assert raw.count(b'<c r="C9"') == 1
    path.write_bytes(raw.replace(b'<c r="C9"', b'<c r="C8"'))
    assert_refused(capsys, path, f"form.xlsx: damaged workbook: cannot unpack {SHEET_XML} (Bad CRC-32 for file "
                                 f"'{SHEET_XML}') (save it again from Excel)")


LAUGHS = ('<!DOCTYPE worksheet [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";" if i > 1 else "&lol;") * 10}">'
                    for i in range(1, 10)) + "]>")
EXTERNAL = '<!DOCTYPE worksheet [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'


@pytest.mark.parametrize("doctype, entity", [(LAUGHS, "&lol9;"), (EXTERNAL, "&secret;")],
                         ids=["billion-laughs", "external-entity"])
def test_dtd_entities_are_refused_never_expanded(capsys, project, doctype, entity):
    def change(xml: str) -> str:
        xml = doctype + xml
        return re.sub(r'<c r="D20"[^>]*>.*?</c>', f'<c r="D20" t="inlineStr"><is><t>{entity}</t></is></c>', xml)

    path = rezip(filled(capsys, Path("form.xlsx")), in_sheet(change))
    assert_refused(capsys, path, f"form.xlsx: {SHEET_XML} declares a DTD (<!DOCTYPE …>): refused, its entities "
                                 "are never expanded (save it again from Excel)")


# --- import never writes through a link -----------------------------------------------------

@pytest.mark.parametrize("linked", ["content/departments", "content/departments/demo-x",
                                    "content/departments/demo-x/2023.yaml",
                                    "content/departments/demo-x/department.yaml"])
def test_import_never_writes_through_a_link(capsys, project, tmp_path, linked):
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "content/departments/demo-x").mkdir()
    target = project / linked
    if target.exists():
        real = outside / target.name
        target.rename(real)
    else:
        real = outside / target.name
        (real.mkdir() if not target.suffix else real.write_text("keep\n", encoding="utf-8"))
    before = sorted(p.name for p in outside.rglob("*"))
    target.symlink_to(real)
    path = filled(capsys, Path("form.xlsx"))
    code, out, err = perfsite(capsys, "import", path, "--overwrite")
    assert (code, out) == (1, "")
    assert "link" in err and "Traceback" not in err, err
    assert sorted(p.name for p in outside.rglob("*")) == before  # nothing written outside
    if real.is_file():
        assert real.read_text(encoding="utf-8") == "keep\n"


def test_template_into_a_folder_that_does_not_exist_yet_says_so(capsys, project):
    code, out, err = perfsite(capsys, "template", "forms/")
    assert (code, out) == (1, "")
    assert err == "perfsite: forms is a folder: name the workbook to write, e.g. forms/template.xlsx\n"
    assert not Path("forms").exists()


def test_the_library_refuses_to_overwrite_by_default(project):
    from generator.errors import ConfigError
    from generator.excel.commands import export_records, write_template

    Path("t.xlsx").write_bytes(b"keep")
    with pytest.raises(ConfigError, match="already exists"):
        write_template(Path("t.xlsx"))
    assert Path("t.xlsx").read_bytes() == b"keep"
    export_records(project, Path("x"))
    with pytest.raises(ConfigError):
        export_records(project, Path("x"))
