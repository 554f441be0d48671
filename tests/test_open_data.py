"""Open data per year, described by a Frictionless Data Package (DESIGN §5, #16 point 1).

Every bulk file exists for each year (``data/by-year/<year>/``), and for all years together
(``data/``) only when ``site.yaml`` asks (``all_years_downloads``: a file listing every form is
rewritten by every edit); ``data/datapackage.json`` names each CSV's columns and types, and
every cell of every CSV parses as the type it declares (an empty cell is missing, never zero).
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal, InvalidOperation

import pytest
from conftest import REPO, copy_project

from generator.build.run import build


def read_csv(path) -> list[dict]:
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_the_data_package_describes_every_bulk_file(built_sample):
    data = built_sample / "data"
    package = json.loads((data / "datapackage.json").read_text(encoding="utf-8"))
    assert package["profile"] == "tabular-data-package"
    years = sorted(p.name for p in (data / "by-year").iterdir())
    assert years and all(y.isdigit() for y in years)
    paths = [r["path"] for r in package["resources"]]
    expected = ["reports.csv", "indicators.csv", "reports.json"]
    assert paths == [f"by-year/{y}/{name}" for y in years for name in expected]
    assert not any((data / name).exists() for name in expected)  # all years together: only when asked for
    assert len({r["name"] for r in package["resources"]}) == len(paths)
    for resource in package["resources"]:
        path = data / resource["path"]
        assert path.is_file(), resource["path"]
        if resource["format"] == "json":
            assert isinstance(json.loads(path.read_text(encoding="utf-8"))["forms"], list)
            continue
        fields = resource["schema"]["fields"]
        rows = read_csv(path)
        text = path.read_bytes().decode("utf-8-sig")
        assert text.split("\r\n", 1)[0].split(",") == [f["name"] for f in fields]
        for row in rows:
            for field in fields:
                value = row[field["name"]]
                if value == "":
                    continue
                if field["type"] == "integer":
                    assert value.lstrip("-").isdigit(), (resource["path"], field["name"], value)
                elif field["type"] == "number":
                    try:
                        Decimal(value)
                    except InvalidOperation:  # pragma: no cover - the message is the point
                        raise AssertionError((resource["path"], field["name"], value)) from None
                elif field["type"] == "boolean":
                    assert value in ("true", "false"), (resource["path"], field["name"], value)


@pytest.fixture(scope="module")
def all_years_sample(tmp_path_factory):
    project = copy_project(REPO, tmp_path_factory.mktemp("all-years"))
    site_yaml = project / "content/site.yaml"
    site_yaml.write_text(site_yaml.read_text(encoding="utf-8") + "all_years_downloads: true\n", encoding="utf-8")
    return build(project).out_dir


def test_the_overview_links_each_years_files_and_the_package(built_sample, all_years_sample):
    home = (built_sample / "index.html").read_text(encoding="utf-8")
    for year in (p.name for p in (built_sample / "data/by-year").iterdir()):
        for name in ("reports.json", "reports.csv", "indicators.csv"):
            assert f'href="data/by-year/{year}/{name}"' in home
    assert 'href="data/datapackage.json"' in home and 'href="data/reports.json"' not in home
    year = (built_sample / "2023/index.html").read_text(encoding="utf-8")
    assert 'href="../data/by-year/2023/indicators.csv"' in year
    assert 'href="data/reports.json"' in (all_years_sample / "index.html").read_text(encoding="utf-8")


def test_asked_for_all_years_files_come_first_in_the_package(all_years_sample):
    package = json.loads((all_years_sample / "data/datapackage.json").read_text(encoding="utf-8"))
    paths = [r["path"] for r in package["resources"]]
    assert paths[:3] == ["reports.csv", "indicators.csv", "reports.json"]
    assert all(p.startswith("by-year/") for p in paths[3:]) and len(paths) > 3


def test_each_years_files_hold_exactly_that_years_forms(all_years_sample):
    data = all_years_sample / "data"
    every = read_csv(data / "reports.csv")
    indicators = read_csv(data / "indicators.csv")
    forms = json.loads((data / "reports.json").read_text(encoding="utf-8"))["forms"]
    split_rows, split_indicators, split_forms = [], [], []
    for folder in sorted((data / "by-year").iterdir()):
        year = folder.name
        rows = read_csv(folder / "reports.csv")
        assert rows and {r["year"] for r in rows} == {year}
        split_rows += rows
        these = read_csv(folder / "indicators.csv")
        assert {r["year"] for r in these} <= {year}
        split_indicators += these
        split_forms += json.loads((folder / "reports.json").read_text(encoding="utf-8"))["forms"]
    key = lambda r: (r["department"], r["year"], r["project_id"])  # noqa: E731
    assert sorted(split_rows, key=key) == sorted(every, key=key)
    assert len(split_indicators) == len(indicators)
    assert sorted(json.dumps(f, sort_keys=True) for f in split_forms) == sorted(json.dumps(f, sort_keys=True)
                                                                                 for f in forms)
    assert any(r["form"] == "project" for r in every)
