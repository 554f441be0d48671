"""Deterministic YAML text for imported records, proved by reading it back.

``perfsite import`` writes records that people then edit by hand, so the text follows the
house style rather than PyYAML's dumper: keys in the record's order, plain scalars where
YAML allows them, prose as ``|`` blocks, funds sources, ``reported`` and untranscribed parts in
flow style, and
decimals with exactly the digits the workbook showed (1.50 stays 1.50). Every text is
parsed again with perfsite's own reader before anything is written; if plain scalars do
not read back the same, everything is quoted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal

import yaml

from ..errors import Problem
from ..read.yamlsource import Document, parse_source

_RESOLVER = yaml.resolver.Resolver()
_INDICATOR_START = set("-?:,[]{}#&*!|>'\"%@`")
_FLOW_CHARS = set(",[]{}")


def _printable(ch: str) -> bool:
    code = ord(ch)
    return not (code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF)
                or 0xD800 <= code <= 0xDFFF)


def _plain_ok(text: str, flow: bool) -> bool:
    if not text or text != text.strip() or text[0] in _INDICATOR_START:
        return False
    if not all(_printable(ch) for ch in text) or ": " in text or " #" in text or text.endswith(":"):
        return False
    if flow and any(ch in _FLOW_CHARS for ch in text):
        return False
    return _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str"


def _quoted(text: str) -> str:
    out = []
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif not _printable(ch):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


class _Emitter:
    def __init__(self, quote_all: bool):
        self.quote_all = quote_all

    def scalar(self, value: object, flow: bool = False) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, Decimal):
            return f"{value:f}"
        if isinstance(value, list):
            return "[" + ", ".join(self.scalar(item, flow=True) for item in value) + "]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k}: {self.scalar(v, flow=True)}" for k, v in value.items()) + "}"
        text = str(value)
        if not self.quote_all and _plain_ok(text, flow):
            return text
        return _quoted(text)

    def entry(self, key: str, value: object, indent: int) -> list[str]:
        pad = " " * indent
        if isinstance(value, str) and "\n" in value and not self.quote_all and _block_ok(value):
            body = value[:-1] if value.endswith("\n") else value
            chomp = "+" if value.endswith("\n\n") else ("" if value.endswith("\n") else "-")
            indicator = "2" if value[:1] in (" ", "\n") else ""
            lines = [f"{pad}{key}: |{indicator}{chomp}"]
            lines += [f"{pad}  {line}" if line else "" for line in body.split("\n")]
            return lines
        return [f"{pad}{key}: {self.scalar(value)}"]


def _block_ok(text: str) -> bool:
    return all(_printable(ch) or ch in "\n\t" for ch in text)


def report_lines(data: dict, emit: _Emitter) -> list[str]:
    out: list[str] = []
    for key, value in data.items():
        if key == "funds" and not value:
            out.append("funds: {}")  # nothing but untranscribed funds
        elif key == "funds":
            out.append("funds:")
            for k, v in value.items():
                if k == "sources":
                    out.append("  sources:")
                    out += [f"    - {emit.scalar(source, flow=True)}" for source in v]
                else:
                    out.append(f"  {k}: {emit.scalar(v)}")
        elif key == "goals":
            out.append("goals:")
            for k, v in value.items():
                out += emit.entry(k, v, 2)
        elif key == "indicators":
            out.append("indicators:")
            for row in value:
                lines = [line for k, v in row.items() for line in emit.entry(k, v, 4)]
                lines[0] = "  - " + lines[0][4:]
                out += lines
        elif key == "reported":
            out.append(f"reported: {emit.scalar(value)}")
        elif key == "untranscribed":
            out.append("untranscribed:")
            out += [f"  - {emit.scalar(part, flow=True)}" for part in value]
        else:
            out += emit.entry(key, value, 0)
    return out


def department_lines(data: dict, emit: _Emitter) -> list[str]:
    return [line for key, value in data.items() for line in emit.entry(key, value, 0)]


def render_checked(record: Document, rel: str, lines: Callable, source: str) -> tuple[str, list[Problem]]:
    """YAML text for ``record``, proved by reading it back with perfsite's own reader."""
    data = record.data
    comment = "".join(ch if _printable(ch) else "?" for ch in os.path.basename(source))
    for quote_all in (False, True):
        text = "\n".join([f"# 由 perfsite import 从 Excel 导入：{comment}", *lines(data, _Emitter(quote_all))]) + "\n"
        parsed, problems = parse_source(text.encode("utf-8"), rel)
        if problems:
            return text, [Problem(record.where(()), "", f"cannot be written as {rel}: {problems[0].message}")]
        if _same(parsed.data, data):
            return text, []
    raise RuntimeError(f"perfsite bug: the YAML written for {rel} does not read back the same")  # pragma: no cover


def _same(a: object, b: object) -> bool:
    """Equal including the type and the written digits (1.50 is not 1.5 here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Decimal):
        return str(a) == str(b)
    return a == b
