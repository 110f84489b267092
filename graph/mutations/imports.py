"""CSV import over the API: `importProducts` and `importStock` take CSV text in the format of `inventory import`
or the same rows as input objects, check them with db/transfer's import and write them in one transaction."""

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from db.errors import Invalid
from db.transfer import imports as transfer
from db.transfer.csvfile import FileProblem, RowError, Table
from graph.context import Context
from graph.errors import ErrorCode, with_error_codes
from graph.mutations.base import errors_field, optional
from graph.mutations.base import write as _write
from graph.mutations.catalog import DESCRIPTION, PRODUCT_NAME, REORDER_POINT, REORDER_QUANTITY, SKU, UNIT_PRICE
from graph.mutations.stock import QUANTITY

UNSET: Any = strawberry.UNSET

# The most rows one mutation imports, and the most characters of CSV text it reads (the request body limit,
# INVENTORY_MAX_BODY_BYTES, is usually the smaller bound); larger files go through `inventory import`.
MAX_IMPORT_ROWS = 10_000
MAX_CSV_CHARS = 5_000_000
# What the shared messages call the command's options, as this API names them.
_OPTION_NAMES = {"--mode upsert": "`mode: UPSERT`", "or --warehouse": "or the `warehouse` argument"}
# Messages number a file's rows as the file does (the header is row 1); the API numbers data rows.
_ROW_NUMBER = re.compile(r"\b([Rr]ow) ([0-9]+)\b")


@strawberry.enum(description="What an import writes when some rows are refused.")
class ImportErrorPolicy(Enum):
    REJECT_EVERYTHING = strawberry.enum_value(
        "REJECT_EVERYTHING", description="Nothing, when any row is refused: every row lands or none does."
    )
    REJECT_FAILED_ROWS = strawberry.enum_value(
        "REJECT_FAILED_ROWS", description="The rows that passed every check; the refused ones are in `errors`."
    )


@strawberry.enum(description="What importing a product whose SKU exists does.")
class ImportMode(Enum):
    INSERT = strawberry.enum_value("INSERT", description="Refuses the row (DUPLICATE): only new products are added.")
    UPSERT = strawberry.enum_value(
        "UPSERT",
        description="Updates the product to the row's values; fields no row gives (columns the CSV lacks) keep "
        "theirs.",
    )


@strawberry.input(
    description="A product to import: the columns of a products CSV file. Fields no row gives are left as they are "
    "by an UPSERT; a row that leaves out a field other rows give clears it, as an empty cell does."
)
class ProductImportRow:
    sku: str = strawberry.field(description=f"{SKU} Names the product to add or (UPSERT) update.")
    name: str = strawberry.field(description=PRODUCT_NAME)
    unit_price: Decimal = strawberry.field(description=UNIT_PRICE)
    description: str | None = optional(DESCRIPTION, UNSET)
    category: str | None = optional(
        "The product's category, by its path (names from the top joined by '/': `Tools/Hand tools`, whatever the "
        "case) or its slug; no category when null.",
        UNSET,
    )
    reorder_point: int | None = optional(f"{REORDER_POINT} 0 when null.", UNSET)
    reorder_quantity: int | None = optional(f"{REORDER_QUANTITY} 0 when null.", UNSET)
    is_active: bool | None = optional("False imports the product archived; true when null.", UNSET)


@strawberry.input(description="Opening stock to import: the columns of a stock CSV file; each row is one RECEIPT.")
class StockImportRow:
    sku: str = strawberry.field(description="The SKU of the product received.")
    quantity: int = strawberry.field(description=QUANTITY)
    unit_cost: Decimal = strawberry.field(
        description="What one unit cost: at least 0, at most 2 decimal places; it feeds the product's average cost."
    )
    warehouse: str | None = optional(
        "The code of the warehouse that receives it; the mutation's `warehouse` argument when null.", UNSET
    )


@strawberry.type(description="One problem of an import: of one row, or (`row` null) of the request as a whole.")
class ImportRowError:
    row: int | None = strawberry.field(
        description="The row at fault, numbered from 1: the index in `rows` plus 1, or the CSV line below the "
        "header (blank lines count). Null when the problem is not one row's."
    )
    field: str | None = strawberry.field(
        description="Where: `rows.<row>.<field>` (`rows.3.unitPrice`), with the input object's field names for "
        "CSV text too; `rows.<row>` for the row as a whole; `csv`, `rows` or an argument's name for the request "
        "as a whole."
    )
    code: ErrorCode = strawberry.field(
        description="INVALID for a value that breaks a rule, NOT_FOUND for a SKU, category or warehouse that "
        "names nothing, DUPLICATE for a SKU given twice or (INSERT) already taken."
    )
    message: str = strawberry.field(description="What is wrong, in a sentence for people.")


@strawberry.type(description="What an import checked and wrote.")
class ImportPayload:
    rows: int = strawberry.field(default=0, description="Data rows received (blank CSV lines are not rows).")
    inserted: int = strawberry.field(
        default=0, description="Products added, or RECEIPT entries made; 0 when nothing was written."
    )
    updated: int = strawberry.field(default=0, description="Products changed by an UPSERT; 0 when nothing was written.")
    unchanged: int = strawberry.field(
        default=0,
        description="Rows that change nothing: products that already have the row's values, or stock rows "
        "imported before (the same row at the same position).",
    )
    written: bool = strawberry.field(
        default=False,
        description="Whether rows were written: false on a dry run, and with REJECT_EVERYTHING when any row "
        "was refused.",
    )
    errors: list[ImportRowError] = errors_field()

    def __post_init__(self) -> None:
        # write() gives a refusal of the whole request (graph/mutations/base.py) as UserErrors: errors of no row.
        self.errors = [
            e if isinstance(e, ImportRowError)
            else ImportRowError(row=None, field=e.field, code=e.code, message=e.message)
            for e in self.errors
        ]

    @classmethod
    def of(cls, outcome: "_Outcome") -> "ImportPayload":
        result = outcome.result
        return cls(
            rows=result.rows,
            inserted=result.inserted,
            updated=result.updated,
            unchanged=result.unchanged,
            written=result.written,
            errors=[_row_error(e, as_fields=outcome.from_rows) for e in result.errors],
        )


@dataclass(frozen=True)
class _Outcome:
    result: transfer.ImportResult
    from_rows: bool  # the rows came as input objects: messages name their fields, not the CSV's columns


def _row_error(error: RowError, *, as_fields: bool) -> ImportRowError:
    row = error.row - 1  # the table numbers its header row 1
    message = _ROW_NUMBER.sub(lambda m: f"{m[1]} {int(m[2]) - 1}", error.message)
    for option, argument in _OPTION_NAMES.items():
        message = message.replace(option, argument)
    field = f"rows.{row}"
    if error.column is not None:
        name = to_camel_case(error.column)
        field = f"{field}.{name}"
        if as_fields:
            message = message.replace(f"`{error.column}`", f"`{name}`")
    return ImportRowError(row=row, field=field, code=ErrorCode(error.code), message=message)


def _table(kind: str, csv: str | None, rows: list[Any] | None) -> Table:
    """The rows to import, from exactly one of `csv` and `rows`; Invalid for a request that gives both, neither,
    or too much."""
    if (csv is None) == (rows is None):
        given = "both" if csv is not None else "neither"
        field = "csv" if csv is not None else None
        raise Invalid(f"Give exactly one of `csv` and `rows` ({given} given).", field=field)
    if rows is not None:
        table = transfer.table_of(
            kind, [{name: value for name, value in vars(row).items() if value is not UNSET} for row in rows]
        )
        field = "rows"
    else:
        assert csv is not None
        if len(csv) > MAX_CSV_CHARS:
            raise Invalid(
                f"The CSV text has {len(csv):,} characters; an import takes at most {MAX_CSV_CHARS:,} "
                "(`inventory import` takes files of any size).",
                field="csv",
            )
        try:
            table = transfer.read_table(kind, csv.encode(), name="The CSV text")
        except FileProblem as error:
            raise Invalid(str(error), field="csv") from None
        field = "csv"
    if len(table.rows) > MAX_IMPORT_ROWS:
        raise Invalid(
            f"{len(table.rows):,} rows: an import takes at most {MAX_IMPORT_ROWS:,} (`inventory import` takes "
            "files of any size).",
            field=field,
        )
    return table


async def _import(
    info: Info[Context, None],
    *,
    kind: str,
    csv: str | None,
    rows: list[Any] | None,
    dry_run: bool,
    error_policy: ImportErrorPolicy,
    mode: ImportMode = ImportMode.INSERT,
    warehouse: str | None = None,
) -> ImportPayload:
    async def run(session: Any, *, table: Table, created_by_id: int | None) -> _Outcome:
        result = await transfer.import_table(
            session,
            kind=kind,
            table=table,
            mode=mode.value.lower(),
            warehouse=warehouse,
            skip_invalid=error_policy is ImportErrorPolicy.REJECT_FAILED_ROWS,
            dry_run=dry_run,
            created_by_id=created_by_id,
        )
        return _Outcome(result, from_rows=rows is not None)

    return await _write(
        info, ImportPayload, run, lambda: {"table": _table(kind, csv, rows)}, records_user="created_by_id"
    )


# --- arguments --------------------------------------------------------------------------------------------


def _csv(kind: str, columns: str) -> Any:
    return strawberry.argument(
        description=f"The rows as CSV text, as `inventory import {kind}` reads a file: a header naming the columns "
        f"({columns}), comma or semicolon separated, amounts with a '.' decimal point and no thousands "
        f"separators. At most {MAX_CSV_CHARS:,} characters and {MAX_IMPORT_ROWS:,} rows. Give this or `rows`."
    )


_ROWS = strawberry.argument(
    description=f"The rows as input objects, checked as CSV rows are; at most {MAX_IMPORT_ROWS:,}. Give this or `csv`."
)
_DRY_RUN = strawberry.argument(description="Check every row and report the errors; write nothing.")
_POLICY = strawberry.argument(description="Whether refused rows keep the others out (the default) or not.")

_ROW_RULES = (
    "Every problem of every row is listed, each with its row and field; the request as a whole is refused "
    "(`row` null) when it gives both `csv` and `rows` or neither, has too many rows or characters, or the CSV "
    "text lacks a required column, names an unknown one or is not CSV."
)


@strawberry.type
class ImportMutations:
    @strawberry.mutation(
        description=with_error_codes(
            "Add products, or with `mode: UPSERT` also update them by SKU, from CSV text or input objects, in one "
            f"transaction. Imported products name you as their creator, and the change log records each. {_ROW_RULES}",
            INVALID="a value breaks the rules of `createProduct`, or the request is refused as a whole.",
            NOT_FOUND="`category` names no category.",
            DUPLICATE="a SKU is given twice, or (INSERT) another product has it.",
        )
    )
    async def import_products(
        self,
        info: Info[Context, None],
        csv: Annotated[str | None, _csv("products", "sku, name and unit_price; description, category, "
                                        "reorder_point, reorder_quantity and is_active optional")] = None,
        rows: Annotated[list[ProductImportRow] | None, _ROWS] = None,
        dry_run: Annotated[bool, _DRY_RUN] = False,
        error_policy: Annotated[ImportErrorPolicy, _POLICY] = ImportErrorPolicy.REJECT_EVERYTHING,
        mode: Annotated[ImportMode, strawberry.argument(description="Whether existing SKUs are refused or updated.")]
        = ImportMode.INSERT,
    ) -> ImportPayload:
        return await _import(
            info, kind="products", csv=csv, rows=rows, dry_run=dry_run, error_policy=error_policy, mode=mode
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Receive opening stock from CSV text or input objects, in one transaction: each row is a RECEIPT in "
            "the ledger with its unit cost, as `receiveStock` records it. A row imported before (the same values "
            f"at the same row) is not received again, so sending the same import twice changes nothing. {_ROW_RULES}",
            INVALID="a value breaks the rules of `receiveStock` (the product or warehouse is archived, ...), or the "
            "request is refused as a whole.",
            NOT_FOUND="a SKU names no product, or a warehouse code no warehouse.",
        )
    )
    async def import_stock(
        self,
        info: Info[Context, None],
        csv: Annotated[str | None, _csv("stock", "sku, quantity and unit_cost; warehouse optional")] = None,
        rows: Annotated[list[StockImportRow] | None, _ROWS] = None,
        dry_run: Annotated[bool, _DRY_RUN] = False,
        error_policy: Annotated[ImportErrorPolicy, _POLICY] = ImportErrorPolicy.REJECT_EVERYTHING,
        warehouse: Annotated[
            str | None, strawberry.argument(description="The code of the warehouse for rows that name none.")
        ] = None,
    ) -> ImportPayload:
        return await _import(
            info, kind="stock", csv=csv, rows=rows, dry_run=dry_run, error_policy=error_policy, warehouse=warehouse
        )
