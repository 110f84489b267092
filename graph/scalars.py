"""The custom scalars (DateTime, Date, Decimal, Long) as the schema describes them to clients.

Serializing stays strawberry's own, and so does parsing but for Decimal's, which takes ASCII decimal notation
only; the descriptions are ours, so that GraphiQL's docs pane says what the values look like in JSON. Long,
a 64-bit integer for totals of quantities that may pass Int's 32 bits, is ours throughout.
`StrawberryConfig(scalar_map=SCALARS)` puts them in place.
"""

import datetime
import decimal
import re
from typing import Any, NewType

import strawberry
from graphql import GraphQLError
from graphql.pyutils import inspect
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition, DecimalDefinition
from strawberry.types.scalar import ScalarDefinition

DATETIME_DESCRIPTION = (
    "A point in time, as an ISO 8601 string.\n\n"
    "Output is always in UTC with the offset written out, `+00:00`, and with microseconds when they are not "
    'zero: `"2024-05-01T09:30:00.123456+00:00"`, or `"2024-05-01T09:30:00+00:00"`.\n\n'
    'Input needs a UTC offset: `"2024-05-01T00:00:00Z"` or `"2024-05-01T02:00:00+02:00"`; a time without '
    "one is refused (BAD_USER_INPUT)."
)
DATE_DESCRIPTION = 'A calendar date as an ISO 8601 string, `YYYY-MM-DD`: `"2024-05-01"`; the same for input.'
DECIMAL_DESCRIPTION = (
    "An exact decimal number (never a binary float).\n\n"
    "Output is a JSON string with a fixed number of decimal places, zero included: 2 for prices and money "
    'amounts (`unitPrice`, `unitCost`, valuation values), e.g. `"12.50"` and `"0.00"`; 4 for `averageCost`, '
    'e.g. `"7.1250"` and `"0.0000"`.\n\n'
    'Input: a string such as `"12.50"` (a JSON number is read through its decimal text, `12.5` as `"12.5"`): '
    "an optional sign, ASCII digits and an optional decimal point with more digits; no spaces, exponents, "
    'underscores or other digits. `"-0"` is read as `"0"`. '
    "Prices and costs given to mutations take at most 2 decimal places, and must be at least 0 and below "
    "1,000,000,000,000."
)

LONG_DESCRIPTION = (
    "A 64-bit signed integer, -9,223,372,036,854,775,808 to 9,223,372,036,854,775,807, written as a JSON "
    "number: totals of quantities, which may pass the 2,147,483,647 an `Int` holds (a stock level holds up to "
    "that, and a total adds up many of them). JavaScript's `number` is exact only up to 2^53 - 1 "
    "(9,007,199,254,740,991); a client that may see larger totals should read the JSON with a parser that keeps "
    "big integers (such as `BigInt`).\n\n"
    "Input: a JSON number or GraphQL literal that is a whole number within that range; anything else (a "
    "fraction, a string, a boolean) is refused (BAD_USER_INPUT)."
)
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1

# A total of quantities: an integer of up to 64 bits (the `Long` scalar).
Long = NewType("Long", int)


def serialize_long(value: Any) -> int:
    """A Long's value in JSON: an integer (a bool is no integer) within 64 bits, else an error at the field."""
    if type(value) is int and LONG_MIN <= value <= LONG_MAX:
        return value
    raise GraphQLError(f"Long cannot represent non 64-bit signed integer value: {inspect(value)}")


def parse_long(value: object) -> int:
    """A Long input: a whole number within 64 bits; no float, string or boolean, even one that looks whole."""
    if type(value) is int and LONG_MIN <= value <= LONG_MAX:
        return value
    raise StrawberryInputCoercionError(
        f"Value cannot represent a Long: {value!r}. Expected a whole number from {LONG_MIN} to {LONG_MAX}."
    )


def _described(definition: ScalarDefinition, description: str) -> ScalarDefinition:
    """`definition` (one of strawberry's built-in scalars) with `description`, parsed and serialized as before."""
    return strawberry.scalar(
        name=definition.name,
        description=description,
        specified_by_url=definition.specified_by_url,
        serialize=definition.serialize,
        parse_value=definition.parse_value,
        parse_literal=definition.parse_literal,
    )


# Python's Decimal() also takes spaces, `_` between digits, exponents, NaN, Infinity and non-ASCII digits.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def parse_decimal(value: object) -> decimal.Decimal:
    """A Decimal input (a string, or a JSON number through its text) in plain ASCII decimal notation; a
    negative zero is read as zero."""
    text = value if isinstance(value, str) else None if isinstance(value, bool) else str(value)
    if text is None or not isinstance(value, (str, int, float)) or not _DECIMAL_TEXT.fullmatch(text):
        raise StrawberryInputCoercionError(
            f"Value cannot represent a Decimal: {value!r}. Expected ASCII digits with an optional sign and decimal "
            "point."
        )
    amount = decimal.Decimal(text)
    return amount.copy_abs() if amount.is_zero() else amount


SCALARS: dict[object, ScalarDefinition] = {
    datetime.datetime: _described(DateTimeDefinition, DATETIME_DESCRIPTION),
    datetime.date: _described(DateDefinition, DATE_DESCRIPTION),
    decimal.Decimal: strawberry.scalar(
        name=DecimalDefinition.name,
        description=DECIMAL_DESCRIPTION,
        serialize=DecimalDefinition.serialize,
        parse_value=parse_decimal,
    ),
    Long: strawberry.scalar(
        name="Long", description=LONG_DESCRIPTION, serialize=serialize_long, parse_value=parse_long
    ),
}
