"""The committed SDL is the schema: a change to the API must show up in `schema.graphql`."""

from pathlib import Path

from graph.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_graphql_matches_the_schema():
    assert SCHEMA_FILE.read_text() == schema.as_str() + "\n", (
        "The schema changed: run `inventory schema > schema.graphql` and commit the file."
    )
