"""Signing in over HTTP: login, throttling, expiry, logout, deactivation, `me`, user management by
administrators only, and passwords and tokens kept out of logs and responses."""

import logging
from datetime import datetime, timedelta

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select, update

from db import users
from db.config import Settings
from db.engine import Database
from db.models import ApiToken, Category, Role, User
from db.types import utcnow
from graph.app import create_app
from tests.utils import TEST_PASSWORD, GraphQLClient, StatementCounter, global_id, serving, sign_in

GENERIC_FAILURE = [{"field": None, "message": "Invalid username or password.", "code": "INVALID_CREDENTIALS"}]

LOGIN = """
mutation Login($username: String!, $password: String!) {
  login(username: $username, password: $password) {
    token expiresAt
    user { id username role isActive }
    errors { field message code }
  }
}
"""
ME = "{ me { id username email role isActive createdAt } }"
USERS = "{ users(first: 10) { totalCount nodes { username role isActive } } }"
CREATE_USER = """
mutation Create($input: CreateUserInput!) {
  createUser(input: $input) { user { id username email role isActive } errors { field message code } }
}
"""
UPDATE_USER = """
mutation Update($input: UpdateUserInput!) {
  updateUser(input: $input) { user { id username email role isActive } errors { field message code } }
}
"""
DEACTIVATE_USER = """
mutation Deactivate($id: ID!) {
  deactivateUser(id: $id) { user { id isActive } errors { field message code } }
}
"""
LOGOUT = "mutation { logout { user { username } errors { message } } }"


async def _user(database: Database, username: str) -> User:
    async with database.read_session() as session:
        user = await users.user_by_username(session, username=username)
    assert user is not None
    return user


async def _login(client: GraphQLClient, username: str, password: str = TEST_PASSWORD) -> dict:
    return (await client(LOGIN, {"username": username, "password": password}))["login"]


def _as(client: GraphQLClient, token: str) -> GraphQLClient:
    return GraphQLClient(client.http, token)


def _codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


# --- login and me -------------------------------------------------------------------------------


async def test_login_returns_a_token_that_identifies_the_user(anonymous_gql: GraphQLClient, database: Database) -> None:
    user, _ = await sign_in(database, Role.CLERK, username="alice")
    before = utcnow()

    result = await _login(anonymous_gql, "Alice")  # usernames are matched whatever the case

    assert result["errors"] == []
    assert result["user"] == {"id": global_id("User", user.id), "username": "alice", "role": "CLERK", "isActive": True}
    assert len(result["token"]) >= 40
    expires_at = result["expiresAt"]
    assert before + timedelta(minutes=720) <= datetime.fromisoformat(expires_at) <= utcnow() + timedelta(minutes=720)
    me = (await _as(anonymous_gql, result["token"])(ME))["me"]
    assert me["username"] == "alice" and me["role"] == "CLERK"


async def test_me_is_null_without_a_valid_token(anonymous_gql: GraphQLClient) -> None:
    assert (await anonymous_gql(ME))["me"] is None
    assert (await _as(anonymous_gql, "not-a-token")(ME))["me"] is None


async def test_wrong_password_and_unknown_user_fail_alike(anonymous_gql: GraphQLClient, database: Database) -> None:
    await sign_in(database, Role.VIEWER, username="alice")

    wrong_password = await _login(anonymous_gql, "alice", "not the password")
    unknown_user = await _login(anonymous_gql, "mallory", TEST_PASSWORD)
    blank = await _login(anonymous_gql, "", "")

    for result in (wrong_password, unknown_user, blank):
        assert result == {"token": None, "expiresAt": None, "user": None, "errors": GENERIC_FAILURE}


async def test_inactive_users_cannot_log_in(anonymous_gql: GraphQLClient, database: Database) -> None:
    user, _ = await sign_in(database, Role.VIEWER, username="alice")
    async with database.write_session() as session, session.begin():
        await users.deactivate_user(session, user_id=user.id)

    assert (await _login(anonymous_gql, "alice"))["errors"] == GENERIC_FAILURE


async def test_last_use_of_a_token_is_recorded_at_most_once_a_minute(
    anonymous_gql: GraphQLClient, database: Database
) -> None:
    _, token = await sign_in(database, Role.VIEWER)

    async def last_used():  # type: ignore[no-untyped-def]
        async with database.read_session() as session:
            return await session.scalar(select(ApiToken.last_used_at))

    assert await last_used() is None
    await _as(anonymous_gql, token)(ME)
    first = await last_used()
    assert first is not None
    await _as(anonymous_gql, token)(ME)
    assert await last_used() == first


async def test_a_token_costs_one_statement_and_no_token_none(
    anonymous_gql: GraphQLClient, database: Database, statements  # type: ignore[no-untyped-def]
) -> None:
    _, token = await sign_in(database, Role.VIEWER)
    client = _as(anonymous_gql, token)
    await client(ME)  # records the token's first use

    with statements.count() as anonymous:
        await anonymous_gql(ME)
    with statements.count() as signed_in:
        await client(ME)

    assert anonymous == []
    assert len(signed_in) == 1


async def test_the_user_is_looked_up_once_per_request_and_only_when_a_field_needs_it(
    anonymous_gql: GraphQLClient, database: Database, statements  # type: ignore[no-untyped-def]
) -> None:
    _, token = await sign_in(database, Role.VIEWER)
    client = _as(anonymous_gql, token)
    await client(ME)  # records the token's first use

    with statements.count() as several_fields:
        await client("{ me { id } products { totalCount } categories { totalCount } warehouses { totalCount } }")
    with statements.count() as no_field_needs_it:
        await client("{ __typename }")
        assert _codes(await client.post("{ products { nope } }")) == ["GRAPHQL_VALIDATION_FAILED"]

    assert sum("api_tokens" in statement for statement in several_fields) == 1
    assert no_field_needs_it == []


# --- throttling ---------------------------------------------------------------------------------


async def test_repeated_failures_delay_logins_even_with_the_right_password(
    anonymous_gql: GraphQLClient, database: Database
) -> None:
    await sign_in(database, Role.VIEWER, username="alice")
    for _ in range(4):
        assert (await _login(anonymous_gql, "alice", "wrong password"))["errors"] == GENERIC_FAILURE
    assert (await _user(database, "alice")).locked_until is None

    assert (await _login(anonymous_gql, "alice", "wrong password"))["errors"] == GENERIC_FAILURE  # the fifth
    user = await _user(database, "alice")
    assert user.failed_login_count == 5
    assert user.locked_until is not None and user.last_failed_login_at is not None
    assert user.locked_until - user.last_failed_login_at == timedelta(seconds=30)

    # The right password is refused with the same message while the delay lasts, and not counted.
    assert (await _login(anonymous_gql, "alice"))["errors"] == GENERIC_FAILURE
    assert (await _user(database, "alice")).failed_login_count == 5

    # When the delay is over, a further failure doubles it.
    await _expire_delay(database, "alice")
    assert (await _login(anonymous_gql, "alice", "wrong password"))["errors"] == GENERIC_FAILURE
    user = await _user(database, "alice")
    assert user.failed_login_count == 6
    assert user.locked_until - user.last_failed_login_at == timedelta(seconds=60)  # type: ignore[operator]

    # And the right password, once it is over, works and starts the count again.
    await _expire_delay(database, "alice")
    assert (await _login(anonymous_gql, "alice"))["token"]
    user = await _user(database, "alice")
    assert (user.failed_login_count, user.locked_until) == (0, None)


async def test_refused_logins_are_logged_with_username_and_request_id_never_the_password(
    anonymous_gql: GraphQLClient, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await sign_in(database, Role.VIEWER, username="erin")
    wrong = "not erin's password"
    attempts = [("erin", wrong, f"attempt-{n}") for n in range(5)]
    attempts += [("erin", TEST_PASSWORD, "attempt-while-locked"), ("nobody", wrong, None)]
    request_ids = []
    with caplog.at_level(logging.DEBUG):
        for username, password, request_id in attempts:
            response = await anonymous_gql.http.post(
                "/graphql",
                json={"query": LOGIN, "variables": {"username": username, "password": password}},
                headers={} if request_id is None else {"X-Request-ID": request_id},
            )
            assert response.json()["data"]["login"]["errors"] == GENERIC_FAILURE
            request_ids.append(response.headers["X-Request-ID"])  # the one sent, else the one made for it

    logged = [record.getMessage() for record in caplog.records if record.name == "inventory.auth"]
    assert all(record.levelno == logging.WARNING for record in caplog.records if record.name == "inventory.auth")
    assert len(logged) == len(attempts), logged
    for message, (username, _password, _id), request_id in zip(logged, attempts, request_ids):
        assert f"login refused for '{username}'" in message and f"request {request_id}" in message, message
    assert "wrong password (1 failed in a row)" in logged[0]
    assert "wrong password (5 failed in a row; logins refused for 30 s)" in logged[4]
    assert "locked until" in logged[5]
    assert "no such user" in logged[6]
    everything = caplog.text + "".join(str(record.args) for record in caplog.records)
    assert wrong not in everything and TEST_PASSWORD not in everything


async def _expire_delay(database: Database, username: str) -> None:
    async with database.write_session() as session, session.begin():
        await session.execute(
            update(User).where(User.username == username).values(locked_until=utcnow() - timedelta(seconds=1))
        )


def test_the_delay_doubles_up_to_its_maximum() -> None:
    security = users.Security(
        hasher=None,  # type: ignore[arg-type]
        token_ttl=timedelta(hours=1),
        failures_before_delay=5,
        delay=timedelta(seconds=30),
        max_delay=timedelta(minutes=15),
    )
    delays = [security.lockout(n) for n in range(1, 12)]
    assert delays[:4] == [None] * 4
    assert [d.total_seconds() for d in delays[4:]] == [30, 60, 120, 240, 480, 900, 900]  # type: ignore[union-attr]
    assert security.lockout(10_000) == timedelta(minutes=15)


# --- expiry, logout, revocation -----------------------------------------------------------------


async def test_an_expired_token_is_refused(anonymous_gql: GraphQLClient, database: Database) -> None:
    user, _ = await sign_in(database, Role.ADMIN)
    async with database.write_session() as session, session.begin():
        issued = await users.issue_token(session, user_id=user.id, ttl=timedelta(seconds=-1))
    client = _as(anonymous_gql, issued.token)

    assert (await client(ME))["me"] is None
    body = await client.post(USERS)
    assert body["data"] is None
    assert _codes(body) == ["UNAUTHENTICATED"]
    assert "expired" in body["errors"][0]["message"]


async def test_a_token_stops_working_when_its_time_is_up(anonymous_gql: GraphQLClient, database: Database) -> None:
    await sign_in(database, Role.VIEWER, username="alice")
    client = _as(anonymous_gql, (await _login(anonymous_gql, "alice"))["token"])
    assert (await client(ME))["me"] is not None

    async with database.write_session() as session, session.begin():
        await session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))

    assert (await client(ME))["me"] is None


async def test_logout_revokes_the_token_it_is_sent_with(anonymous_gql: GraphQLClient, database: Database) -> None:
    await sign_in(database, Role.VIEWER, username="alice")
    first = _as(anonymous_gql, (await _login(anonymous_gql, "alice"))["token"])
    second = _as(anonymous_gql, (await _login(anonymous_gql, "alice"))["token"])

    assert (await first(LOGOUT))["logout"] == {"user": {"username": "alice"}, "errors": []}

    assert (await first(ME))["me"] is None
    assert _codes(await first.post(LOGOUT)) == ["UNAUTHENTICATED"]
    assert (await second(ME))["me"]["username"] == "alice"  # other sessions are left alone


async def test_logout_needs_a_token(anonymous_gql: GraphQLClient) -> None:
    body = await anonymous_gql.post(LOGOUT)
    assert body["data"] is None
    assert _codes(body) == ["UNAUTHENTICATED"]
    assert "Authorization: Bearer" in body["errors"][0]["message"]


async def test_deactivating_a_user_revokes_all_its_tokens(gql_as, anonymous_gql: GraphQLClient, database: Database) -> None:  # type: ignore[no-untyped-def]
    admin = await gql_as(Role.ADMIN)
    created = (
        await admin(CREATE_USER, {"input": {"username": "bob", "password": TEST_PASSWORD, "role": "CLERK"}})
    )["createUser"]
    assert created["errors"] == []
    sessions = [_as(anonymous_gql, (await _login(anonymous_gql, "bob"))["token"]) for _ in range(2)]
    for client in sessions:
        assert (await client(ME))["me"]["username"] == "bob"

    result = (await admin(DEACTIVATE_USER, {"id": created["user"]["id"]}))["deactivateUser"]

    assert result == {"user": {"id": created["user"]["id"], "isActive": False}, "errors": []}
    for client in sessions:
        assert (await client(ME))["me"] is None
    assert (await _login(anonymous_gql, "bob"))["errors"] == GENERIC_FAILURE
    async with database.read_session() as session:
        assert None not in set(await session.scalars(select(ApiToken.revoked_at).join(User).where(User.username == "bob")))


async def test_a_new_password_revokes_the_old_tokens(gql_as, anonymous_gql: GraphQLClient, database: Database) -> None:  # type: ignore[no-untyped-def]
    admin = await gql_as(Role.ADMIN)
    user, token = await sign_in(database, Role.VIEWER, username="alice")

    result = (
        await admin(UPDATE_USER, {"input": {"id": global_id("User", user.id), "password": "a brand new password"}})
    )["updateUser"]

    assert result["errors"] == []
    assert (await _as(anonymous_gql, token)(ME))["me"] is None
    assert (await _login(anonymous_gql, "alice"))["errors"] == GENERIC_FAILURE
    assert (await _login(anonymous_gql, "alice", "a brand new password"))["token"]


# --- user management ----------------------------------------------------------------------------


async def test_administrators_manage_users(gql_as, anonymous_gql: GraphQLClient) -> None:  # type: ignore[no-untyped-def]
    admin = await gql_as(Role.ADMIN)

    created = (
        await admin(
            CREATE_USER,
            {"input": {"username": " Carol ", "password": TEST_PASSWORD, "role": "VIEWER", "email": "carol@example.com"}},
        )
    )["createUser"]
    assert created["errors"] == []
    assert created["user"] | {"id": None} == {
        "id": None, "username": "carol", "email": "carol@example.com", "role": "VIEWER", "isActive": True
    }

    updated = (
        await admin(UPDATE_USER, {"input": {"id": created["user"]["id"], "role": "MANAGER", "email": None}})
    )["updateUser"]
    assert updated["errors"] == []
    assert (updated["user"]["role"], updated["user"]["email"]) == ("MANAGER", None)

    listed = (await admin(USERS))["users"]
    assert listed == {
        "totalCount": 2,
        "nodes": [
            {"username": "admin", "role": "ADMIN", "isActive": True},
            {"username": "carol", "role": "MANAGER", "isActive": True},
        ],
    }
    filtered = await admin('{ users(filter: { role: MANAGER, search: "CAR" }) { nodes { username } } }')
    assert filtered["users"]["nodes"] == [{"username": "carol"}]

    # The new user signs in with the role it was given.
    me = (await _as(anonymous_gql, (await _login(anonymous_gql, "carol"))["token"])(ME))["me"]
    assert me["role"] == "MANAGER"


async def test_user_input_is_checked(gql_as) -> None:  # type: ignore[no-untyped-def]
    admin = await gql_as(Role.ADMIN)

    async def create(**fields):  # type: ignore[no-untyped-def]
        base = {"username": "dave", "password": TEST_PASSWORD, "role": "CLERK"}
        return (await admin(CREATE_USER, {"input": base | fields}))["createUser"]

    assert (await create())["errors"] == []
    assert (await create(username="DAVE"))["errors"] == [
        {"field": "username", "message": "The username “dave” is taken.", "code": "DUPLICATE"}
    ]
    errors = (await create(username="x y", password="short", email="not-an-email"))["errors"]
    assert {(e["field"], e["code"]) for e in errors} == {
        ("username", "INVALID"), ("password", "INVALID"), ("email", "INVALID")
    }


async def test_the_last_administrator_stays_one(gql_as, database: Database) -> None:  # type: ignore[no-untyped-def]
    admin = await gql_as(Role.ADMIN)
    me = await _user(database, "admin")
    admin_id = global_id("User", me.id)

    demoted = (await admin(UPDATE_USER, {"input": {"id": admin_id, "role": "VIEWER"}}))["updateUser"]
    deactivated = (await admin(DEACTIVATE_USER, {"id": admin_id}))["deactivateUser"]

    message = "The last active administrator cannot be demoted or deactivated."
    assert demoted == {"user": None, "errors": [{"field": "role", "message": message, "code": "INVALID"}]}
    assert deactivated == {"user": None, "errors": [{"field": "id", "message": message, "code": "INVALID"}]}
    assert (await admin(ME))["me"]["role"] == "ADMIN"


@pytest.mark.parametrize("role", [None, Role.VIEWER, Role.CLERK, Role.MANAGER])
async def test_only_administrators_manage_users(gql_as, anonymous_gql: GraphQLClient, database: Database, role) -> None:  # type: ignore[no-untyped-def]
    target, _ = await sign_in(database, Role.VIEWER, username="target")
    client = anonymous_gql if role is None else await gql_as(role)
    target_id = global_id("User", target.id)
    operations = [
        (USERS, {}),
        (CREATE_USER, {"input": {"username": "eve", "password": TEST_PASSWORD, "role": "ADMIN"}}),
        (UPDATE_USER, {"input": {"id": target_id, "role": "ADMIN"}}),
        (DEACTIVATE_USER, {"id": target_id}),
    ]
    expected = "UNAUTHENTICATED" if role is None else "FORBIDDEN"

    for query, variables in operations:
        body = await client.post(query, variables)
        assert body["data"] is None, body
        assert _codes(body) == [expected], body
        if role is not None:
            assert body["errors"][0]["message"] == "This needs the ADMIN role."
        assert "target" not in str(body)

    async with database.read_session() as session:
        rows = list(await session.scalars(select(User).order_by(User.username)))
    assert {(u.username, u.role, u.is_active) for u in rows} == {
        *([] if role is None else [(role.lower(), role, True)]),
        ("target", Role.VIEWER, True),
    }


# --- secrets stay secret ------------------------------------------------------------------------


async def test_passwords_and_tokens_never_reach_logs_or_other_responses(
    gql_as, anonymous_gql: GraphQLClient, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    admin = await gql_as(Role.ADMIN)
    password = "Sw0rdfish-and-chips"

    # SQLAlchemy keeps its loggers at WARNING unless asked: its statements, parameters and rows are let in too.
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="sqlalchemy.engine"):
        created = await admin.post(
            CREATE_USER, {"input": {"username": "frank", "password": password, "role": "VIEWER"}}
        )
        failed = await anonymous_gql.post(LOGIN, {"username": "frank", "password": password + "!"})
        login = await anonymous_gql.post(LOGIN, {"username": "frank", "password": password})
        token = login["data"]["login"]["token"]
        client = _as(anonymous_gql, token)
        responses = [created, failed, await client.post(ME), await client.post(LOGOUT), await client.post(ME)]
        hash_query = await client.post("{ me { passwordHash } }")

    assert token
    assert {"sqlalchemy.engine.Engine", "httpx"} <= {r.name for r in caplog.records}, "logging was not captured"
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (password, token):
        assert secret not in logged
        for response in responses:
            assert secret not in str(response)
    assert password not in str(login)
    for response in [*responses, login, hash_query]:
        assert "$argon2" not in str(response)
    assert hash_query.get("data") is None and "passwordHash" in hash_query["errors"][0]["message"]


# --- one login per request, and per client a limited number a minute -------------------------------


async def test_a_request_may_log_in_only_once(
    anonymous_gql: GraphQLClient, database: Database, statements: StatementCounter
) -> None:
    await sign_in(database, Role.VIEWER, username="alice")
    login = 'login(username: "alice", password: "wrong password") { token }'
    aliased = "mutation { " + " ".join(f"a{i}: {login}" for i in range(30)) + " }"
    hidden = f"mutation {{ a: {login} ...again }} fragment again on Mutation {{ ... on Mutation {{ b: {login} }} }}"

    for query in (aliased, hidden):
        with statements.count() as seen:
            body = await anonymous_gql.post(query)
        assert seen == []  # refused before any password is checked
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT"}
        times = 30 if query is aliased else 2
        assert error["message"] == f"`login` is selected {times} times; a request may use it once."
    async with database.read_session() as session:
        alice = await users.user_by_username(session, username="alice")
    assert alice is not None and alice.failed_login_count == 0
    assert (await _login(anonymous_gql, "alice"))["token"]  # one is fine


async def test_logins_from_one_client_are_limited_per_minute(
    database: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    await sign_in(database, Role.VIEWER, username="alice")
    app = create_app(settings.model_copy(update={"login_rate_per_minute": 3}), database=database)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        client = GraphQLClient(http)
        # The minute may turn between the attempts: then more than three get through, never fewer.
        results = [await _login(client, "alice", "wrong password") for _ in range(3)]
        results += [await _login(client, "alice") for _ in range(3)]

    assert all(result["errors"] == GENERIC_FAILURE for result in results[:3])
    refused = [result for result in results[3:] if result["token"] is None]
    assert refused and all(result == {"token": None, "expiresAt": None, "user": None, "errors": GENERIC_FAILURE}
                           for result in refused)
    assert "more than 3 logins a minute from 127.0.0.1" in caplog.text
    async with database.read_session() as session:
        # Refused without a password check: the failures counted are the three wrong passwords only.
        alice = await users.user_by_username(session, username="alice")
    assert alice is not None and alice.failed_login_count == 3


def test_the_login_rate_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_LOGIN_RATE_PER_MINUTE", "7")
    assert Settings().login_rate_per_minute == 7
    assert Settings.model_fields["login_rate_per_minute"].default == 20
    monkeypatch.setenv("INVENTORY_LOGIN_RATE_PER_MINUTE", "0")
    with pytest.raises(ValidationError):
        Settings()


# --- revoking and demoting take effect for the rest of the document ---------------------------------


async def test_fields_after_logout_are_refused(gql_as, database: Database) -> None:  # type: ignore[no-untyped-def]
    manager = await gql_as(Role.MANAGER)
    body = await manager.post(
        'mutation { logout { user { username } } c: createCategory(input: {name: "Late"}) { category { id } } }'
    )

    assert body["data"] is None  # the refused field's payload is non-null
    assert _codes(body) == ["UNAUTHENTICATED"]
    assert body["errors"][0]["path"] == ["c"]
    async with database.read_session() as session:
        assert list(await session.scalars(select(Category.name))) == []
        assert None not in set(await session.scalars(select(ApiToken.revoked_at)))  # the logout was done


async def test_a_demoted_administrator_cannot_go_on_as_one(gql_as, database: Database) -> None:  # type: ignore
    await sign_in(database, Role.ADMIN, username="other")  # so that "admin" is not the last administrator
    admin = await gql_as(Role.ADMIN)
    me = global_id("User", (await _user(database, "admin")).id)
    body = await admin.post(
        """mutation ($me: ID!, $password: String!) {
          updateUser(input: {id: $me, role: MANAGER}) { user { role email } errors { code } }
          createUser(input: {username: "eve", password: $password, role: ADMIN}) { user { id } }
        }""",
        {"me": me, "password": TEST_PASSWORD},
    )

    assert body["data"] is None
    assert _codes(body) == ["FORBIDDEN"]
    assert body["errors"][0]["path"] == ["createUser"]
    assert (await _user(database, "admin")).role is Role.MANAGER  # the demotion was done
    async with database.read_session() as session:
        assert await users.user_by_username(session, username="eve") is None


async def test_fields_after_deactivating_oneself_are_refused(gql_as, database: Database) -> None:  # type: ignore
    await sign_in(database, Role.ADMIN, username="other")
    admin = await gql_as(Role.ADMIN)
    me = global_id("User", (await _user(database, "admin")).id)
    body = await admin.post(
        """mutation ($me: ID!) {
          deactivateUser(id: $me) { user { isActive } }
          again: updateUser(input: {id: $me, isActive: true}) { user { isActive } }
        }""",
        {"me": me},
    )

    assert body["data"] is None
    assert _codes(body) == ["UNAUTHENTICATED"]
    assert body["errors"][0]["path"] == ["again"]
    assert (await _user(database, "admin")).is_active is False


# --- users by global ID -------------------------------------------------------------------------------

USER_NODES = """query ($id: ID!, $ids: [ID!]!) {
  node(id: $id) { id ... on User { username isActive } }
  nodes(ids: $ids) { id ... on User { username } }
}"""


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CLERK, Role.MANAGER])
async def test_users_by_id_are_only_for_themselves_and_administrators(  # type: ignore[no-untyped-def]
    gql_as, database: Database, role: Role
) -> None:
    other, _ = await sign_in(database, Role.ADMIN, username="other")
    gone, _ = await sign_in(database, Role.VIEWER, username="gone")
    async with database.write_session() as session, session.begin():
        await users.deactivate_user(session, user_id=gone.id)
    caller = await gql_as(role)
    me = await _user(database, role.lower())
    ids = {name: global_id("User", user.id) for name, user in (("other", other), ("gone", gone), ("me", me))}

    for hidden in ("other", "gone"):
        data = await caller(USER_NODES, {"id": ids[hidden], "ids": [ids[hidden], ids["me"], ids["gone"]]})
        assert data == {"node": None, "nodes": [None, {"id": ids["me"], "username": role.lower()}, None]}
    own = await caller(USER_NODES, {"id": ids["me"], "ids": []})
    assert own["node"] == {"id": ids["me"], "username": role.lower(), "isActive": True}

    admin = await gql_as(Role.ADMIN)
    data = await admin(USER_NODES, {"id": ids["gone"], "ids": [ids["other"], ids["me"]]})
    assert data == {
        "node": {"id": ids["gone"], "username": "gone", "isActive": False},
        "nodes": [{"id": ids["other"], "username": "other"}, {"id": ids["me"], "username": role.lower()}],
    }
