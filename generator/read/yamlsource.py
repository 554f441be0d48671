"""Read YAML so that nothing is silently coerced and every value keeps its place.

PyYAML's defaults are wrong for public finance data: the last of two duplicate keys
wins, ``012001`` becomes the octal number 5121, ``no`` becomes ``False`` and ``363.88``
becomes a binary float. We let libyaml (the C parser, ~8x faster) build the node tree
and construct the values ourselves:

* duplicate keys, anchors/aliases, merge keys and non-standard tags are errors;
* integers are plain decimal digits, anything else that YAML 1.1 calls a number
  (leading zeros, ``0x``, ``1_000``, ``1:20``) stays the string it was written as;
* decimals become :class:`decimal.Decimal` from their exact text;
* only ``true``/``false`` are booleans, dates stay strings;
* every key and value remembers its line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml

from ..errors import Location, Problem
from .inputs import MAX_FILE_BYTES, read_input, root_of, too_large

try:  # the pure-Python parser is ~8x slower; use libyaml when it is there
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_NODES = 100_000
MAX_DEPTH = 100
_SCALAR_TAGS = {"null", "bool", "int", "float", "str", "timestamp", "value"}

_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z")
_DECIMAL = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,3})?\Z")  # 1e999999 stays text
_TAG = "tag:yaml.org,2002:"

KeyPath = tuple[str | int, ...]
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def format_path(path: KeyPath) -> str:
    """``('indicators', 2, 'weight')`` -> ``indicators[2].weight``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class Document:
    """Parsed data plus where each key and value was written."""

    file: str
    data: object = None
    values: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)  # (line, column)
    keys: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: KeyPath, *, key: bool = False) -> Location:
        """The location of ``path``, or of the nearest enclosing value that has one."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return Location(self.file, *table[probe])
            if probe in self.values:
                return Location(self.file, *self.values[probe])
            probe = probe[:-1]
        return Location(self.file, *self.values.get((), (1, 1)))


def _written_tag(tag: str) -> str:
    """``tag:yaml.org,2002:python/name:x`` → ``!!python/name:x``, as the user typed it."""
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag


class _Builder:
    def __init__(self, doc: Document, text: str):
        self.doc = doc
        self.text = text
        self.problems: list[Problem] = []
        self.seen: set[int] = set()
        self.aliases: list[tuple[int, int]] | None = None  # where each alias is written, in order

    def alias_position(self) -> tuple[int, int] | None:
        """The composed tree forgets where an alias was written; the event stream knows."""
        if self.aliases is None:
            events = yaml.parse(self.text, Loader=_Loader)
            self.aliases = [(e.start_mark.line + 1, e.start_mark.column + 1)
                            for e in events if isinstance(e, yaml.AliasEvent)]
            self.aliases.reverse()
        return self.aliases.pop() if self.aliases else None

    @staticmethod
    def pos(node: yaml.Node) -> tuple[int, int]:
        mark = node.start_mark
        return mark.line + 1, mark.column + 1

    def fail(self, node: yaml.Node, path: KeyPath, message: str, hint: str = "") -> None:
        self.problems.append(Problem(Location(self.doc.file, *self.pos(node)), format_path(path), message, hint))

    def build(self, node: yaml.Node, path: KeyPath) -> object:
        if id(node) in self.seen:
            where = Location(self.doc.file, *(self.alias_position() or self.pos(node)))
            self.problems.append(Problem(where, format_path(path), "anchors and aliases are not supported",
                                         "write the value out in full"))
            return None
        self.seen.add(id(node))
        if len(self.seen) > MAX_NODES:
            self.fail(node, path, f"the document has more than {MAX_NODES} values")
            raise _TooBig
        self.doc.values[path] = self.pos(node)
        if len(path) > MAX_DEPTH:
            self.problems.append(Problem(Location(self.doc.file, *self.pos(node)), format_path(path[:3]) + "…",
                                         f"nested more than {MAX_DEPTH} levels deep"))
            return None
        if isinstance(node, yaml.MappingNode):
            if node.tag != _TAG + "map":
                return self.bad_tag(node, path)
            return self.build_mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _TAG + "seq":
                return self.bad_tag(node, path)
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self.build_scalar(node, path)

    def bad_tag(self, node: yaml.Node, path: KeyPath) -> None:
        self.fail(node, path, f"unsupported YAML tag {_written_tag(node.tag)!r}", "remove the tag")

    def build_mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict:
        out: dict[str, object] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail(key_node, path, "a key must be plain text")
                continue
            key = key_node.value
            if _UNPRINTABLE.search(key):
                self.fail(key_node, path, "a key must be one line of printable text")
                continue
            if key_node.tag == _TAG + "merge":
                self.fail(key_node, path, "merge keys (<<) are not supported",
                          "write the keys out in full")
                continue
            child = path + (key,)
            if key in out:
                first_line = self.doc.keys[child][0]
                self.fail(key_node, child, "duplicate key",
                          f"first defined at line {first_line}; remove one of them")
                continue
            self.doc.keys[child] = self.pos(key_node)
            out[key] = self.build(value_node, child)
        return out

    def build_scalar(self, node: yaml.ScalarNode, path: KeyPath) -> object:
        text, tag = node.value, node.tag
        if not tag.startswith(_TAG) or tag[len(_TAG):] not in _SCALAR_TAGS:
            return self.bad_tag(node, path)
        if node.style:  # quoted or block scalars are always text
            return text
        return _typed(text, tag[len(_TAG):])


_BOOLS = {"true": True, "false": False}


def _typed(text: str, kind: str) -> object:
    """The value of a plain scalar that resolved to ``kind`` (one of ``_SCALAR_TAGS``)."""
    if kind == "null":
        return None
    if kind == "bool":
        return _BOOLS.get(text.lower(), text)
    if kind == "int":
        if not _INT.match(text):
            return text
        return int(text) if len(text) <= 30 else Decimal(text)  # int() refuses 4300+ digits
    if kind == "float":
        return Decimal(text) if _DECIMAL.match(text) else text
    return text  # str, timestamp, value


# The loader's implicit resolvers keyed by first character, in the order its resolve() tries them
# (that looks up ``value[0]``, or ``''`` for the empty value, then the wildcard list).
_WILDCARD = tuple((tag[len(_TAG):] if tag.startswith(_TAG) else tag, regexp)
                  for tag, regexp in _Loader.yaml_implicit_resolvers.get(None, []))
_IMPLICIT = {first: tuple((tag[len(_TAG):] if tag.startswith(_TAG) else tag, regexp)
                          for tag, regexp in resolvers) + _WILDCARD
             for first, resolvers in _Loader.yaml_implicit_resolvers.items() if first is not None}


class _Unusual(Exception):
    """Something the quick reader leaves to the full one: any error, tag, anchor, alias or bad key."""


def _plain(text: str) -> object:
    """A plain untagged scalar, resolved as the loader's resolve() would and then typed by ``_typed``."""
    for kind, regexp in _IMPLICIT.get(text[:1], _WILDCARD):
        if regexp.match(text):
            if kind not in _SCALAR_TAGS:  # merge (<<) and the like
                raise _Unusual
            return _typed(text, kind)
    return text


def _read_clean(text: str, file: str) -> Document | None:
    """The document of a file without a single problem, or ``None`` to leave it to the full reader.

    Composing a node tree calls back into Python for every node (resolver hooks, Node objects)
    and then we walk the tree again; reading libyaml's events once and building values directly
    is much faster (~1.7x). Anything out of the ordinary (errors, tags, anchors, aliases, odd
    keys, limits) bails out, and :func:`parse_yaml` re-reads the file the thorough way, so the
    problems reported are always the full reader's.
    """
    loader = _Loader(text)
    get = loader.get_event
    doc = Document(file)
    values, keys = doc.values, doc.keys
    count = 0

    def node(path: KeyPath, event) -> object:
        nonlocal count
        count += 1
        if count > MAX_NODES or len(path) > MAX_DEPTH:
            raise _Unusual
        mark = event.start_mark
        values[path] = (mark.line + 1, mark.column + 1)
        cls = event.__class__
        if cls is yaml.ScalarEvent:
            if event.tag is not None or event.anchor is not None:
                raise _Unusual
            text = event.value
            if event.style or not event.implicit[0]:  # quoted or block scalars are always text
                return text
            return _plain(text)
        if cls is yaml.MappingStartEvent:
            if event.tag is not None or event.anchor is not None:
                raise _Unusual
            out: dict[str, object] = {}
            event = get()
            while event.__class__ is yaml.ScalarEvent:
                key = event.value
                if (event.tag is not None or event.anchor is not None or key in out or key == "<<"
                        or _UNPRINTABLE.search(key)):
                    raise _Unusual
                child = path + (key,)
                mark = event.start_mark
                keys[child] = (mark.line + 1, mark.column + 1)
                out[key] = node(child, get())
                event = get()
            if event.__class__ is not yaml.MappingEndEvent:  # a key that is not plain text
                raise _Unusual
            return out
        if cls is yaml.SequenceStartEvent:
            if event.tag is not None or event.anchor is not None:
                raise _Unusual
            items: list[object] = []
            event = get()
            while event.__class__ is not yaml.SequenceEndEvent:
                items.append(node(path + (len(items),), event))
                event = get()
            return items
        raise _Unusual  # an alias

    try:
        if get().__class__ is not yaml.StreamStartEvent or get().__class__ is not yaml.DocumentStartEvent:
            return None  # an empty file
        doc.data = node((), get())
        if get().__class__ is not yaml.DocumentEndEvent or get().__class__ is not yaml.StreamEndEvent:
            return None  # more than one document
    except (_Unusual, yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()
    return doc


class _TooBig(Exception):
    pass


def parse_yaml(text: str, file: str) -> tuple[Document, list[Problem]]:
    """Parse YAML text; returns the document and every problem found in it."""
    clean = _read_clean(text, file)
    if clean is not None:
        return clean, []
    doc = Document(file)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and "end of stream" in (exc.problem or ""):
            mark = exc.context_mark  # an unclosed quote or bracket: point at where it opened
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        colon = _fullwidth_colon(text, mark)
        if colon:
            return doc, [Problem(Location(file, *colon), "", "invalid YAML: a full-width colon '：' cannot "
                                 "separate a key from its value", "type an ASCII colon ':' followed by a space")]
        detail = exc.problem or "invalid YAML"
        if exc.context:
            detail = f"{exc.context}, {detail}"
        return doc, [Problem(where, "", f"invalid YAML: {detail}", _syntax_hint(text, mark))]
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow; position counts UTF-8 bytes
        return doc, [_reader_problem(text, file, exc)]
    except yaml.YAMLError as exc:  # pragma: no cover - libyaml raises the two kinds above
        return doc, [Problem(Location(file, 1, 1), "", "invalid YAML: " + " ".join(str(exc).split()))]
    finally:
        loader.dispose()
    if node is None:
        return doc, [Problem(Location(file, 1, 1), "", "the file is empty", "")]
    builder = _Builder(doc, text)
    try:
        doc.data = builder.build(node, ())
    except _TooBig:
        doc.data = None
    return doc, builder.problems


_FULLWIDTH_KEY = re.compile(r"^\s*(?:-\s+)?[^\s:#'\"：][^:#'\"：]*?(：)")


def _fullwidth_colon(text: str, mark: yaml.Mark | None) -> tuple[int, int] | None:
    """A key typed with the full-width colon of a Chinese keyboard, on or just above the error."""
    if mark is None:
        return None
    lines = text.splitlines()
    for number in (mark.line - 1, mark.line):
        if 0 <= number < len(lines):
            match = _FULLWIDTH_KEY.match(lines[number])
            if match:
                return number + 1, match.start(1) + 1
    return None


def _syntax_hint(text: str, mark: yaml.Mark | None) -> str:
    """Name the usual culprits that libyaml's messages leave unsaid."""
    if mark is None:
        return ""
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    if "\t" in line[: mark.column + 1]:
        return "indent with spaces, not tabs"
    return ""


def _reader_problem(text: str, file: str, exc: yaml.reader.ReaderError) -> Problem:
    """One located line for a character libyaml refuses (its own text spans two lines)."""
    before = text.encode("utf-8")[: exc.position]
    line_start = before.rfind(b"\n") + 1
    where = Location(file, before.count(b"\n") + 1, len(before[line_start:].decode("utf-8", "replace")) + 1)
    return Problem(where, "", f"invalid YAML: the character U+{exc.character:04X} is not allowed "
                   "(control characters cannot be shown or published)", "remove it")


def decode_source(raw: bytes, file: str) -> tuple[str | None, list[Problem]]:
    """UTF-8 with or without BOM; anything else is named, never guessed at, never quoted."""
    if len(raw) > MAX_FILE_BYTES:
        return None, [too_large(file, len(raw))]
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # not UTF-16 with a BOM
        return None, [Problem(Location(file), "", "not UTF-8 text: it contains NUL bytes (a binary file, or "
                              "UTF-16 without a byte order mark)", "save the file as UTF-8 text")]
    try:
        return raw[bom:].decode("utf-8"), []
    except UnicodeDecodeError as exc:
        start = exc.start + bom
        line = raw[:start].count(b"\n") + 1
        line_start = raw.rfind(b"\n", 0, start) + 1
        column = len(raw[max(line_start, bom): start].decode("utf-8", errors="replace")) + 1
        hint = "save the file as UTF-8"
        try:
            raw.decode("gb18030")
            hint = "it looks like GBK/GB18030; save the file as UTF-8"
        except UnicodeDecodeError:
            pass
        message = f"not UTF-8 text: byte 0x{raw[start]:02X} cannot be decoded"
        return None, [Problem(Location(file, line, column), "", message, hint)]


def read_yaml(path: Path, display: str, root: Path | None = None) -> tuple[Document, list[Problem]]:
    """Read and parse one YAML file; ``display`` is the name used in messages, ``root`` the
    folder the file must stay inside (by default the one ``display`` is relative to)."""
    raw, problem = read_input(path, root_of(path, display) if root is None else root, display)
    if raw is None:
        return Document(display), [problem]
    return parse_source(raw, display)


def parse_source(raw: bytes, display: str) -> tuple[Document, list[Problem]]:
    """Decode and parse the bytes of a YAML file."""
    text, problems = decode_source(raw, display)
    if text is None:
        return Document(display), problems
    return parse_yaml(text, display)
