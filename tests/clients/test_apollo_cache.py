"""Apollo Client's cache against the API served over HTTP: after `shipStock`, a product's cached stock list
shows the new quantity without a request of its own, because stock levels carry their global ID in
`Product.stock` and in the mutation's payload alike. Without the IDs, the same script's cache keeps the old
quantity: the check can fail.

Runs tests/clients/apollo/cache.mjs with Node (20 or later) on the packages `npm ci` installs there
(.ci/run does). Skipped without Node or those packages, unless INVENTORY_REQUIRE_NODE=1 (as in .ci/run),
which makes either missing a failure."""

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from db.models import Role
from tests.api.stock_helpers import RECEIVE, make_product, make_warehouse, move

APOLLO = Path(__file__).parent / "apollo"
SCRIPT_SECONDS = 60


@pytest.fixture
def node() -> str:
    """The path of `node`, with the script's packages installed. Without them the test is skipped, or fails
    under INVENTORY_REQUIRE_NODE=1."""
    path = shutil.which("node")
    if path is None:
        missing = "Node.js is not installed"
    elif not (APOLLO / "node_modules" / "@apollo" / "client").is_dir():
        missing = f"the Apollo Client packages are not installed (npm ci in {APOLLO})"
    else:
        return path
    if os.environ.get("INVENTORY_REQUIRE_NODE") == "1":
        pytest.fail(f"{missing}, and INVENTORY_REQUIRE_NODE=1 asks for the client tests to run")
    pytest.skip(missing)


async def _run(node: str, *arguments: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        node, str(APOLLO / "cache.mjs"), *arguments,
        cwd=APOLLO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), SCRIPT_SECONDS)
    assert process.returncode == 0, err.decode()
    return json.loads(out.decode().strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["with-ids", "without-ids"])
async def test_a_cached_stock_list_shows_a_shipment_without_a_refetch(
    node: str, server: str, gql: Any, gql_as: Any, database: Any, mode: str
) -> None:
    _product_pk, product = await make_product(database, "APOLLO-1")
    _, warehouse = await make_warehouse(database, "AP1")
    _, other = await make_warehouse(database, "AP2")
    await move(gql, RECEIVE, productId=product, warehouseId=warehouse, quantity=12, unitCost="1.00")
    await move(gql, RECEIVE, productId=product, warehouseId=other, quantity=5, unitCost="1.00")
    clerk = await gql_as(Role.CLERK)

    result = await _run(node, f"{server}/graphql", clerk.token, product, warehouse, "5", mode)

    # One query and one mutation went over HTTP: the second read came from the cache alone.
    assert result["operations"] == ["ProductStock", "Ship"], result
    assert result["before"] == 12 and result["returned"] == 7, result
    if mode == "with-ids":
        assert result["levelNormalized"] is True, result
        assert result["cachedAfter"] == 7, result
    else:
        # Without IDs the cache cannot tell which level the payload's is: the list keeps the old quantity.
        assert result["levelNormalized"] is False, result
        assert result["cachedAfter"] == 12, result
    level = (await gql("query($id: ID!) { product(id: $id) { stock { quantityOnHand } } }", {"id": product}))
    assert sorted(s["quantityOnHand"] for s in level["product"]["stock"]) == [5, 7]
