"""Findings in plain language on public pages (#13 point 2): a title per finding kind in each UI
language, both values, a link to the cell; codes, key paths and file positions only in the
collapsed "技术信息" (and in ``check`` and the JSON)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from generator.score.audit import CODES

THEME = Path(__file__).resolve().parent.parent / "themes/default/strings"
KEY_PATH = re.compile(r"\b(?:indicators|funds|reported|goals|untranscribed)(?:\[\d+\]|\.[a-z_]+)")


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_finding_kind_has_a_title(language):
    strings = yaml.safe_load((THEME / f"{language}.yaml").read_text(encoding="utf-8"))
    missing = [code for code in CODES if not strings.get(f"kind_{code}")]
    assert missing == []
    titles = [strings[f"kind_{code}"] for code in CODES]
    assert len(set(titles)) == len(titles), "two kinds share a title"


class VisibleText(HTMLParser):
    """The text a reader sees: no scripts or styles, nothing inside a closed <details> but its summary;
    the record's own transcription notes (``provenance``: free text by the transcriber) left out."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, whether it hides what it holds)
        self.parts: list[str] = []

    @property
    def hidden(self) -> bool:
        return any(hides for _, hides in self.stack)

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "img", "meta", "link", "input", "hr", "source", "wbr"):
            return
        if tag == "summary":  # shown although its <details> is closed
            self.stack = [(t, False) if t == "details" else (t, h) for t, h in self.stack] + [(tag, False)]
            return
        hides = tag in ("script", "style", "details", "template") or "provenance" in (dict(attrs).get("class") or "")
        self.stack.append((tag, hides))

    def handle_endtag(self, tag):
        if tag == "summary":  # back inside the closed <details>
            while self.stack and self.stack[-1][0] != "summary":
                self.stack.pop()
            if self.stack:
                self.stack.pop()
            self.stack = [(t, True) if t == "details" else (t, h) for t, h in self.stack]
            return
        while self.stack:
            top, _ = self.stack.pop()
            if top == tag:
                break

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


def test_public_pages_show_no_codes_key_paths_or_file_positions(built_sample):
    codes = sorted(CODES, key=len, reverse=True)
    problems = []
    pages = sorted(built_sample.rglob("*.html"))
    assert len(pages) > 40
    for page in pages:
        rel = page.relative_to(built_sample).as_posix()
        if rel.startswith("_pagefind") or rel.startswith("pagefind"):
            continue
        raw = page.read_text(encoding="utf-8")
        if "content/departments/" in raw:  # not even in the collapsed technical details
            problems.append(f"{rel}: holds the repository path content/departments/")
        text = visible_text(raw)
        for needle in ("content/departments/", ".yaml:"):
            if needle in text:
                problems.append(f"{rel}: shows {needle!r}")
        found = [c for c in codes if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)]
        if found:
            problems.append(f"{rel}: shows finding code(s) {found[:3]}")
        match = KEY_PATH.search(text)
        if match:
            problems.append(f"{rel}: shows the key path {match.group()!r}")
    assert problems == []


def test_the_technical_details_are_still_there_for_staff(built_sample):
    page = (built_sample / "departments/wangcheng-kexie/2021/index.html").read_text(encoding="utf-8")
    assert '<details class="technical"><summary>技术信息</summary><code>rate-other-rule</code>' in page
    assert "<br><span class=\"src\">2021.yaml 第 " in page  # the line in the published record download
    assert "content/departments/" not in page  # the repository path: only in check and the JSON
    text = visible_text(page)
    assert "执行率按另一口径计算" in text and "定位到表格" in text
