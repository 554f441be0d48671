"""Numbers between Excel and records, never through binary floats.

Every amount, rate and score is what the department reports, digit for digit, so it must
survive the trip to Excel and back. A numeric cell is read as Excel shows it: at Excel's
15 significant digits (``0.1+0.2`` reads as 0.3) and padded to the decimals its number
format shows (363.8 in a ``0.00`` cell is 363.80; a value with more digits than shown keeps
them); a percent format (``0.00%``) is read as the percentage shown. A number typed into a
text cell is read exactly from its text. Export writes each number with the format of its
own decimals, so import gives back the same digits; a number with more than 15 significant
digits is written as text.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, localcontext

EXCEL_DIGITS = 15  # Excel keeps 15 significant digits


def decimal_places(value: int | Decimal) -> int:
    return 0 if isinstance(value, int) else max(0, -value.as_tuple().exponent)


def number_cell(kind: str, value: int | Decimal) -> tuple[object, str]:
    """The cell value and number format that show ``value`` with its own decimals."""
    if _significant_digits(value) > EXCEL_DIGITS:  # beyond Excel's precision: keep the exact text
        return f"{value:f}", "@"
    return (int(value) if decimal_places(value) == 0 else float(value)), _number_format(kind, value)


def _number_format(kind: str, value: int | Decimal) -> str:
    places = decimal_places(value)
    body = "#,##0" if kind == "money" else "0"
    return body + ("." + "0" * places if places else "")


def _significant_digits(value: int | Decimal) -> int:
    return len(Decimal(value).as_tuple().digits)


_PLAIN_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z")
_PLAIN_DECIMAL = re.compile(r"[-+]?[0-9]+\.[0-9]+\Z")


def format_section(fmt: str) -> str:
    """The positive-number section of a number format, without literals and colours."""
    section = (fmt or "General").split(";")[0]
    return re.sub(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.', "", section)


def read_number(value: object, fmt: str) -> object:
    """A numeric cell as Excel shows it (see the module docstring); text is parsed exactly.

    Raises ValueError, worded to follow "the cell stores", for an infinite number or one with
    more than :data:`MAX_DIGITS` digits; any other is read exactly, whatever its size.
    """
    if isinstance(value, str):
        text = value.strip()
        if _PLAIN_INT.match(text) or _PLAIN_DECIMAL.match(text):
            number = _bounded(Decimal(text))
            return int(number) if _PLAIN_INT.match(text) else number
        return value  # the schema says what is wrong with it
    if isinstance(value, int):
        number = _bounded(Decimal(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("an infinite number" if math.isinf(value) else "NaN, not a number")
        number = _bounded(Decimal(format(value, f".{EXCEL_DIGITS}g")))
    else:
        return value
    section = format_section(fmt)
    places = None  # General, text and scientific formats show the number as it is
    if section not in ("General", "@") and not re.search(r"[eE][+-]", section):
        match = re.search(r"0\.(0+)", section)
        places = min(len(match.group(1)), EXCEL_PLACES) if match else (0 if re.search(r"[0#]", section) else None)
    with localcontext(prec=MAX_DIGITS + 2 * EXCEL_PLACES):  # exact: never rounds (the default keeps 28 digits)
        if "%" in section:
            number *= 100
        number = number.normalize()
        if number.as_tuple().exponent > 0:
            number = number.quantize(Decimal(1))
        if places and decimal_places(number) < places:
            number = number.quantize(Decimal(1).scaleb(-places))
    return int(number) if number.as_tuple().exponent >= 0 else number


MAX_DIGITS = 100  # far beyond any figure (the schema stops amounts at 10**15), short enough to show
EXCEL_PLACES = 30  # a number format shows at most 30 decimals


def _bounded(number: Decimal) -> Decimal:
    digits = max(number.adjusted() + 1, len(number.as_tuple().digits))
    if digits > MAX_DIGITS:
        raise ValueError(f"a number with {digits} digits, more than any form holds")
    return number


def number_text(number: object) -> str:
    return f"{number:f}" if isinstance(number, Decimal) else str(number)
