"""Every part of the schema a reader meets in GraphiQL's docs pane has a description: each type, field,
argument, input field, enum value and custom directive, as introspection gives them to clients; and what
the descriptions promise about the JSON form of values holds."""

import re

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_client_schema,
    build_schema as build_sdl_schema,
    is_specified_directive,
)

from db.models import Role
from graph.auth import access_note
from graph.errors import ErrorCode
from graph.schema import MUTATION_ACCESS, QUERY_ACCESS, SUBSCRIPTION_ACCESS, build_schema
from tests.utils import TEST_PASSWORD

# graphql-core describes these itself; so do its introspection types, whose names start with "__".
BUILT_IN_SCALARS = frozenset({"String", "Int", "Float", "Boolean", "ID"})


def undescribed(schema: GraphQLSchema) -> list[str]:
    """Where `schema` lacks a description (blank counts as none): `Type`, `Type.field`, `Type.field(arg)`,
    `Enum.VALUE`, `@directive`."""
    missing: list[str] = []

    def check(where: str, description: str | None) -> None:
        if not (description or "").strip():
            missing.append(where)

    for name, type_ in sorted(schema.type_map.items()):
        if name.startswith("__") or name in BUILT_IN_SCALARS:
            continue
        check(name, type_.description)
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in type_.fields.items():
                check(f"{name}.{field_name}", field.description)
                for argument_name, argument in field.args.items():
                    check(f"{name}.{field_name}({argument_name})", argument.description)
        elif isinstance(type_, GraphQLInputObjectType):
            for field_name, input_field in type_.fields.items():
                check(f"{name}.{field_name}", input_field.description)
        elif isinstance(type_, GraphQLEnumType):
            for value_name, value in type_.values.items():
                check(f"{name}.{value_name}", value.description)
    # Directives' own arguments are left out: strawberry gives schema directive arguments no description.
    for directive in schema.directives:
        if not is_specified_directive(directive):
            check(f"@{directive.name}", directive.description)
    return missing


def test_every_part_of_the_schema_has_a_description():
    # What GraphiQL's docs pane shows comes from introspection: walk the schema rebuilt from it.
    schema = build_client_schema(build_schema().introspect())
    missing = undescribed(schema)
    assert not missing, f"{len(missing)} parts of the schema have no description:\n" + "\n".join(missing)


def test_undescribed_finds_each_kind_of_undescribed_part():
    schema = build_sdl_schema(
        '''
        "A directive." directive @tagged(name: String) on FIELD_DEFINITION
        directive @bare on FIELD_DEFINITION
        "Described." scalar Described
        scalar Bare
        "Described." interface Named { "Described." name: String }
        "Described." type Query implements Named {
          "Described." name: String
          count("Described." first: Int, after: String): Int
          plain: Bare
          choice: Choice
          union: Either
        }
        "Described." enum Choice { "Described." ONE TWO }
        input Filter { "Described." search: String, kind: Choice }
        union Either = Query
        "Described." type Mutation { "Described." run("Described." filter: Filter): Described }
        '''
    )
    assert undescribed(schema) == [
        "Bare",
        "Choice.TWO",
        "Either",
        "Filter",
        "Filter.kind",
        "Query.count",
        "Query.count(after)",
        "Query.plain",
        "Query.choice",
        "Query.union",
        "@bare",
    ]


def test_root_fields_say_who_may_use_them():
    schema = build_client_schema(build_schema().introspect())
    for root, access in (("Query", QUERY_ACCESS), ("Mutation", MUTATION_ACCESS), ("Subscription", SUBSCRIPTION_ACCESS)):
        root_type = schema.get_type(root)
        assert isinstance(root_type, GraphQLObjectType)
        assert root_type.fields.keys() == access.keys()
        for name, field in root_type.fields.items():
            # The same table the permissions come from (graph/auth.py's `guard`).
            assert (field.description or "").endswith(access_note(access[name])), f"{root}.{name}"
    assert access_note(Role.MANAGER) == "**Access:** MANAGER or ADMIN."
    assert access_note(Role.VIEWER) == "**Access:** VIEWER, CLERK, MANAGER or ADMIN (any signed-in user)."


def test_every_mutation_but_logout_names_its_error_codes():
    schema = build_client_schema(build_schema().introspect())
    mutation = schema.get_type("Mutation")
    assert isinstance(mutation, GraphQLObjectType)
    codes = {code.name for code in ErrorCode}
    for name, field in mutation.fields.items():
        description = field.description or ""
        named = {code for code in codes if f"`{code}`" in description}
        if name == "logout":
            assert not named, description
        else:
            assert "**Error codes**" in description and named, f"{name} does not name its error codes"


# The DateTime scalar's description: UTC written as +00:00, microseconds when they are not zero.
DATETIME_OUTPUT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00")


async def test_datetime_values_have_the_form_the_description_gives(gql_as, anonymous_gql):
    client = await gql_as(Role.VIEWER, username="reader")
    read = await client("{ me { createdAt } }")
    written = await anonymous_gql(
        "mutation($p: String!) { login(username: \"reader\", password: $p) { expiresAt errors { code } } }",
        {"p": TEST_PASSWORD},
    )
    assert written["login"]["errors"] == []
    for value in (read["me"]["createdAt"], written["login"]["expiresAt"]):
        assert DATETIME_OUTPUT.fullmatch(value), value
    assert "+00:00" in (build_schema().get_type_by_name("DateTime").description or "")
