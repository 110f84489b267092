"""The committed SDL is the schema: a change to the API must show up in `schema.graphql`."""

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from graph.cli import app
from graph.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_graphql_matches_the_schema():
    assert SCHEMA_FILE.read_text() == schema.as_str() + "\n", (
        "The schema changed: run `inventory schema > schema.graphql` and commit the file."
    )


def test_possible_types_list_every_implementation_of_every_interface_in_the_schema_file():
    """`inventory schema --possible-types` is Apollo Client's `possibleTypes`, read here from the SDL itself."""
    sdl = SCHEMA_FILE.read_text()
    expected: dict[str, list[str]] = {name: [] for name in re.findall(r"^interface (\w+)", sdl, re.MULTILINE)}
    for name, interfaces in re.findall(r"^type (\w+) implements ([\w& ]+?) *[{@]", sdl, re.MULTILINE):
        for interface in interfaces.split("&"):
            expected[interface.strip()].append(name)
    for name, members in re.findall(r"^union (\w+)[^=]*= *([\w| ]+)", sdl, re.MULTILINE):
        expected[name] = [member.strip() for member in members.split("|") if member.strip()]

    result = CliRunner().invoke(app, ["schema", "--possible-types"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {name: sorted(types) for name, types in expected.items()}
    assert "Product" in expected["Node"] and "Warehouse" in expected["Node"]


def test_schema_command_prints_the_schema_file():
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    assert result.output == SCHEMA_FILE.read_text()
