"""Excel round trip: the fill-in template, export of every record, import back to YAML."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from generator.cli import main
from generator.errors import ContentError
from generator.excel.commands import ILLEGIBLE, export_records, import_workbooks, write_template
from generator.read.schema import LEVEL1, LEVEL2, MONEY_UNITS
from generator.score.check import check_project
from generator.site.export import dumps, form_to_dict

SEED = "wangcheng-kexie"


def empty_project(source: Path, target: Path) -> Path:
    """The same site settings as ``source`` without any department."""
    (target / "content").mkdir(parents=True)
    shutil.copy(source / "content" / "site.yaml", target / "content" / "site.yaml")
    if (source / "overrides").is_dir():
        shutil.copytree(source / "overrides", target / "overrides")
    return target


def comparable(form) -> str:
    """The check JSON of a form; finding line numbers depend on the YAML layout, not on the data."""
    data = form_to_dict(form)
    for finding in data["findings"]:
        finding.pop("line")
    return dumps(data)


def filled_template(path: Path, **cells) -> Path:
    """The blank template with a minimal valid form typed in, then ``cells`` (coordinate → value)."""
    write_template(path)
    return fill(path, **cells)


def fill(path: Path, **cells) -> Path:
    """Type a minimal valid form into a blank template, then ``cells`` (coordinate → value)."""
    book = openpyxl.load_workbook(path)
    ws = book["自评表"]
    values = {"B2": "示例局", "B3": "demo-x", "G2": 2023, "C9": 100, "D9": 90,
              "C20": "业务支出", "D20": "服务人数", "E20": "100人次", "F20": "100人次", "G20": 10, "H20": 10}
    values.update(cells)
    for coordinate, value in values.items():
        ws[coordinate] = value
        if isinstance(value, str) and value.startswith("="):
            ws[coordinate].data_type = "s"  # typed text, not a formula
    book.save(path)
    return path


def import_error(paths, project) -> list[str]:
    with pytest.raises(ContentError) as caught:
        import_workbooks(paths, project)
    return [str(p) for p in caught.value.problems]


# --- template -----------------------------------------------------------------------------

def test_template_opens_with_drop_downs_formats_and_documented_cells(tmp_path):
    path = tmp_path / "template.xlsx"
    write_template(path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["自评表", "说明"]
    ws = book["自评表"]
    assert ws["A1"].value == "部门整体支出绩效自评表"
    assert (ws["A2"].value, ws["F2"].value, ws["H2"].value, ws["A3"].value, ws["F3"].value) == (
        "部门(单位)名称", "年度", "金额单位", "部门标识(slug)", "所属独立核算单位个数")
    assert [c.value for c in ws[8]][:8] == ["资金来源", "年初预算数", "全年预算数(A)", "全年执行数(B)",
                                             "上级财政转移支付(C)", "分值", "执行率(%)", "得分"]
    assert ws["A13"].value == "年度资金总额"
    assert (ws["A15"].value, ws["A16"].value, ws["A17"].value) == ("部门职能概述", "年初设定目标", "目标完成情况")
    assert [c.value for c in ws[19]][:10] == ["一级指标", "二级指标", "三级指标", "目标内容", "目标值", "完成值",
                                              "分值", "得分", "未完成原因", "改进措施"]
    assert (ws["A20"].value, ws["B20"].value) == ("产出指标", "数量指标")
    assert (ws["A59"].value, ws["I59"].value, ws["A60"].value, ws["A61"].value) == ("总分", "等级", "来源", "转录说明")
    lists = {dv.formula1.strip('"'): str(dv.sqref) for dv in ws.data_validations.dataValidation}
    assert lists[",".join(LEVEL1)] == "A20:A58"
    assert lists[",".join(LEVEL2)] == "B20:B58"
    assert lists[",".join(MONEY_UNITS)] == "I2"
    assert ws.freeze_panes == "A3"
    assert ws["C9"].number_format == "#,##0.00" and ws["G4"].number_format == "@" and ws["H20"].number_format == "0.00"
    assert ws.column_dimensions["D"].width > ws.column_dimensions["G"].width
    assert "【无法辨认】" in "".join(str(c.value) for row in book["说明"].iter_rows() for c in row)


def test_template_bytes_are_deterministic(tmp_path):
    write_template(tmp_path / "a.xlsx")
    write_template(tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def test_blank_template_reports_every_missing_field_at_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_template(Path("blank.xlsx"))
    project = empty_project(Path(__file__).parent.parent, tmp_path / "p")
    assert import_error([Path("blank.xlsx")], project) == [
        "blank.xlsx!自评表!A8: funds.sources: expected at least 1 item(s), got 0",
        "blank.xlsx!自评表!B2: name: required key is missing (部门（单位）名称)",
        "blank.xlsx!自评表!B3: slug: required: the department's folder name (部门标识) "
        "(lowercase letters, digits and hyphens, e.g. wangcheng-kexie)",
        "blank.xlsx!自评表!G2: year: required key is missing (年度)",
    ]
    assert not (project / "content" / "departments").exists()


# --- round trip ---------------------------------------------------------------------------

def test_export_import_reproduces_every_sample_record(sample_project, tmp_path):
    original = check_project(sample_project)
    written = export_records(sample_project, tmp_path / "xlsx")
    assert len(written) == len(original.forms) >= 25
    assert sorted(p.relative_to(tmp_path / "xlsx").as_posix() for p in written) == sorted(
        f"{f.report.department.slug}/{f.report.year}.xlsx" for f in original.forms)

    project = empty_project(sample_project, tmp_path / "imported")
    files = import_workbooks(written, project)
    assert len(files) == len(original.forms) + len(original.content.departments)

    again = check_project(project)
    assert again.content.departments == original.content.departments
    assert again.content.reports == original.content.reports  # the whole model, Decimals included
    assert [comparable(f) for f in again.forms] == [comparable(f) for f in original.forms]
    # digits as written: 5803.40 stays 5803.40, the code of a form with trailing zeros keeps them
    text = (project / "content/departments/demo-huanbao/2022.yaml").read_text(encoding="utf-8")
    assert "executed: 5803.40" in text and "score: 9.70" in text
    seed = (project / f"content/departments/{SEED}/2021.yaml").read_text(encoding="utf-8")
    assert "illegible: [level3, actual, weight, score]" in seed
    assert "executed: 363.88, transfer: 5.56" in seed

    # exporting the imported records gives the same workbooks, byte for byte
    second = export_records(project, tmp_path / "xlsx2")
    for first, other in zip(written, second, strict=True):
        assert first.read_bytes() == other.read_bytes(), first


def test_export_marks_illegible_cells_and_keeps_every_field(sample_project, tmp_path):
    export_records(sample_project, tmp_path / "out")
    ws = openpyxl.load_workbook(tmp_path / "out" / SEED / "2021.xlsx")["自评表"]
    assert ws["B2"].value == "长沙市望城区科学技术协会" and ws["B3"].value == SEED and ws["G2"].value == 2021
    assert ws["I4"].value == "否"  # fictional: false
    assert [c.value for c in ws[9]][:5] == ["财政拨款", None, 302, 363.88, 5.56]
    assert [c.value for c in ws[10]][5:8] == [10, 118.65, 7.95]  # 年度资金总额: weight, rate, score
    row = next(r for r in ws.iter_rows() if r[3].value == "基层科协组织培训")
    assert [c.value for c in row[2:8]] == [ILLEGIBLE, "基层科协组织培训", "1次", ILLEGIBLE, ILLEGIBLE, ILLEGIBLE]
    empty = next(r for r in ws.iter_rows() if r[1].value == "质量指标")
    assert [c.value for c in empty[:8]] == ["产出指标", "质量指标", None, None, None, None, 0, 0]


def test_import_refuses_to_overwrite_unless_asked(sample_project, tmp_path):
    written = export_records(sample_project, tmp_path / "xlsx")
    seed = [p for p in written if p.parent.name == SEED]
    before = (sample_project / f"content/departments/{SEED}/2021.yaml").read_bytes()
    problems = import_error(seed, sample_project)
    assert problems == [f"{seed[0]}!自评表!G2: year: content/departments/{SEED}/2021.yaml already exists "
                        "(import with --overwrite to replace it)"]
    assert (sample_project / f"content/departments/{SEED}/2021.yaml").read_bytes() == before

    files = import_workbooks(seed, sample_project, overwrite=True)
    assert files == [sample_project / f"content/departments/{SEED}/2021.yaml"]  # department.yaml unchanged
    assert len(check_project(sample_project).content.reports) == 33  # still valid


def test_import_refuses_a_header_block_that_contradicts_department_yaml(sample_project, tmp_path):
    path = export_records(sample_project, tmp_path / "xlsx")[0]
    book = openpyxl.load_workbook(path)
    book["自评表"]["B2"] = "另一个名称"
    book["自评表"]["G2"] = 2030
    book.save(path)
    slug = path.parent.name
    assert import_error([path], sample_project) == [
        f"{path}!自评表!B2: the header block differs from content/departments/{slug}/department.yaml "
        "(correct the workbook, or import with --overwrite to replace it)"]
    assert not (sample_project / f"content/departments/{slug}/2030.yaml").exists()


# --- located errors -----------------------------------------------------------------------

def test_errors_name_file_sheet_and_cell(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = empty_project(Path(__file__).parent.parent, tmp_path / "p")
    filled_template(Path("form.xlsx"), G22="十", A23="产出", B2=None, B3="Wang Cheng", C9="三百")
    assert import_error([Path("form.xlsx")], project) == [
        "form.xlsx!自评表!A23: indicators[3].level1: expected one of 产出指标, 效益指标, 满意度指标, 成本指标, "
        "got \"产出\" (did you mean '产出指标'?)",
        "form.xlsx!自评表!B2: name: required key is missing (部门（单位）名称)",
        "form.xlsx!自评表!B3: slug: expected lowercase letters, digits and hyphens, got \"Wang Cheng\" "
        "(e.g. wangcheng-kexie; it names the folder content/departments/<slug>)",
        "form.xlsx!自评表!C9: funds.sources[0].budget: expected a number ≥ 0, got \"三百\" "
        "(write digits only, without units or quotes)",
        "form.xlsx!自评表!G22: indicators[2].weight: expected a number from 0 to 100, got \"十\" "
        "(write digits only, without units or quotes)",
    ]
    assert not (project / "content" / "departments").exists()


def test_cross_field_rules_and_choices_are_located(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = empty_project(Path(__file__).parent.parent, tmp_path / "p")
    filled_template(Path("form.xlsx"), L20="差不多", F21="10次", G9=5)
    assert import_error([Path("form.xlsx")], project) == [
        "form.xlsx!自评表!F21: indicators[1].actual: a row without content (目标内容) cannot have an actual "
        "(add the content, or leave the row empty)",
        "form.xlsx!自评表!G9: funds.sources[0]: 执行率(%) belongs on the 年度资金总额 row "
        "(leave it empty on a source row)",
        "form.xlsx!自评表!L20: indicators[0].assessment: expected one of 达成, 部分达成, 未达成, got \"差不多\" "
        "(allowed: 达成, 部分达成, 未达成)",
    ]
    filled_template(Path("form2.xlsx"), B20="社会效益指标")
    assert import_error([Path("form2.xlsx")], project) == [
        "form2.xlsx!自评表!B20: indicators[0].level2: expected a level-2 indicator of 产出指标 "
        "(数量指标, 质量指标, 时效指标, 成本指标), got \"社会效益指标\""]


def test_files_that_are_not_workbooks_or_have_unsaved_formulas(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = empty_project(Path(__file__).parent.parent, tmp_path / "p")
    Path("old.xls").write_bytes(b"\xd0\xcf\x11\xe0 not a zip")
    filled_template(Path("formula.xlsx"), C9="=50+50")
    book = openpyxl.load_workbook("formula.xlsx")
    book["自评表"]["C9"] = "=50+50"  # a real formula: openpyxl saves no result for it
    book.save("formula.xlsx")
    assert import_error([Path("old.xls"), Path("formula.xlsx")], project) == [
        "formula.xlsx!自评表!C9: a formula without a saved result "
        "(open the workbook in Excel and save it, or type the value)",
        "old.xls: not an Excel workbook (.xlsx) (this is the old .xls format: open it in Excel and save it as .xlsx)",
    ]


# --- exact values -------------------------------------------------------------------------

def test_numbers_are_read_as_excel_shows_them_never_as_binary_floats(tmp_path):
    project = empty_project(Path(__file__).parent.parent, tmp_path / "p")
    path = filled_template(tmp_path / "form.xlsx", C9=363.88000000000002, D9=0.1 + 0.2, E9="5.560",
                           G4="012001", G20=0.1 + 0.2, H20=2.675, G13=1.1865, F13=10, I4="是")
    book = openpyxl.load_workbook(path)
    ws = book["自评表"]
    ws["E9"].number_format = "@"
    ws["G13"].number_format = "0.00%"  # 118.65 % shown as a percentage
    ws["G20"].number_format = "General"
    ws["H20"].number_format = "General"
    book.save(path)
    import_workbooks([path], project)
    folder = project / "content/departments/demo-x"
    text = (folder / "2023.yaml").read_text(encoding="utf-8")
    # money cells show two decimals (#,##0.00): 0.1+0.2 reads as Excel shows it, 0.30
    assert "- {name: 财政拨款, budget: 363.88, executed: 0.30, transfer: 5.560}" in text
    assert "reported: {rate: 118.65}" in text and "weight: 10\n" in text
    assert "    weight: 0.3\n    score: 2.675\n" in text  # General cells: the number, 15 digits
    assert (folder / "department.yaml").read_text(encoding="utf-8").splitlines()[1:] == [
        "name: 示例局", 'code: "012001"', "fictional: true"]
    report = check_project(project).content.reports[0]
    assert report.sources[0].budget == Decimal("363.88") and str(report.sources[0].executed) == "0.30"
    assert report.indicators[0].weight == Decimal("0.3") and report.reported_funds.rate == Decimal("118.65")
    assert report.department.code == "012001" and report.department.fictional is True


def test_text_that_looks_like_yaml_syntax_stays_text(tmp_path):
    project = empty_project(Path(__file__).parent.parent, tmp_path / "p")
    tricky = {"C20": "012", "D20": "yes", "E20": "=100", "F20": "- 5", "I20": "原因: 见下 #1",
              "J20": "第一行\n  第二行", "N20": "[备注], {x}", "B60": "null", "B61": "'引号' \"双引号\" \\ 反斜杠"}
    path = filled_template(tmp_path / "form.xlsx", **tricky)
    import_workbooks([path], project)
    report = check_project(project).content.reports[0]
    row = report.indicators[0]
    assert (row.level3, row.content, row.target.text, row.actual.text) == ("012", "yes", "=100", "- 5")
    assert (row.reason, row.measures, row.note) == ("原因: 见下 #1", "第一行\n  第二行", "[备注], {x}")
    assert (report.source, report.notes) == ("null", "'引号' \"双引号\" \\ 反斜杠")


def test_several_form_sheets_in_one_workbook(tmp_path):
    project = empty_project(Path(__file__).parent.parent, tmp_path / "p")
    path = filled_template(tmp_path / "form.xlsx")
    book = openpyxl.load_workbook(path)
    copy = book.copy_worksheet(book["自评表"])
    copy.title = "自评表2024"
    copy["G2"] = 2024
    book.save(path)
    files = import_workbooks([path], project)
    assert sorted(p.name for p in files) == ["2023.yaml", "2024.yaml", "department.yaml"]


# --- command line -------------------------------------------------------------------------

def check_json(capsys, project: Path) -> list[dict]:
    """``perfsite check --format json``, finding lines left out (they follow the YAML layout)."""
    assert main(["check", "--format", "json", "-p", str(project)]) == 0
    forms = json.loads(capsys.readouterr().out, parse_float=Decimal)["forms"]
    for form in forms:
        for finding in form["findings"]:
            finding.pop("line")
    return forms


def test_cli_template_fill_import_round_trip(tmp_path, capsys):
    """``perfsite template``, typed in, ``perfsite import``: the record reads back as typed."""
    project = empty_project(Path(__file__).parent.parent, tmp_path / "p")
    book = tmp_path / "t.xlsx"
    assert main(["template", str(book)]) == 0
    assert capsys.readouterr().out.startswith("wrote the fill-in template")
    assert main(["template", str(book)]) == 1  # exists: not replaced without --overwrite
    assert "--overwrite" in capsys.readouterr().err
    fill(book, D20="服务人数", E20="100人次", F20="80人次", G20=50, H20=40, I20="天气")
    assert main(["import", "-p", str(project), str(book)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "imported 1 form from 1 workbook into content/departments (1 department.yaml written)"]
    [form] = check_json(capsys, project)
    assert (form["department"], form["year"]) == ("demo-x", 2023)
    # execution: 90 / 100 → 90.00 %, 10 × 0.9 = 9.00; the row: 50 × 80/100 = 40.00
    assert (form["execution"]["rate"], form["execution"]["score"]) == (Decimal("90.00"), Decimal("9.00"))
    row = form["indicators"][0]
    assert (row["content"], row["target"]["text"], row["actual"]["text"], row["score"], row["reason"]) == (
        "服务人数", "100人次", "80人次", Decimal("40.00"), "天气")
    assert main(["import", "-p", str(project), str(book)]) == 1  # the record exists now
    assert "already exists (import with --overwrite to replace it)" in capsys.readouterr().err


def test_cli_export_import_round_trip(sample_project, tmp_path, capsys):
    """``perfsite export`` then ``perfsite import`` into an empty project: ``check`` says the same."""
    before = check_json(capsys, sample_project)
    assert main(["export", "-p", str(sample_project), "-o", str(tmp_path / "x")]) == 0
    assert capsys.readouterr().out.startswith("exported 33 forms to")  # 26 department-wide, 7 project forms
    target = empty_project(sample_project, tmp_path / "new")
    books = sorted(map(str, (tmp_path / "x").glob("*/*.xlsx")))
    assert len(books) == 33
    assert main(["import", "-p", str(target), *books]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "imported 33 forms from 33 workbooks into content/departments (14 department.yaml written)"]
    assert check_json(capsys, target) == before
    assert main(["export", "-p", str(sample_project), "-o", str(tmp_path / "x")]) == 1  # no silent overwrite
    assert "--overwrite" in capsys.readouterr().err
