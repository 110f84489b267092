"""The benchmark's operations (bench/operations/*.graphql, with the runner's own variables) against a small
generated dataset, over HTTP as the benchmark sends them: each answers without errors, in the number of
SQL statements bench/workload.STATEMENTS states; `python -m bench run` checks its counts against the same
figures, so the benchmark's table and these tests report one thing."""

import uuid

import pytest

from bench.probe import response_problem
from bench.workload import OPERATIONS, STATEMENTS, Facts, build, read_facts
from db import bulk_seed
from db.bulk_seed import BulkSpec
from db.engine import Database
from db.models import Role

# Large enough that every level of every operation has rows: categories three deep with products and
# offers, products with 20 or more ledger entries, stock to ship.
SPEC = BulkSpec(products=600, suppliers=30, categories=40, warehouses=3, transactions=8_000, seed=5)


@pytest.fixture
async def facts(database: Database) -> Facts:
    async with database.write_session() as session, session.begin():
        await bulk_seed.seed_bulk(session, spec=SPEC)
    async with database.read_session() as session:
        return await read_facts(session)


@pytest.mark.parametrize("name", OPERATIONS)
async def test_each_operation_takes_its_stated_statements(name, facts, gql_as, statements) -> None:  # type: ignore[no-untyped-def]
    client = await gql_as(Role.CLERK)
    [operation] = build(facts, (name,))
    # A read: its first request. The write mix: a receipt, then a shipment.
    requests = operation.requests[:2] if operation.is_write else operation.requests[:1]
    counts = []
    for request in requests:
        body = request.body(operation.document, key=f"test-{uuid.uuid4().hex}")
        with statements.count(sign_in=False) as executed:
            response = await client.http.post(
                "/graphql", content=body, headers={**client.headers, "Content-Type": "application/json"}
            )
        assert response.status_code == 200, response.text
        decoded = response.json()
        assert response_problem(decoded) is None, response_problem(decoded)
        # an answer with rows in it (not an empty page); a movement with its entry and stock level
        assert _values(decoded["data"]) > (5 if operation.is_write else 20), decoded
        counts.append(len(executed))
    assert tuple(counts) == STATEMENTS[name][statements.dialect], counts


def _values(data: object) -> int:
    if isinstance(data, dict):
        return sum(_values(value) for value in data.values())
    if isinstance(data, list):
        return sum(_values(value) for value in data)
    return 1
