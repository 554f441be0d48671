"""A validator for the subset of JSON Schema the record formats use, speaking plainly.

Every problem is reported as ``file:line:col: key.path: expected X, got Y`` with a hint
where one helps, all of them at once. Schemas are compiled to predicates once, so valid
records (nearly all of them) cost a function call per value; the slow path that words the
message runs only where a value fails.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from decimal import Decimal

from ..errors import Problem
from .schema import MAX_AMOUNT, MAX_PLACES
from .yamlsource import Document, KeyPath, format_path

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")

_TYPE_WORDS = {
    "object": "a mapping (key: value)", "array": "a list", "string": "text",
    "number": "a number", "integer": "a whole number", "boolean": "true or false",
}


def describe_value(value: object) -> str:
    """How a found value is shown in a message: strings quoted, numbers plain."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        text = str(value)
        return text if len(text) <= 40 else f"a number with {len(text.lstrip('-'))} digits"
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 40 else value[:37] + "...", ensure_ascii=False)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _expected(schema: dict, value: object = None) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    types = schema.get("type", "string")
    types = types if isinstance(types, list) else [types]
    words = " or ".join(_TYPE_WORDS[t] for t in types)
    low, high = schema.get("minimum"), schema.get("maximum")
    if high == MAX_AMOUNT and not (isinstance(value, (int, Decimal)) and value > high):
        high = None  # the sanity bound on amounts is only worth mentioning when it is hit
    if low is not None and high is not None:
        return f"{words} from {low} to {high}"
    if low is not None:
        return f"{words} ≥ {low}"
    if schema.get("minLength"):
        return "non-empty text"
    return words


def _is_type(value: object, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, Decimal)) and not isinstance(value, bool)
    return False


def suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return "allowed: " + ", ".join(choices)


def validate(doc: Document, schema: dict) -> list[Problem]:
    """Every way ``doc.data`` breaks ``schema``, each located in the source file."""
    problems: list[Problem] = []
    if not _passes(schema)(doc.data):
        _check(doc, doc.data, schema, (), problems)
    return problems


def check_value(doc: Document, value: object, schema: dict, path: KeyPath,
                out: list[Problem]) -> None:
    """Validate a value that sits at ``path`` inside ``doc`` (e.g. a config subtree)."""
    if not _passes(schema)(value):
        _check(doc, value, schema, path, out)


# Most values are valid, and interpreting the schema dictionaries for each of them was the
# slow part of checking. So each schema is compiled once into a predicate that is True only
# when _check would find nothing; when it is False, _check runs and writes the messages.
# Schemas are module constants: they are compiled on first use and never change afterwards.
_COMPILED: dict[int, tuple[dict, object]] = {}
_CLASSES = {"object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
            "integer": (int,), "number": (int, Decimal)}


def _passes(schema: dict):
    """The compiled predicate of ``schema`` (kept with the schema, so its id cannot be reused)."""
    entry = _COMPILED.get(id(schema))
    if entry is None or entry[0] is not schema:
        if len(_COMPILED) > 256:
            _COMPILED.clear()
        entry = _COMPILED[id(schema)] = (schema, _compile(schema))
    return entry[1]


def _compile(schema: dict):
    """A predicate that is True only when ``_check(…, value, schema, …)`` adds no problem."""
    types = schema.get("type")
    classes: tuple[type, ...] | None = None
    allow_bool = True
    if types is not None:
        allowed = types if isinstance(types, list) else [types]
        classes = tuple(cls for kind in allowed for cls in _CLASSES.get(kind, ()))
        allow_bool = "boolean" in allowed  # _is_type: a bool is neither an integer nor a number
    has_enum = "enum" in schema
    enum = schema.get("enum")
    enum_text = frozenset(v for v in enum if isinstance(v, str)) if has_enum else frozenset()
    low, high = schema.get("minimum"), schema.get("maximum")
    min_length = schema.get("minLength")
    pattern = re.compile(schema["pattern"].removesuffix("$") + r"\Z") if "pattern" in schema else None
    properties = {key: _compile(sub) for key, sub in schema.get("properties", {}).items()}
    required = schema.get("required", [])
    closed = schema.get("additionalProperties") is False
    extra_schema = schema.get("additionalProperties")
    extra = _compile(extra_schema) if isinstance(extra_schema, dict) else None
    no_null = bool(schema.get("x-no-null"))
    min_items = schema.get("minItems", 0)
    has_max_items = "maxItems" in schema
    max_items = schema.get("maxItems")
    unique = schema.get("uniqueItems")
    items = _compile(schema["items"]) if schema.get("items") else None

    leaf = not (min_length or pattern or properties or required or closed or no_null or min_items or has_max_items
                or unique or items or extra)
    if leaf and classes == (str,) and low is None and high is None:  # the common text and choice leaves
        if has_enum:
            return lambda value: isinstance(value, str) and value in enum_text and not _CONTROL.search(value)
        return lambda value: isinstance(value, str) and not _CONTROL.search(value)
    if leaf and classes == (int, Decimal) and not allow_bool and not has_enum and low is not None and high is not None:
        def amount(value: object) -> bool:
            if not isinstance(value, (int, Decimal)) or isinstance(value, bool):
                return False
            if isinstance(value, int):
                return low <= value <= high
            return value.is_finite() and low <= value <= high and value.as_tuple().exponent >= -MAX_PLACES
        return amount

    def passes(value: object) -> bool:
        if classes is not None and (not isinstance(value, classes) or (not allow_bool and isinstance(value, bool))):
            return False
        if has_enum and not (value in enum_text if isinstance(value, str) else value in enum):
            return False
        if isinstance(value, str):
            return not (_CONTROL.search(value) or (min_length and len(value.strip()) < min_length)
                        or (pattern is not None and not pattern.match(value)))
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            if isinstance(value, Decimal) and not value.is_finite():
                return False  # let _check deal with NaN and infinity as it always has
            return not ((low is not None and value < low) or (high is not None and value > high)
                        or (isinstance(value, Decimal) and value.as_tuple().exponent < -MAX_PLACES))
        if isinstance(value, dict):
            for key in required:
                if value.get(key) is None:
                    return False
            for key, item in value.items():
                check = properties.get(key)
                if check is None:
                    if closed or (extra is not None and not extra(item)):
                        return False
                elif (item is not None or no_null) and not check(item):
                    return False
            return True
        if isinstance(value, list):
            if len(value) < min_items or (has_max_items and len(value) > max_items):
                return False
            if unique and len(set(map(str, value))) != len(value):
                return False
            return items is None or all(map(items, value))
        return True

    return passes


def _check(doc: Document, value: object, schema: dict, path: KeyPath, out: list[Problem]) -> None:
    def fail(message: str, hint: str = "", at: KeyPath = path, key: bool = False) -> None:
        out.append(Problem(doc.where(at, key=key), format_path(at), message, hint))

    types = schema.get("type")
    if types is not None:
        allowed = types if isinstance(types, list) else [types]
        if not any(_is_type(value, t) for t in allowed):
            hint = ""
            if isinstance(value, str) and ("number" in allowed or "integer" in allowed):
                hint = "write digits only, without units or quotes"
                if value.strip().lower() in {".nan", ".inf", "-.inf", "nan", "inf"}:
                    hint = "NaN and infinity are not amounts"
                elif value[:1] == "0" and value.isdigit():
                    hint = "a leading zero makes this a code, not a number"
                elif value != unicodedata.normalize("NFKC", value) and re.fullmatch(
                        r"[-+]?[0-9.]+", unicodedata.normalize("NFKC", value).strip()):
                    hint = "full-width digits: type the number with ASCII digits 0-9"
            elif isinstance(value, str) and "boolean" in allowed and value.strip().lower() in ("true", "false"):
                hint = "write true or false without quotes"
            found = describe_value(value)
            if not path and isinstance(value, (str, int, Decimal)):  # the whole file: say what, never quote it
                found = ("text" if isinstance(value, str) else "a number") + " without any key"
                hint = "write one key: value per line"
            fail(f"expected {_expected(schema)}, got {found}", hint)
            return
    if "enum" in schema and value not in schema["enum"]:
        fail(f"expected {_expected(schema)}, got {describe_value(value)}",
             suggest(str(value), schema["enum"]) if isinstance(value, str) else "")
        return
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            fail(f"expected {_expected(schema, value)}, got {describe_value(value)}")
        elif isinstance(value, Decimal) and value.as_tuple().exponent < -MAX_PLACES:
            fail(f"expected at most {MAX_PLACES} decimal places, got {describe_value(value)}")
    if isinstance(value, str):
        control = _CONTROL.search(value)
        if control:
            fail(f"expected printable text, got the control character U+{ord(control.group()):04X}",
                 "remove it: it cannot be shown or published")
            return
        if schema.get("minLength") and len(value.strip()) < schema["minLength"]:
            fail(f"expected {_expected(schema)}, got {describe_value(value)}")
        # JSON Schema's "$" is end of text; Python's also matches before a final line break
        if "pattern" in schema and not re.match(schema["pattern"].removesuffix("$") + r"\Z", value):
            fail(f"expected {schema.get('x-expected', 'a value of the right form')}, got {describe_value(value)}")
    if isinstance(value, dict):
        _check_mapping(doc, value, schema, path, out, fail)
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            fail(f"expected at least {schema['minItems']} item(s), got {len(value)}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            fail(f"expected at most {schema['maxItems']} item(s), got {len(value)}")
        if schema.get("uniqueItems") and len(set(map(str, value))) != len(value):
            fail("expected each item once, got a repeated item")
        item_schema = schema.get("items")
        if item_schema:
            for index, item in enumerate(value):
                _check(doc, item, item_schema, path + (index,), out)


def _check_mapping(doc, value, schema, path, out, fail) -> None:
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    for key in required:
        title = properties.get(key, {}).get("title", "")
        title = f" ({title})" if title else ""
        if key not in value:
            fail(f"required key is missing{title}", at=path + (key,))
        elif value[key] is None:
            fail(f"required key has no value{title}", at=path + (key,))
    for key, item in value.items():
        if key in properties:
            # An empty optional value means "not given" in records; overrides must say something.
            if item is not None or schema.get("x-no-null"):
                _check(doc, item, properties[key], path + (key,), out)
        elif isinstance(schema.get("additionalProperties"), dict):
            _check(doc, item, schema["additionalProperties"], path + (key,), out)
        elif schema.get("additionalProperties") is False:
            hint = suggest(key, list(properties))
            if key.isdigit():
                hint = "a comma inside { } starts a new key: write numbers without thousands separators"
            fail("unknown key", hint, at=path + (key,), key=True)
