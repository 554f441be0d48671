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
        "blank.xlsx!自评表!A8: funds: expected the funds rows: a source row, or the 年度资金总额 row "
        "(type the amounts as printed; if the source does not show them, choose 资金情况 under 未转录的部分)",
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
        f"{f.report.department.slug}/{Path(f.report.src_path).stem}.xlsx" for f in original.forms)
    assert "lijiang-gucheng-ziranziyuan/2020-weipian-zhifa.xlsx" in {p.relative_to(tmp_path / "xlsx").as_posix()
                                                                    for p in written}

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
        "form.xlsx!自评表!A23: indicators[3].level1: expected a level-1 indicator of layout national-department "
        "(产出指标, 效益指标, 满意度指标, 成本指标), got \"产出\" (did you mean '产出指标'?)",
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
    filled_template(Path("form.xlsx"), L20="差不多", F21="10次", F9=5)
    assert import_error([Path("form.xlsx")], project) == [
        "form.xlsx!自评表!F21: indicators[1].actual: a row without content (目标内容) cannot have an actual "
        "(add the content, or leave the row empty)",
        "form.xlsx!自评表!F9: funds.sources[0]: 分值 belongs on the 年度资金总额 row "
        "(leave it empty on a source row)",
        "form.xlsx!自评表!L20: indicators[0].assessment: expected one of 达成, 部分达成, 未达成, got \"差不多\" "
        "(allowed: 达成, 部分达成, 未达成)",
    ]
    filled_template(Path("form2.xlsx"), B20="社会效益指标")
    assert import_error([Path("form2.xlsx")], project) == [
        "form2.xlsx!自评表!B20: indicators[0].level2: expected a level-2 indicator of 产出指标 "
        "(数量指标, 质量指标, 时效指标, 成本指标), got \"社会效益指标\" (did you mean '时效指标'?)"]


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


# --- layouts, project forms and every field of the record (#11) ---------------------------

NEW_FIELDS = {
    "demo-x/department.yaml": "name: 示例局\ncode: \"00120\"\n",
    # a national project form: project header, profile, per-source rate/score, illegible cells of a
    # source and of the 年度资金总额 row, nature/unit, core, note, illegible level2, untranscribed parts
    "demo-x/2023-keji-puji.yaml": """\
year: 2023
form: project
project: 科普惠民项目
project_code: "0012300"
authority: 示例市科学技术协会
implementer: 示例市科技馆
profile: national
money_unit: 万元
funds:
  weight: 10
  sources:
    - {name: 当年财政拨款, initial_budget: 80, budget: 100, executed: 95.50, rate: 95.50, score: 9.55}
    - {name: 上年结转资金, budget: 20, illegible: [executed, rate]}
  reported: {initial_budget: 80, budget: 120, rate: 95.5, score: 9.55, illegible: [executed]}
goals:
  planned: |
    开展科普活动。
  achieved: |
    完成。
indicators:
  - {level1: 产出指标, level2: 数量指标, level3: 科普活动场次, nature: "≥", target: 20, unit: 场, actual: 22,
     weight: 20, score: 20}
  - {level1: 产出指标, level2: 质量指标, level3: 参与满意率, nature: "=", target: 100, unit: "%", actual: 98,
     weight: 20, score: 19, reason: 个别活动延期, note: 原表手写}
  - {level1: 效益指标, level3: 公众科学素质, nature: 定性, target: 提升, actual: 有所提升, weight: 30,
     illegible: [score], untranscribed: [level2]}
  - {level1: 满意度指标, level2: 服务对象满意度指标, level3: 参与者满意度, nature: "≥", target: 90, unit: "%",
     actual: 95, weight: 10, score: 10, core: true}
reported: {total: 88.55, grade: 良}
source: 虚构测试数据
source_url: https://example.org/keji-puji/2023.pdf
notes: |
  第 3 行的二级指标无法辨认。
untranscribed:
  - {part: other, note: 附件未转录}
""",
    # 四川 510000_0013zp: its own words, rate before weight, nature and unit columns; no form: key
    "demo-x/2023-shuili-weixiu.yaml": """\
year: 2023
layout: sichuan-project
project: 水利设施维修
project_code: 51142522R000000012345
money_unit: 万元
funds:
  weight: 10
  sources:
    - {name: 财政资金, initial_budget: 50, budget: 60, executed: 57, rate: 95, score: 9.5}
    - {name: 单位资金, budget: 5, executed: 5}
  reported: {initial_budget: 50, budget: 65, executed: 62, rate: 95.38, score: 9.54}
indicators:
  - {level1: 产出指标, level2: 数量指标, level3: 维修渠道长度, nature: "≥", target: 12, unit: 公里, actual: 12.5,
     weight: 30, score: 30}
  - {level1: 产出指标, level2: 时效指标, level3: 完工及时率, nature: "=", target: 100, unit: "%", actual: 100,
     weight: 20, score: 20}
  - {level1: 效益指标, level2: 社会效益指标, level3: 灌溉面积, nature: 正向, target: 提高, actual: 提高, weight: 30,
     score: 28, reason: 部分渠段延期}
""",
    # 重庆: 得分系数 and 是否核心指标, no 目标内容 column (三级指标 names the row)
    "demo-x/2022.yaml": """\
year: 2022
layout: chongqing-department
funds:
  weight: 10
  sources:
    - {name: 财政拨款, budget: 500, executed: 480}
  reported: {budget: 500, executed: 480, rate: 96, score: 9.6}
functions: |
  负责示例工作。
indicators:
  - {level1: 产出指标, level2: 数量指标, level3: 培训人次, target: ≥500人次, actual: 520人次, weight: 20,
     coefficient: 100, score: 20, core: true}
  - {level1: 效益指标, level2: 社会效益指标, level3: 群众知晓率, target: ≥80%, actual: 75%, weight: 20,
     coefficient: 90, score: 18, core: false, reason: 宣传不足}
""",
    # illegible fund amounts, the total row's too, and parts not transcribed
    "demo-x/2021.yaml": """\
year: 2021
funds:
  sources:
    - {name: 财政拨款, budget: 300, illegible: [executed]}
  reported: {budget: 300, illegible: [executed, rate, score]}
untranscribed:
  - {part: indicators, note: 存档副本缺第 2 页}
  - {part: total}
""",
    # nothing of the funds table was transcribed
    "demo-y/department.yaml": "name: 另一局\n",
    "demo-y/2020.yaml": """\
year: 2020
funds: {}
indicators:
  - {level1: 产出指标, level2: 数量指标, content: 培训人次, target: 100人次, actual: 100人次, weight: 10, score: 10}
untranscribed:
  - {part: funds, note: 资金表缺页}
""",
}


def project_with(root: Path, files: dict[str, str], site: str = "title: 测试站点\nprofile: deviation\n") -> Path:
    (root / "content/departments").mkdir(parents=True)
    (root / "content/site.yaml").write_text(site, encoding="utf-8")
    for name, text in files.items():
        path = root / "content/departments" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


PROSE = {("functions",), ("goals", "planned"), ("goals", "achieved"), ("notes",)}


def same_data(a: object, b: object, path: tuple = ()) -> list[str]:
    """Where two records' YAML data differ: types and written digits count (1.50 is not 1.5); prose
    may differ by its final line break alone (a workbook cell cannot show it; the reader strips it)."""
    if path in PROSE and isinstance(a, str) and isinstance(b, str):
        return [] if a.rstrip("\n") == b.rstrip("\n") else [f"{path}: {a!r} != {b!r}"]
    if type(a) is not type(b):
        return [f"{path}: {a!r} != {b!r}"]
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a)} != {sorted(b)}"]
        return [d for k in a for d in same_data(a[k], b[k], path + (k,))]
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in same_data(x, y, path + (i,))]
    return [] if str(a) == str(b) else [f"{path}: {a!r} != {b!r}"]


def record_data(project: Path) -> dict[str, object]:
    from generator.read.config import load_config
    from generator.read.records import read_content

    return {r.src_path: r.doc.data for r in read_content(load_config(project)).reports}


def test_every_new_field_survives_export_and_import(tmp_path):
    source = project_with(tmp_path / "a", NEW_FIELDS)
    original = check_project(source)
    books = export_records(source, tmp_path / "xlsx")
    assert sorted(p.relative_to(tmp_path / "xlsx").as_posix() for p in books) == [
        "demo-x/2021.xlsx", "demo-x/2022.xlsx", "demo-x/2023-keji-puji.xlsx", "demo-x/2023-shuili-weixiu.xlsx",
        "demo-y/2020.xlsx"]
    target = project_with(tmp_path / "b", {})
    written = import_workbooks(books, target)
    assert sorted(p.relative_to(target / "content/departments").as_posix() for p in written) == sorted(
        name for name in NEW_FIELDS)
    before, after = record_data(source), record_data(target)
    assert before.keys() == after.keys()
    for rel in before:
        assert same_data(before[rel], after[rel]) == [], rel
    again = check_project(target)
    assert again.content.reports == original.content.reports  # the model, layouts and Decimals included
    assert [comparable(f) for f in again.forms] == [comparable(f) for f in original.forms]
    text = (target / "content/departments/demo-x/2023-keji-puji.yaml").read_text(encoding="utf-8")
    assert 'project_code: "0012300"' in text
    assert "  reported: {initial_budget: 80, budget: 120, rate: 95.5, score: 9.55, illegible: [executed]}" in text
    assert "    - {name: 上年结转资金, budget: 20, illegible: [executed, rate]}" in text
    assert "untranscribed:\n  - {part: other, note: 附件未转录}\n" in text
    assert "nature: \"=\"" in text and "    illegible: [score]\n    untranscribed: [level2]\n" in text
    # exporting the imported records gives the same workbooks, byte for byte
    for first, other in zip(books, export_records(target, tmp_path / "xlsx2"), strict=True):
        assert first.read_bytes() == other.read_bytes(), first


def test_export_of_a_project_form_reads_like_the_official_form(tmp_path):
    source = project_with(tmp_path / "a", NEW_FIELDS)
    export_records(source, tmp_path / "xlsx")
    ws = openpyxl.load_workbook(tmp_path / "xlsx/demo-x/2023-keji-puji.xlsx")["自评表"]
    assert ws["A1"].value == "项目支出绩效自评表"
    assert (ws["B5"].value, ws["I6"].value, ws["B7"].value, ws["G7"].value, ws["I7"].value) == (
        "科普惠民项目", "keji-puji", "示例市科学技术协会", "0012300", "示例市科技馆")
    assert (ws["H3"].value, ws["I3"].value, ws["F6"].value, ws["G6"].value) == (
        "表的种类", "项目支出", "评分规则", "national")
    assert [c.value for c in ws[9]][:7] == [
        "资金来源", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率(%)", "得分"]
    assert [c.value for c in ws[10]][:7] == ["年度资金总额", 80, 120, ILLEGIBLE, 10, 95.5, 9.55]
    assert [c.value for c in ws[11]][:7] == ["其中：当年财政拨款", 80, 100, 95.5, None, 95.5, 9.55]
    assert [c.value for c in ws[12]][:7] == ["上年结转资金", None, 20, ILLEGIBLE, None, ILLEGIBLE, None]
    header = next(r for r in ws.iter_rows() if r[0].value == "一级指标")
    assert [c.value for c in header][:11] == ["一级指标", "二级指标", "三级指标", "指标性质", "年度指标值", "度量单位",
                                             "实际完成值", "分值", "得分", "是否核心指标", "偏差原因分析及改进措施"]
    third = ws[header[0].row + 3]
    assert [c.value for c in third][:9] == ["效益指标", "【未转录】", "公众科学素质", "定性", "提升", None,
                                           "有所提升", 30, ILLEGIBLE]
    label = next(r for r in ws.iter_rows() if r[0].value == "未转录的部分")
    assert [c.value for c in ws[label[0].row + 1]][:2] == ["其他", "附件未转录"]
    sichuan = openpyxl.load_workbook(tmp_path / "xlsx/demo-x/2023-shuili-weixiu.xlsx")["自评表"]
    assert (sichuan["I3"].value, sichuan["I5"].value) == (None, "sichuan-project")  # form: and layout: as written
    assert [c.value for c in sichuan[9]][:7] == [
        "资金来源", "年初预算数", "调整后预算数", "执行数", "执行率(%)", "权重", "得分"]


@pytest.mark.parametrize("name", sorted(p.stem for p in (Path(__file__).parent.parent
                                                         / "generator/read/layouts").glob("*.yaml")))
def test_a_template_for_every_shipped_layout_uses_its_words_and_level_names(tmp_path, name):
    from generator.read.layouts import shipped_layout

    layout = shipped_layout(name)
    path = tmp_path / "t.xlsx"
    assert main(["template", "--layout", name, str(path)]) == 0
    ws = openpyxl.load_workbook(path)["自评表"]
    assert ws["A1"].value == {"department": "部门整体支出绩效自评表", "project": "项目支出绩效自评表"}[layout.form]
    assert ws["I5"].value == name
    header = next(r for r in ws.iter_rows() if r[0].value == "一级指标")
    shown = [c.value for c in header if c.value is not None]
    norm = [h.replace("（", "(").replace("）", ")") for h in shown]
    assert norm[:len(layout.indicator_columns)] == [c.header.replace("（", "(").replace("）", ")")
                                                    for c in layout.indicator_columns]
    assert len(set(norm)) == len(norm)
    funds = next(r for r in ws.iter_rows() if r[0].value == "资金来源")
    words = [c.value for c in funds if c.value is not None]
    for column in layout.fund_columns:
        assert any(w.startswith(column.header.replace("（", "(").replace("）", ")")) for w in words), column
    first_row = header[0].row + 1
    lists = {str(dv.sqref)[0]: dv.formula1.strip('"').split(",") for dv in ws.data_validations.dataValidation
             if str(dv.sqref).startswith((f"A{first_row}:", f"B{first_row}:"))}
    assert lists["A"] == list(layout.levels)
    if all(layout.levels.values()):
        assert lists["B"] == list(dict.fromkeys(n for names in layout.levels.values() for n in names))
    else:
        assert "B" not in lists  # open 二级 names: no drop-down
    first = ws[header[0].row + 1]
    assert first[0].value == next(iter(layout.levels))
    assert "成本指标" not in [ws.cell(row, 1).value for row in range(header[0].row + 1, header[0].row + 10)]


def fill_project(path: Path, layout: str = "national-project", rows: list[dict] | None = None, **cells) -> Path:
    """A project template with a minimal valid project form typed in, then ``cells``; ``rows`` are
    indicator rows (column letter → value) from the first row of the indicator table."""
    write_template(path, layout=layout, overwrite=True)
    book = openpyxl.load_workbook(path)
    ws = book["自评表"]
    first = next(r for r in ws.iter_rows() if r[0].value == "一级指标")[0].row + 1
    values = {"B2": "示例局", "B3": "demo-x", "G2": 2023, "B5": "科普惠民项目", "I6": "keji-puji",
              "C10": 100, "D10": 90}
    rows = rows or [{"A": "产出指标", "B": "数量指标", "C": "科普活动场次", "D": "≥", "E": 20, "F": "场", "G": 22,
                     "H": 10, "I": 10}]
    for index, row in enumerate(rows):
        values.update({f"{column}{first + index}": value for column, value in row.items()})
    values.update(cells)
    for coordinate, value in values.items():
        ws[coordinate] = value
    book.save(path)
    return path


def test_a_filled_project_template_imports_as_year_dash_project(tmp_path):
    project = project_with(tmp_path / "p", {})
    path = fill_project(tmp_path / "form.xlsx", B7="示例市科协", G7="0012300", I7="示例市科技馆", C11=60, D11=55)
    assert import_workbooks([path], project) == [project / "content/departments/demo-x/2023-keji-puji.yaml",
                                                 project / "content/departments/demo-x/department.yaml"]
    [report] = check_project(project).content.reports
    assert (report.form, report.project_id, report.project, report.project_code, report.authority,
            report.implementer, report.layout.name) == (
        "project", "keji-puji", "科普惠民项目", "0012300", "示例市科协", "示例市科技馆", "national-project")
    assert report.reported_funds.budget == Decimal("100")
    assert [(s.name, s.budget, s.executed) for s in report.sources] == [("当年财政拨款", 60, 55)]
    row = report.indicators[0]
    assert (row.nature, row.unit, row.target.text, row.target.comparator, row.target.unit) == (
        "≥", "场", "20", ">=", "场")


def test_the_project_id_is_required_on_a_project_form_and_must_be_a_safe_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = project_with(tmp_path / "p", {})
    fill_project(Path("none.xlsx"), I6=None, G7="51142522R0001")
    fill_project(Path("bad.xlsx"), I6="Keji Puji")
    fill_project(Path("path.xlsx"), I6="../keji")
    assert import_error([Path("none.xlsx"), Path("bad.xlsx"), Path("path.xlsx")], project) == [
        "bad.xlsx!自评表!I6: project_id: expected lowercase letters, digits and hyphens, got \"Keji Puji\" "
        "(e.g. keji-puji; it names the file content/departments/<slug>/<year>-<项目标识>.yaml)",
        "none.xlsx!自评表!I6: project_id: required for a project form: the file name (项目标识), saved as "
        "<year>-<项目标识>.yaml (lowercase letters, digits and hyphens, e.g. 51142522r0001, the 项目编码 in lowercase)",
        "path.xlsx!自评表!I6: project_id: expected lowercase letters, digits and hyphens, got \"../keji\" "
        "(e.g. keji-puji; it names the file content/departments/<slug>/<year>-<项目标识>.yaml)",
    ]
    assert not (project / "content/departments/demo-x").exists()


def test_a_department_sheet_cannot_hold_a_project_form_without_its_project_id(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = project_with(tmp_path / "p", {})
    filled_template(Path("form.xlsx"), I3="项目支出")
    assert import_error([Path("form.xlsx")], project) == [
        "form.xlsx!自评表: project_id: a project form needs the label 项目标识 above the funds table: it names the "
        "file <year>-<项目标识>.yaml (start from a project template, e.g. perfsite template --layout national-project)"]


def test_two_sheets_for_the_same_project_are_refused(tmp_path):
    project = project_with(tmp_path / "p", {})
    path = fill_project(tmp_path / "form.xlsx")
    book = openpyxl.load_workbook(path)
    book.copy_worksheet(book["自评表"]).title = "自评表2"
    book.save(path)
    assert import_error([path], project) == [
        f"{path}!自评表2!I6: project_id: content/departments/demo-x/2023-keji-puji.yaml is also in {path}!自评表 "
        "(import each form once)"]


def test_level_names_are_checked_against_the_layout_of_the_sheet(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = project_with(tmp_path / "p", {})
    fill_project(Path("sichuan.xlsx"), layout="sichuan-project", rows=[
        {"A": "产出指标", "B": "数量指标", "C": "维修渠道长度", "H": 10, "I": 10},
        {"A": "成本指标", "B": "经济成本指标", "C": "成本", "H": 10, "I": 10}])
    fill_project(Path("unknown.xlsx"), I5="national-projekt")
    assert import_error([Path("sichuan.xlsx"), Path("unknown.xlsx")], project) == [
        "sichuan.xlsx!自评表!A23: indicators[1].level1: expected a level-1 indicator of layout sichuan-project "
        "(产出指标, 效益指标, 满意度指标), got \"成本指标\"",
        # an unknown layout: check cannot tell that 三级指标 names the row (as for a YAML record)
        "unknown.xlsx!自评表!E21: indicators[0].target: a row without content (目标内容) cannot have a target "
        "(add the content, or leave the row empty)",
        "unknown.xlsx!自评表!G21: indicators[0].actual: a row without content (目标内容) cannot have an actual "
        "(add the content, or leave the row empty)",
        "unknown.xlsx!自评表!I5: layout: expected one of the shipped layouts (chongqing-department, "
        "hunan-department-evaluation, national-department, national-project, ningxia-yinchuan-department, "
        "sichuan-project), got \"national-projekt\" (did you mean 'national-project'?)",
    ]


def test_the_sites_default_layout_applies_to_a_sheet_that_names_none(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = project_with(tmp_path / "p", {}, site="title: 测试站点\nlayouts: {department: chongqing-department}\n")
    filled_template(Path("form.xlsx"), A21="成本指标", B21="经济成本指标")
    assert import_error([Path("form.xlsx")], project) == [
        "form.xlsx!自评表!A21: indicators[1].level1: expected a level-1 indicator of layout chongqing-department "
        "(产出指标, 效益指标, 满意度指标), got \"成本指标\""]


def test_a_workbook_from_before_layouts_still_reads_its_form_kind(tmp_path):
    project = project_with(tmp_path / "p", {})
    path = filled_template(tmp_path / "old.xlsx", H3="表样", I3="部门整体支出", H5=None, I5=None)
    import_workbooks([path], project)
    text = (project / "content/departments/demo-x/2023.yaml").read_text(encoding="utf-8")
    assert "form: department\n" in text and "layout" not in text


def test_untranscribed_parts_and_per_source_scores_from_a_typed_template(tmp_path):
    project = project_with(tmp_path / "p", {})
    path = filled_template(tmp_path / "form.xlsx", G9=90, H9=9, D13=ILLEGIBLE, A65="绩效指标", B65="缺第 2 页",
                           A66="scores", G6="national")
    import_workbooks([path], project)
    text = (project / "content/departments/demo-x/2023.yaml").read_text(encoding="utf-8")
    assert "profile: national\n" in text
    # typed into the template's 0.00 cells: read as shown
    assert "    - {name: 财政拨款, budget: 100.00, executed: 90.00, rate: 90.00, score: 9.00}\n" \
           "  reported: {illegible: [executed]}\n" in text
    assert "untranscribed:\n  - {part: indicators, note: 缺第 2 页}\n  - {part: scores}\n" in text
    report = check_project(project).content.reports[0]
    assert [(u.part, u.note) for u in report.untranscribed] == [("indicators", "缺第 2 页"), ("scores", "")]
    assert report.reported_funds.illegible == ("executed",) and report.profile_name == "national"
    assert (report.sources[0].rate, report.sources[0].score) == (90, 9)


def test_a_header_word_names_one_field_in_every_shipped_layout():
    """Import finds a column by its words in any shipped layout: no word may mean two fields."""
    from generator.excel.layout import FUND_FIELDS, INDICATOR_FIELDS, norm_label, sheet_header
    from generator.read.layouts import shipped_rules

    for funds, table in ((True, FUND_FIELDS), (False, INDICATOR_FIELDS)):
        meaning = {norm_label(header): {key} for key, (header, *_) in table.items()}
        for layout in shipped_rules().layouts.values():
            for column in layout.fund_columns if funds else layout.indicator_columns:
                for word in (column.header, sheet_header(column.field, column.header)):
                    meaning.setdefault(norm_label(word), set()).add(column.field)
        assert {word: keys for word, keys in meaning.items() if len(keys) > 1} == {}
