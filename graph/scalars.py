"""The custom scalars (DateTime, Date, Decimal) as the schema describes them to clients.

Parsing and serializing stay strawberry's own; only the descriptions are ours, so that GraphiQL's docs
pane says what the values look like in JSON. `StrawberryConfig(scalar_map=SCALARS)` puts them in place.
"""

import datetime
import decimal

import strawberry
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
    'Input: a string such as `"12.50"` (a JSON number is read through its decimal text, `12.5` as `"12.5"`). '
    "Prices and costs given to mutations take at most 2 decimal places, and must be at least 0 and below "
    "1,000,000,000,000."
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


SCALARS: dict[object, ScalarDefinition] = {
    datetime.datetime: _described(DateTimeDefinition, DATETIME_DESCRIPTION),
    datetime.date: _described(DateDefinition, DATE_DESCRIPTION),
    decimal.Decimal: _described(DecimalDefinition, DECIMAL_DESCRIPTION),
}
