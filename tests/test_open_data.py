"""Open data per year, described by a Frictionless Data Package (DESIGN §5, #16 point 1).

Every bulk file exists for all years together (``data/``) and for each year
(``data/by-year/<year>/``); ``data/datapackage.json`` names each CSV's columns and types, and
every cell of every CSV parses as the type it declares (an empty cell is missing, never zero).
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal, InvalidOperation


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
    assert paths == expected + [f"by-year/{y}/{name}" for y in years for name in expected]
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


def test_each_years_files_hold_exactly_that_years_forms(built_sample):
    data = built_sample / "data"
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
