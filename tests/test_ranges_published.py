"""What the site publishes about the sample's real form, whose training row is illegible.

Its legible parts give 87.95; the form's 分值 add up to 100, so the illegible row weighs 10 and
the total lies in 87.95–97.95 (DESIGN §3.4, §7). Every page and download must say so: a range,
a range of grades, and the printed 94.52 neither confirmed nor called wrong.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

FORM = "departments/wangcheng-kexie/2021"


def test_form_page_shows_the_range_beside_the_printed_total(built_sample):
    page = (built_sample / FORM / "index.html").read_text(encoding="utf-8")
    assert page.count('<span class="recomputed-range"') == 2  # header and table foot
    assert "复核 87.95–97.95" in page
    assert "等级 良–优" in page
    assert 'class="recomputed" title="复核值与填报值不一致">复核 87.95' not in page  # not styled as an error


def test_lists_show_the_range(built_sample):
    year = (built_sample / "2021" / "index.html").read_text(encoding="utf-8")
    assert '<td class="num" data-value="87.95">87.95–97.95</td>' in year
    assert "<td>良–优</td>" in year
    departments = (built_sample / "departments" / "index.html").read_text(encoding="utf-8")
    assert "87.95–97.95" in departments


def test_downloads_carry_the_range(built_sample):
    text = (built_sample / "data/by-year/2021/reports.json").read_text(encoding="utf-8")
    data = next(f for f in json.loads(text, parse_float=Decimal)["forms"] if f["department"] == "wangcheng-kexie")
    assert (data["total"], data["total_range"], data["grade"]) == (None, [Decimal("87.95"), Decimal("97.95")], "良–优")
    assert data["grade_range"] == ["优", "良"]
    year_rows = (built_sample / "data/by-year/2021/reports.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(year_rows)))
    row = next(r for r in rows if r["department"] == "wangcheng-kexie")
    assert (row["total"], row["total_min"], row["total_max"], row["grade"]) == ("", "87.95", "97.95", "良–优")
