"""The JSON Schema files written by ``perfsite schema --out DIR``, checked by an independent validator.

Editors (VS Code + the YAML extension) validate records with these files, so they must accept
every bundled record, reject the usual mistakes, and speak Chinese in their hover text. The
records are loaded with plain ``yaml.safe_load`` and validated with the ``jsonschema`` package:
nothing of perfsite's own validator is involved, except where the two are compared.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import REPO

from generator.cli import main
from generator.read.records import cross_check
from generator.read.schema import REPORT_SCHEMA
from generator.read.validate import validate
from generator.read.yamlsource import parse_source

KINDS = ["department", "layout", "profile", "report", "site"]
CONTENT = REPO / "content"
RECORDS = sorted(CONTENT.glob("departments/*/[0-9]*.yaml"))
DEPARTMENTS = sorted(CONTENT.glob("departments/*/department.yaml"))
SEED_RECORD = CONTENT / "departments/wangcheng-kexie/2021.yaml"
CJK = re.compile(r"[\u4e00-\u9fff]")


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def load(path: Path) -> object:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("schemas") / "schemas"  # not there yet: --out creates it
    assert main(["schema", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def schemas(schema_dir: Path) -> dict[str, dict]:
    return {kind: json.loads((schema_dir / f"{kind}.schema.json").read_text(encoding="utf-8")) for kind in KINDS}


def validator(schema: dict) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def errors(schema: dict, data: object) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator(schema).iter_errors(data)]


# --------------------------------------------------------------------------- the files


def test_schema_out_writes_every_kind(tmp_path: Path, capsys):
    out = tmp_path / "new" / "schemas"
    assert main(["schema", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"{kind}.schema.json" for kind in KINDS]
    assert capsys.readouterr().out == f"wrote {len(KINDS)} schemas to {out}\n"


@pytest.mark.parametrize("kind", KINDS)
def test_each_file_is_a_valid_2020_12_schema(schema_dir: Path, schemas: dict, kind: str):
    schema = schemas[kind]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/{kind}.schema.json")
    assert jsonschema.validators.validator_for(schema) is jsonschema.Draft202012Validator
    jsonschema.Draft202012Validator.check_schema(schema)
    text = (schema_dir / f"{kind}.schema.json").read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert CJK.search(text) and "\\u" not in text, "Chinese is written as such, not as \\u escapes"


def test_schema_out_is_repeatable(schema_dir: Path, tmp_path: Path):
    """Writing again (into an existing folder) gives the same bytes: safe to keep in version control."""
    assert main(["schema", "--out", str(tmp_path)]) == 0
    assert main(["schema", "--out", str(tmp_path)]) == 0
    for kind in KINDS:
        name = f"{kind}.schema.json"
        assert (tmp_path / name).read_bytes() == (schema_dir / name).read_bytes(), name


def test_printed_schema_matches_the_file(schemas: dict, capsys):
    for kind in KINDS:
        assert main(["schema", kind]) == 0
        assert json.loads(capsys.readouterr().out) == schemas[kind], kind


# --------------------------------------------------------------------------- bundled content validates


def test_bundled_content_is_there():
    # 26 department-wide forms and 7 project forms (4 real, 3 fictional); 14 departments
    assert len(RECORDS) == 33 and len(DEPARTMENTS) == 14
    assert (CONTENT / "site.yaml").is_file()


@pytest.mark.parametrize("path", RECORDS, ids=rel)
def test_every_bundled_record_validates(schemas: dict, path: Path):
    assert errors(schemas["report"], load(path)) == []


@pytest.mark.parametrize("path", DEPARTMENTS, ids=rel)
def test_every_department_validates(schemas: dict, path: Path):
    assert errors(schemas["department"], load(path)) == []


def test_site_yaml_validates(schemas: dict):
    assert errors(schemas["site"], load(CONTENT / "site.yaml")) == []


def test_shipped_base_profile_validates(schemas: dict):
    """The complete shipped profile (the one the others extend) fits the profile schema."""
    assert errors(schemas["profile"], load(REPO / "generator/read/profiles/national.yaml")) == []


# --------------------------------------------------------------------------- broken records are rejected


def _set(path: tuple, value):
    def change(data: dict) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


BROKEN = {
    # name: (change, path of the error, a word of the jsonschema message)
    "unknown-top-level-key": (_set(("indicator",), []), "", "Additional properties"),
    "unknown-indicator-key": (_set(("indicators", 0, "socre"), 10), "indicators.0", "Additional properties"),
    "unknown-source-key": (_set(("funds", "sources", 0, "budgte"), 1), "funds.sources.0", "Additional properties"),
    "text-in-budget": (_set(("funds", "sources", 0, "budget"), "120万元"), "funds.sources.0.budget", "not of type"),
    "text-in-weight": (_set(("indicators", 0, "weight"), "十"), "indicators.0.weight", "not of type"),
    "text-in-year": (_set(("year",), "二〇二一"), "year", "not of type"),
    "level1-typo": (_set(("indicators", 0, "level1"), "产出指表"), "indicators.0.level1", "is not one of"),
    "level2-typo": (_set(("indicators", 0, "level2"), "数量指"), "indicators.0.level2", "is not one of"),
    "money-unit": (_set(("money_unit",), "千元"), "money_unit", "is not one of"),
    "weight-over-100": (_set(("indicators", 0, "weight"), 120), "indicators.0.weight", "greater than the maximum"),
    "negative-budget": (_set(("funds", "sources", 0, "budget"), -1), "funds.sources.0.budget", "less than"),
    "no-funds": (lambda data: data.pop("funds"), "", "'funds' is a required property"),
    "bad-date": (_set(("published",), "2022/03/31"), "published", "does not match"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_record_is_rejected(schemas: dict, name: str):
    change, where, words = BROKEN[name]
    data = copy.deepcopy(load(SEED_RECORD))
    assert errors(schemas["report"], data) == []
    change(data)
    found = [e for e in validator(schemas["report"]).iter_errors(data)
             if ".".join(map(str, e.absolute_path)) == where]
    assert found, errors(schemas["report"], data)
    assert any(words in e.message for e in found), [e.message for e in found]


@pytest.mark.parametrize("name", list(BROKEN))
def test_perfsite_check_agrees(schemas: dict, name: str):
    """perfsite's own validator rejects the same record at the same place (the two do not drift)."""
    change, where, _ = BROKEN[name]
    data = copy.deepcopy(load(SEED_RECORD))
    change(data)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    doc, problems = parse_source(text.encode("utf-8"), "2021.yaml")
    assert problems == []
    paths = [p.path for p in validate(doc, REPORT_SCHEMA) or cross_check(doc, 2021)]
    dotted = [re.sub(r"\[(\d+)\]", r".\1", p) for p in paths]
    # jsonschema places unknown and missing keys at their mapping, perfsite at the key itself
    assert any(d == where or d.startswith(where + ".") if where else "." not in d for d in dotted), paths


def test_broken_department_and_site_are_rejected(schemas: dict):
    department = load(DEPARTMENTS[0])
    assert errors(schemas["department"], {**department, "nmae": "x"})
    assert errors(schemas["department"], {**department, "fictional": "是"})
    assert errors(schemas["department"], {"region": "x"}), "name is required"
    site = load(CONTENT / "site.yaml")
    assert errors(schemas["site"], {**site, "languge": "zh-CN"})
    assert errors(schemas["site"], {**site, "language": "zh"})
    assert errors(schemas["site"], {**site, "search": "yes"})
    assert errors(schemas["site"], {**site, "base_url": "example.org"})
    assert errors(schemas["site"], {**site, "profile_options": {"execution": {"weight": "十"}}})


# --------------------------------------------------------------------------- Chinese hover text


def test_key_titles_are_chinese(schemas: dict):
    report = schemas["report"]["properties"]
    indicator = report["indicators"]["items"]["properties"]
    source = report["funds"]["properties"]["sources"]["items"]["properties"]
    assert report["funds"]["title"] == "资金情况"
    assert report["year"]["title"] == "年度"
    assert report["money_unit"]["title"] == "金额单位"
    assert report["indicators"]["title"] == "年度绩效指标"
    assert report["funds"]["properties"]["sources"]["title"] == "资金来源"
    assert source["budget"]["title"] == "全年预算数（A）"
    assert source["executed"]["title"] == "全年执行数（B）"
    assert indicator["level1"]["title"] == "一级指标"
    assert indicator["level2"]["title"] == "二级指标"
    assert indicator["target"]["title"] == "目标值"
    assert indicator["actual"]["title"] == "完成值"
    assert schemas["department"]["properties"]["name"]["title"] == "部门（单位）名称"
    assert schemas["site"]["properties"]["title"]["title"] == "站点名称"
    assert schemas["site"]["properties"]["search"]["title"] == "全文搜索"
    for kind in KINDS:
        assert CJK.search(schemas[kind]["title"]), kind


def _titles(schema: dict, path: str):
    for key, sub in schema.get("properties", {}).items():
        yield f"{path}.{key}", sub
        yield from _titles(sub, f"{path}.{key}")
    if isinstance(schema.get("items"), dict):
        yield from _titles(schema["items"], f"{path}[]")


@pytest.mark.parametrize("kind", ["report", "department"])
def test_every_record_field_has_chinese_title_and_description(schemas: dict, kind: str):
    fields = list(_titles(schemas[kind], kind))
    assert len(fields) >= 5
    assert [p for p, sub in fields if not CJK.search(sub.get("title", ""))] == []
    assert [p for p, sub in fields if sub.get("description") and not CJK.search(sub["description"])] == []


def test_every_site_field_has_chinese_title(schemas: dict):
    top = schemas["site"]["properties"]
    assert [key for key, sub in top.items() if not CJK.search(sub.get("title", ""))] == []


def _layout_branch(schemas: dict, name: str) -> dict:
    branch = next(b for b in schemas["report"]["allOf"] if name in json.dumps(b["if"], ensure_ascii=False))
    return branch["then"]["properties"]["indicators"]["items"]["properties"]


def test_level1_choices_are_the_official_names(schemas: dict):
    """Editors check level names per layout, as the reader does; no layout named: the national one."""
    national = _layout_branch(schemas, "national-department")
    assert national["level1"]["enum"] == ["产出指标", "效益指标", "满意度指标", "成本指标"]
    assert "数量指标" in national["level2"]["enum"] and "服务对象满意度指标" in national["level2"]["enum"]
    hunan = _layout_branch(schemas, "hunan-department-evaluation")
    assert hunan["level1"]["enum"] == ["投入", "过程", "产出", "效果"] and "level2" not in hunan
    seed = load(SEED_RECORD)
    assert not errors(schemas["report"], seed)
    assert errors(schemas["report"], {**seed, "layout": "hunan-department-evaluation"}), "national names refused"
    assert errors(schemas["report"], {**seed, "form": "project", "layout": "sichuan-project",
                                      "indicators": [{"level1": "投入", "level2": "x"}]})


# --------------------------------------------------------------------------- known drift


def test_empty_optional_value_is_accepted_by_both(schemas: dict):
    text = SEED_RECORD.read_text(encoding="utf-8").replace("\nfunds:", "\nproject:\nfunds:", 1)
    doc, problems = parse_source(text.encode("utf-8"), "2021.yaml")
    assert problems == [] and validate(doc, REPORT_SCHEMA) == []  # perfsite: fine
    assert errors(schemas["report"], yaml.safe_load(text)) == []  # the editor's schema: should be too


def test_profile_options_fields_have_chinese_titles(schemas: dict):
    options = schemas["site"]["properties"]["profile_options"]
    untitled = [p for p, sub in _titles(options, "profile_options") if not CJK.search(sub.get("title", ""))]
    assert untitled == []
