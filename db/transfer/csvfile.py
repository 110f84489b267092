"""The CSV files of import and export: reading (UTF-8 with or without BOM, comma or semicolon, columns by
header name), the cell notations (money, whole numbers, true/false) and writing in the one fixed format."""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TextIO

from db.errors import DomainError

# A decimal number as the import reads it: no sign but "-", "." as the only separator, no exponent.
# "1,50" and "1.000,00" are refused rather than guessed at.
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_WHOLE = re.compile(r"-?[0-9]+")
_FLAGS = {"true": True, "false": False}


class FileProblem(Exception):
    """The file as a whole cannot be imported; the message is one line naming the cause."""


@dataclass(frozen=True)
class RowError:
    """One problem of one row: its row number in the file (the header is row 1), its column, what is wrong and
    the kind of problem (a code of db/errors.py: INVALID, NOT_FOUND, DUPLICATE)."""

    row: int
    column: str | None
    message: str
    code: str = "INVALID"

    def __str__(self) -> str:
        return f"row {self.row}, {self.column or 'row'}: {self.message}"


class CellError(Exception):
    """A cell that is no value of its column's notation."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


@dataclass(frozen=True)
class Row:
    """One row of a file: its number (the header is row 1), {column: cell} (an empty cell is None) and its
    cells as read."""

    number: int
    values: dict[str, str | None]
    cells: list[str]


@dataclass(frozen=True)
class Table:
    """A decoded CSV file: its header and its rows."""

    header: list[str]
    rows: list[Row]


def decode(content: bytes, *, name: str) -> str:
    """The text of a UTF-8 file (a BOM is dropped), or FileProblem naming the first bad byte's line."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise FileProblem(
            f"{name} is not UTF-8: byte 0x{content[error.start]:02x} at line {line} (save it as UTF-8 and try again)."
        ) from None


def parse(content: bytes, *, name: str, required: Iterable[str], optional: Iterable[str]) -> Table:
    """Read a CSV file whose header names `required` and perhaps some of `optional`; FileProblem for a file
    that is no such file."""
    text = decode(content, name=name)
    first_line = text.split("\n", 1)[0]
    # From the header only: a cell of a row may hold either character.
    delimiter = ";" if ";" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [column.strip() for column in next(reader)]
    except StopIteration:
        raise FileProblem(f"{name} is empty: its first line must name the columns.") from None
    except csv.Error as error:
        raise FileProblem(f"{name}, row 1: {error}.") from None
    required, optional = list(required), list(optional)
    unknown = [c for c in header if c not in required and c not in optional]
    if unknown:
        raise FileProblem(
            f"{name} has unknown column(s) {', '.join(unknown)}; the columns are {', '.join(required + optional)}."
        )
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise FileProblem(f"{name} names column(s) {', '.join(duplicated)} more than once.")
    missing = [c for c in required if c not in header]
    if missing:
        raise FileProblem(f"{name} lacks the required column(s) {', '.join(missing)}.")
    rows: list[Row] = []
    number = 1
    try:
        for cells in reader:
            number += 1
            if not any(c.strip() for c in cells):
                continue
            values: dict[str, str | None] = {c: None for c in header}
            for column, value in zip(header, cells, strict=False):
                values[column] = value.strip() or None
            rows.append(Row(number, values, cells))
    except csv.Error as error:
        raise FileProblem(f"{name}, row {number + 1}: {error}.") from None
    return Table(header, rows)


def money(column: str, cell: str | None) -> Decimal | None:
    """A money cell as a Decimal (the amount rules are the mutations', applied after)."""
    if cell is None:
        return None
    if not _DECIMAL.fullmatch(cell.strip()):
        raise CellError(column, f"`{column}` must be a number written with digits and a '.' decimal point "
                                f"and no thousands separators (got “{cell}”).")
    return Decimal(cell.strip())


def whole(column: str, cell: str | None) -> int | None:
    if cell is None:
        return None
    if not _WHOLE.fullmatch(cell.strip()):
        raise CellError(column, f"`{column}` must be a whole number (got “{cell}”).")
    return int(cell.strip())


def flag(column: str, cell: str | None, *, default: bool) -> bool:
    if cell is None:
        return default
    value = _FLAGS.get(cell.strip().lower())
    if value is None:
        raise CellError(column, f"`{column}` must be true or false (got “{cell}”).")
    return value


def column_errors(row: int, error: DomainError, columns: dict[str, str]) -> list[RowError]:
    """A domain error of a row's values as row errors, the API's field names (`unitPrice`) read as the file's
    columns (`unit_price`) by `columns`."""
    found = []
    for problem in error.errors:
        column = columns.get(problem.field or "", problem.field)
        message = problem.message
        if problem.field and column:
            message = message.replace(f"`{problem.field}`", f"`{column}`")
        found.append(RowError(row, column, message, problem.code))
    return found


# --- writing ------------------------------------------------------------------------------------


def writer(out: TextIO) -> Any:
    """The one format every export writes: comma separated, quoted only where needed, "\\n" line ends."""
    return csv.writer(out, lineterminator="\n")


def cell(value: Any) -> str:
    """A value in the files' fixed notation: money at its column's scale, UTC times in ISO 8601, true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


def rows_text(header: list[str], rows: Iterable[list[str]]) -> Iterator[str]:
    """The lines of a CSV file (the rejected rows' file)."""
    buffer = io.StringIO()
    out = writer(buffer)
    out.writerow(header)
    for row in rows:
        out.writerow(row)
    yield buffer.getvalue()
