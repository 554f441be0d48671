"""``perfsite new``: a scaffolded record carries last year's indicators and says what to fill."""

from __future__ import annotations

import json

import jsonschema
import yaml

from generator.cli import main


def test_new_year_carries_last_years_indicators_as_targets(sample_project, capsys):
    assert main(["new", "-p", str(sample_project), "demo-jiaoyu", "2024"]) == 0
    record = sample_project / "content/departments/demo-jiaoyu/2024.yaml"
    text = record.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../../../schemas/report.schema.json\n")
    data = yaml.safe_load(text)
    last = yaml.safe_load((sample_project / "content/departments/demo-jiaoyu/2023.yaml").read_text(encoding="utf-8"))
    assert [(r["content"], r["target"], r["weight"]) for r in data["indicators"]] == [
        (r["content"], r["target"], r["weight"]) for r in last["indicators"]]
    assert all(r["actual"] is None and r["score"] is None for r in data["indicators"])
    assert [s["name"] for s in data["funds"]["sources"]] == [s["name"] for s in last["funds"]["sources"]]
    # the empty amounts are exactly what check asks for, located
    assert main(["check", "-p", str(sample_project)]) == 1
    err = capsys.readouterr().err
    assert "content/departments/demo-jiaoyu/2024.yaml:10:30: funds.sources[0].budget: required key has no value" in err


def test_new_department_needs_a_name_and_writes_schemas(sample_project, capsys):
    assert main(["new", "-p", str(sample_project), "demo-new", "2024"]) == 1
    assert "give its name with --name" in capsys.readouterr().err
    assert main(["new", "-p", str(sample_project), "demo-new", "2024", "--name", "新部门: \"引号\""]) == 0
    info = yaml.safe_load((sample_project / "content/departments/demo-new/department.yaml").read_text(encoding="utf-8"))
    assert info == {"name": "新部门: \"引号\""}
    schema = json.loads((sample_project / "schemas/report.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)


def test_new_never_overwrites(sample_project, capsys):
    record = sample_project / "content/departments/wangcheng-kexie/2021.yaml"
    before = record.read_bytes()
    assert main(["new", "-p", str(sample_project), "wangcheng-kexie", "2021"]) == 1
    assert "already exists; nothing was changed" in capsys.readouterr().err
    assert record.read_bytes() == before


def test_new_refuses_unsafe_slugs(sample_project, capsys):
    assert main(["new", "-p", str(sample_project), "../evil", "2024", "--name", "x"]) == 1
    assert not (sample_project / "content/evil").exists()


def test_new_refuses_a_name_that_check_would_refuse(sample_project, capsys):
    """It used to write the control character into department.yaml, which check then refused."""
    assert main(["new", "-p", str(sample_project), "demo-new", "2024", "--name", "新\x01部门"]) == 1
    assert capsys.readouterr().err == ("perfsite: --name: expected printable text, got the control character "
                                       "U+0001 (remove it: it cannot be shown or published)\n")
    assert not (sample_project / "content/departments/demo-new").exists()


def test_new_never_writes_through_a_link(sample_project, tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    (sample_project / "content/departments/demo-linked").symlink_to(outside, target_is_directory=True)
    assert main(["new", "-p", str(sample_project), "demo-linked", "2024", "--name", "部门"]) == 1
    assert capsys.readouterr().err.startswith(
        "perfsite: content/departments/demo-linked: a symbolic link to outside the project: never read or published")
    assert list(outside.iterdir()) == []


def test_new_never_writes_schemas_through_a_link(sample_project, tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    (sample_project / "schemas").symlink_to(outside, target_is_directory=True)
    assert main(["new", "-p", str(sample_project), "demo-jiaoyu", "2024"]) == 1
    assert capsys.readouterr().err.startswith("perfsite: schemas: a symbolic link to outside the project")
    assert list(outside.iterdir()) == []
    assert not (sample_project / "content/departments/demo-jiaoyu/2024.yaml").exists()
