"""Money over HTTP always has its column's scale, zero included: two places for prices, costs and report
values, four for a product's average cost; in queries (the read plans and the reference path agree, see
tests/conftest.py) and in mutation payloads."""

import re
from decimal import Decimal
from typing import Any

import pytest

from tests.utils import GraphQLClient

# Each Decimal field of the schema and its scale (db/models: Money(14, 2), average_cost Money(18, 4)).
SCALES = {"unitPrice": 2, "unitCost": 2, "totalValue": 2, "value": 2, "averageCost": 4}


def _money(data: Any, found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every (field, value) of a money field in `data`, however deep."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in SCALES and value is not None:
                found.append((key, value))
            else:
                _money(value, found)
    elif isinstance(data, list):
        for item in data:
            _money(item, found)
    return found


def assert_scaled(data: Any) -> list[str]:
    """Fail unless every money value in `data` is plain digits with exactly its field's number of places;
    the values, for the test to check further."""
    values = _money(data, [])
    assert values, "no money in the response"
    for key, value in values:
        assert isinstance(value, str), (key, value)
        assert re.fullmatch(rf"-?\d+\.\d{{{SCALES[key]}}}", value), f"{key} = {value!r}"
    return [value for _, value in values]


ERRORS = "errors { field message code }"
PRODUCT = "id sku unitPrice averageCost"


async def _mutate(gql: GraphQLClient, mutation: str, selection: str, input: dict[str, Any]) -> Any:
    """The payload of `mutation(input: ...)`, which must have succeeded; its input type is named after it."""
    input_type = mutation[0].upper() + mutation[1:] + "Input"
    data = await gql(
        f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ {selection} {ERRORS} }} }}", {"input": input}
    )
    payload = data[mutation]
    assert payload["errors"] == [], payload["errors"]
    return payload


@pytest.mark.parametrize("amount", ["0", "12.5", "100", "0.07"])
async def test_product_payloads_and_reads_give_prices_with_two_places_and_average_cost_with_four(
    gql: GraphQLClient, amount: str
) -> None:
    price = f"{Decimal(amount):.2f}"
    new = {"sku": "P-1", "name": "P", "unitPrice": amount}
    product = (await _mutate(gql, "createProduct", f"product {{ {PRODUCT} }}", new))["product"]
    assert assert_scaled(product) == [price, "0.0000"]

    updated = await _mutate(gql, "updateProduct", f"product {{ {PRODUCT} }}", {"id": product["id"], "name": "Q"})
    assert assert_scaled(updated["product"]) == [price, "0.0000"]

    read = await gql(f"query($id: ID!) {{ product(id: $id) {{ {PRODUCT} }} }}", {"id": product["id"]})
    assert read["product"] == product
    listed = await gql(f"{{ products(first: 5) {{ nodes {{ {PRODUCT} }} }} }}")
    assert assert_scaled(listed) == [price, "0.0000"]


async def test_costs_average_cost_and_valuation_keep_their_scale_at_zero_and_above(gql: GraphQLClient) -> None:
    warehouse = (await _mutate(gql, "createWarehouse", "warehouse { id }", {"code": "W1", "name": "W"}))["warehouse"]
    supplier = (await _mutate(gql, "createSupplier", "supplier { id }", {"name": "S"}))["supplier"]
    category = (await _mutate(gql, "createCategory", "category { id }", {"name": "C"}))["category"]

    valuation = "inventoryValuation { totalValue byCategory { value } }"
    assert (await gql(f"{{ {valuation} }}"))["inventoryValuation"] == {"totalValue": "0.00", "byCategory": []}

    products = {}
    for sku, price in (("FREE", "0"), ("PAID", "20")):
        created = await _mutate(
            gql,
            "createProduct",
            "product { id }",
            {"sku": sku, "name": sku, "unitPrice": price, "categoryId": category["id"], "reorderPoint": 5},
        )
        products[sku] = created["product"]["id"]

    offer = "productSupplier { unitCost product { unitPrice averageCost } }"
    for sku, cost in (("FREE", "0"), ("PAID", "7.1")):
        set_offer = await _mutate(
            gql,
            "setProductSupplier",
            offer,
            {"productId": products[sku], "supplierId": supplier["id"], "unitCost": cost, "isPreferred": True},
        )
        assert assert_scaled(set_offer)[0] == f"{Decimal(cost):.2f}"

    # Stock of the free product, received at no cost: an average cost and a valuation of zero.
    movement = "transactions { unitCost product { averageCost } }"
    receipt = {"productId": products["FREE"], "warehouseId": warehouse["id"], "quantity": 3, "unitCost": "0"}
    received = await _mutate(gql, "receiveStock", movement, receipt)
    assert assert_scaled(received) == ["0.00", "0.0000"]
    zero = (await gql(f"{{ {valuation} }}"))["inventoryValuation"]
    assert zero == {"totalValue": "0.00", "byCategory": [{"value": "0.00"}]}

    # Two receipts of the paid one at different costs: an average with four places.
    for quantity, cost in ((1, "1"), (2, "2")):
        receipt = {"productId": products["PAID"], "warehouseId": warehouse["id"], "quantity": quantity}
        received = await _mutate(gql, "receiveStock", movement, receipt | {"unitCost": cost})
    assert assert_scaled(received) == ["2.00", "1.6667"]
    assert (await gql(f"{{ {valuation} }}"))["inventoryValuation"] == {
        "totalValue": "5.00",
        "byCategory": [{"value": "5.00"}],
    }

    order = await _mutate(
        gql,
        "createPurchaseOrder",
        "purchaseOrder { id lines { unitCost product { unitPrice } } }",
        {
            "supplierId": supplier["id"],
            "lines": [
                {"productId": products["FREE"], "quantity": 1},
                {"productId": products["PAID"], "quantity": 1, "unitCost": "3"},
            ],
        },
    )
    assert assert_scaled(order) == ["0.00", "0.00", "3.00", "20.00"]

    everything = """query($order: ID!) {
      products(first: 10) { nodes { sku unitPrice averageCost
        suppliers { unitCost } transactions(first: 10) { nodes { unitCost } } } }
      purchaseOrder(id: $order) { lines { unitCost } }
      lowStock(first: 10) { nodes { preferredSupplier { unitCost } } }
      transactions(first: 10) { nodes { unitCost product { averageCost } } }
    }"""
    data = await gql(everything, {"order": order["purchaseOrder"]["id"]})
    assert_scaled(data)
    assert {p["sku"]: (p["unitPrice"], p["averageCost"]) for p in data["products"]["nodes"]} == {
        "FREE": ("0.00", "0.0000"),
        "PAID": ("20.00", "1.6667"),
    }


@pytest.mark.parametrize("amount", ["-0", "-0.00", "+0", "-.0"])
async def test_a_negative_zero_is_read_as_zero(gql: GraphQLClient, amount: str) -> None:
    new = {"sku": "Z", "name": "Z", "unitPrice": amount}
    created = await _mutate(gql, "createProduct", "product { unitPrice }", new)
    assert created["product"]["unitPrice"] == "0.00"


@pytest.mark.parametrize(
    "amount", ["1_000", " 5 ", "5 ", "\u0665", "\u0661\u0660", "1e3", "1E-2", "NaN", "Infinity", "-", ".", "", "0x10"]
)
async def test_money_input_takes_only_ascii_decimal_notation(gql: GraphQLClient, amount: str) -> None:
    mutation = "mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id } } }"
    body = await gql.post(mutation, {"input": {"sku": "N", "name": "N", "unitPrice": amount}})
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "unitPrice" in error["message"]
    assert (await gql("{ products(first: 1) { nodes { id } } }"))["products"]["nodes"] == []

    literal = f'{{ products(first: 1, filter: {{minPrice: "{amount}"}}) {{ nodes {{ id }} }} }}'
    [error] = (await gql.post(literal))["errors"]
    # a bad literal fails validation, as any literal of the wrong type does (its location says where)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["message"].startswith("Value cannot represent a Decimal")
