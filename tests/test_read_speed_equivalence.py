"""The quick paths of the reader must agree with the thorough ones they stand in for.

``yamlsource._read_clean`` reads problem-free files from libyaml's events and leaves everything
else to the node-tree reader; ``validate._passes`` is a compiled predicate that lets the schema
interpreter run only when something is wrong. Both are checked here against the slow path on
the fixtures and on deliberately odd inputs, including randomly mutated copies.
"""

from __future__ import annotations

import contextlib
import copy
import random
from decimal import Decimal
from pathlib import Path

import pytest

from generator.read import validate, yamlsource
from generator.read.schema import DEPARTMENT_SCHEMA, REPORT_SCHEMA

FIXTURES = Path(__file__).resolve().parent / "fixtures"

ODD_TEXTS = [
    "", "# only a comment\n", "---\n...\n", "a: 1\n---\nb: 2\n", "a: 1\na: 2\n", "a: &x 1\nb: *x\n", "a: *x\n",
    "<<: {a: 1}\n", "a: <<\n", "'<<': 1\n", "a: !!str 5\n", "a: !x 5\n", "a: ! 5\n", "!!map {a: 1}\n",
    "!!seq [1]\n", "? [a]\n: b\n", "? {a: 1}\n: b\n", "{a: 1, a: 2}\n", "a: [1, 2, [3, {b: c}]]\n",
    "a: \"x\\ty\"\n", "\"a\\x07\": 1\n", "\"a\\nb\": 1\n", "a: |\n  text\n  more\n", "a: >\n  folded\n",
    "a: ~\nb: null\nc: Null\nd:\ne: ''\n", "a: yes\nb: no\nc: True\nd: FALSE\ne: on\n",
    "a: 012\nb: 0x1F\nc: 1_000\nd: 1:20\ne: 0\nf: -0\ng: +5\n", "a: 1.5\nb: .5\nc: 5.\nd: 1e3\ne: 1.0e+3\nf: .inf\n",
    "a: .nan\nb: -.INF\nc: 1e999999\n", "a: 2021-01-01\nb: =\n", "a: 1\n  b: 2\n", "a: [1, 2\n", "a: 'open\n",
    "a:\tb\n", "\tx: 1\n", "名称：值\n", "- 1\n- 2\n", "plain text\n", "12\n", "[" * 150 + "]" * 150 + "\n",
    "a: " + "x" * 40 + "\n", "a: 1234567890123456789012345678901234567890\n",
]


def _typed(value):
    if isinstance(value, dict):
        return ("dict", [(k, _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value).__name__, repr(value))


def _snapshot(text: str):
    doc, problems = yamlsource.parse_yaml(text, "f.yaml")
    return _typed(doc.data), list(doc.values.items()), list(doc.keys.items()), problems


def _texts() -> list[str]:
    texts = list(ODD_TEXTS)
    for path in sorted(FIXTURES.rglob("*.yaml")):
        with contextlib.suppress(UnicodeDecodeError):
            texts.append(path.read_bytes().decode("utf-8-sig"))
    rng = random.Random(20240601)
    pieces = ["&a ", "*a", "!!str ", "! ", "<<: ", "---\n", "\t", ": ", "- ", "{", "]", "'", '"', "null", "yes",
              "012", "1_000", ".inf", "\x07", "：", "a: 1\na: 2\n", "!!int ", "? [a]\n: b\n"]
    small = [t for t in texts if 0 < len(t) < 3000]
    for _ in range(400):
        text = rng.choice(small)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text) + 1)
            text = text[:at] + rng.choice(pieces) + text[at:]
        texts.append(text)
    return texts


def test_quick_yaml_reader_matches_full_reader(monkeypatch):
    texts = _texts()
    quick = [_snapshot(text) for text in texts]
    assert any(yamlsource._read_clean(text, "f.yaml") is not None for text in texts)
    monkeypatch.setattr(yamlsource, "_read_clean", lambda text, file: None)
    for text, expected in zip(texts, quick, strict=True):
        assert _snapshot(text) == expected, text[:200]


ODD_VALUES = [None, True, False, 0, -1, 1, 2100, 1989, 101, 10**15, 10**15 + 1, Decimal("1.1234567"),
              Decimal("1.123456"), Decimal("-0.5"), Decimal("1E+3"), Decimal("100.0000001"), "", " ", "x", "a\x07b",
              "财政拨款", "产出指标", "数量指标", "2021-01-01", "2021-1-1", "2021-01-01\n", [], [1], ["a", "a"],
              ["budget"], ["content", "content"], {}, {"x": 1}, {"name": "x"}, "higher", "万元", "优"]


def _mutate(rng: random.Random, value) -> None:
    if isinstance(value, dict) and value:
        key = rng.choice(list(value))
        if rng.random() < 0.1:
            del value[key]
        elif rng.random() < 0.1:
            value[rng.choice(["extra", "1", "weight", "name"])] = copy.deepcopy(rng.choice(ODD_VALUES))
        elif rng.random() < 0.1:
            value["illegible"] = rng.choice([["budget"], ["budget", "budget"], ["content", "content"], ["target"]])
        elif isinstance(value[key], (dict, list)) and value[key] and rng.random() < 0.8:
            _mutate(rng, value[key])
        else:
            value[key] = copy.deepcopy(rng.choice(ODD_VALUES))
    elif isinstance(value, list) and value:
        index = rng.randrange(len(value))
        if isinstance(value[index], (dict, list)) and value[index] and rng.random() < 0.7:
            _mutate(rng, value[index])
        else:
            value[index] = copy.deepcopy(rng.choice(ODD_VALUES))


@pytest.mark.parametrize("which", [REPORT_SCHEMA, DEPARTMENT_SCHEMA], ids=["report", "department"])
def test_compiled_schema_passes_exactly_what_the_interpreter_passes(which):
    docs = []
    for path in sorted(FIXTURES.rglob("*.yaml")):
        try:
            doc, _ = yamlsource.parse_yaml(path.read_bytes().decode("utf-8-sig"), str(path))
        except UnicodeDecodeError:
            continue
        if isinstance(doc.data, dict):
            docs.append(doc)
    rng = random.Random(7)
    passed = 0
    for i in range(3000):
        doc = rng.choice(docs)
        data = copy.deepcopy(doc.data)
        for _ in range(0 if i % 4 == 0 else 1 if i % 4 < 3 else rng.randint(2, 3)):
            _mutate(rng, data)
        found: list = []
        validate._check(doc, data, which, (), found)
        assert validate._passes(which)(data) == (not found), (data, found)
        passed += not found
    assert passed  # the comparison covered valid values too
