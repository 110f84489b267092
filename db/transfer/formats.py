"""The columns of each kind of file, in the order exports write them, and which of them an import requires."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    columns: tuple[str, ...]
    required: tuple[str, ...]
    # The API's input field names (as the shared rules name them in errors) and the columns they are read from.
    fields: dict[str, str]

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.required)


_COMMON = {
    "unitPrice": "unit_price",
    "unitCost": "unit_cost",
    "reorderPoint": "reorder_point",
    "reorderQuantity": "reorder_quantity",
    "isActive": "is_active",
    "supplierSku": "supplier_sku",
    "leadTimeDays": "lead_time_days",
    "isPreferred": "is_preferred",
    "productId": "sku",
    "supplierId": "supplier",
    "warehouseId": "warehouse",
    "categoryId": "category",
}

FORMATS = {
    "categories": Format(("path", "slug", "description"), ("path",), {**_COMMON, "name": "path"}),
    "suppliers": Format(("name", "email", "phone", "website", "address", "is_active"), ("name",), _COMMON),
    "warehouses": Format(("code", "name", "address", "is_active"), ("code", "name"), _COMMON),
    "products": Format(
        ("sku", "name", "description", "unit_price", "category", "reorder_point", "reorder_quantity", "is_active"),
        ("sku", "name", "unit_price"),
        _COMMON,
    ),
    "offers": Format(
        ("sku", "supplier", "supplier_sku", "unit_cost", "lead_time_days", "is_preferred"),
        ("sku", "supplier", "unit_cost"),
        _COMMON,
    ),
    "stock": Format(("sku", "warehouse", "quantity", "unit_cost"), ("sku", "quantity", "unit_cost"), _COMMON),
}
IMPORT_KINDS = tuple(FORMATS)

# `reason` last: added after the others (adjustment reasons), so columns read by position keep their places.
LEDGER_COLUMNS = (
    "created_at", "sku", "warehouse", "kind", "quantity", "balance_after", "unit_cost", "reference", "note",
    "reason",
)
EXPORT_KINDS = (*IMPORT_KINDS, "ledger")
# A category path's separator: `Tools/Hand tools` is the category "Hand tools" under the root "Tools".
PATH_SEPARATOR = "/"
