"""Account recovery with the `inventory users` commands: a new password (old tokens stop working), a lifted
login delay, a deactivated user let back in; checked by signing in over HTTP."""

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from db import users
from db.config import Settings
from db.engine import Database
from db.errors import AuthenticationFailed
from db.models import Role
from graph.cli import app
from tests.utils import CHEAP_HASHES, TEST_PASSWORD, GraphQLClient, run_command, sign_in

LOGIN = """
mutation Login($username: String!, $password: String!) {
  login(username: $username, password: $password) { token errors { code } }
}
"""
ME = "{ me { username } }"
NEW_PASSWORD = "a new password, long enough"


async def _login(client: GraphQLClient, username: str, password: str) -> str | None:
    """A token, or None when the login was refused."""
    payload = (await client(LOGIN, {"username": username, "password": password}))["login"]
    assert (payload["token"] is None) == bool(payload["errors"]), payload
    return payload["token"]


async def _me(client: GraphQLClient, token: str) -> str | None:
    me = (await GraphQLClient(client.http, token)(ME))["me"]
    return None if me is None else me["username"]


async def _inventory(database_url: str, *args: str, stdin: str = "") -> tuple[int, str, str]:
    return await run_command(database_url, *args, stdin=stdin)


async def test_set_password_unlock_and_activate(
    anonymous_gql: GraphQLClient, database: Database, database_url: str
) -> None:
    _user, first_token = await sign_in(database, Role.CLERK, username="carol")
    second_token = await _login(anonymous_gql, "carol", TEST_PASSWORD)
    assert second_token and await _me(anonymous_gql, first_token) == "carol"

    # Five wrong passwords lock carol out, right password or not; unlock lifts that at once.
    for _ in range(5):
        assert await _login(anonymous_gql, "carol", "not the password") is None
    assert await _login(anonymous_gql, "carol", TEST_PASSWORD) is None
    code, out, err = await _inventory(database_url, "users", "unlock", "carol")
    assert (code, err) == (0, ""), out + err
    assert "Unlocked carol (5 failed login(s) in a row forgotten)" in out
    third_token = await _login(anonymous_gql, "carol", TEST_PASSWORD)
    assert third_token

    # A new password: every token issued before stops working, the old password too.
    code, out, err = await _inventory(
        database_url, "users", "set-password", "Carol", "--password-stdin", stdin=NEW_PASSWORD + "\n"
    )
    assert (code, err) == (0, ""), out + err
    assert "Set a new password for carol and revoked its tokens." in out
    for token in (first_token, second_token, third_token):
        assert await _me(anonymous_gql, token) is None
    assert await _login(anonymous_gql, "carol", TEST_PASSWORD) is None
    token = await _login(anonymous_gql, "carol", NEW_PASSWORD)
    assert token and await _me(anonymous_gql, token) == "carol"

    # The API's password rules hold here too; a refused password changes nothing.
    code, out, err = await _inventory(
        database_url, "users", "set-password", "carol", "--password-stdin", stdin="short\n"
    )
    assert (code, err.strip()) == (1, "`password` must be at least 10 characters."), out + err
    assert await _me(anonymous_gql, token) == "carol"

    # Deactivated, carol cannot sign in; activated again, she can, with her password.
    assert (await _inventory(database_url, "users", "deactivate", "carol"))[0] == 0
    assert await _login(anonymous_gql, "carol", NEW_PASSWORD) is None
    code, out, err = await _inventory(database_url, "users", "activate", "carol")
    assert (code, err) == (0, ""), out + err
    assert "Activated carol" in out
    assert await _me(anonymous_gql, token) is None  # deactivation revoked it; activation does not bring it back
    assert await _login(anonymous_gql, "carol", NEW_PASSWORD)


@pytest.mark.parametrize("command", [("unlock",), ("activate",), ("set-password", "--password-stdin")])
async def test_recovering_a_user_that_does_not_exist(
    database: Database, database_url: str, command: tuple[str, ...]
) -> None:
    code, out, err = await _inventory(database_url, "users", command[0], "nobody", *command[1:], stdin=NEW_PASSWORD)
    assert code == 1, out + err
    assert err.strip().splitlines() == ["There is no user named nobody (`inventory users list` shows them)."]


def test_set_password_asks_twice_and_shows_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("INVENTORY_DATABASE_URL", url)
    for name, value in CHEAP_HASHES.items():
        monkeypatch.setenv(name, value)
    cli = CliRunner()
    assert cli.invoke(app, ["db", "upgrade"]).exit_code == 0
    created = cli.invoke(
        app, ["users", "create", "dora", "--role", "viewer", "--password-stdin"], input="first password\n"
    )
    assert created.exit_code == 0, created.output

    # Two entries that differ are asked for again.
    result = cli.invoke(
        app, ["users", "set-password", "dora"], input=f"one password\nanother one\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert NEW_PASSWORD not in result.output and "one password" not in result.output

    async def signs_in(password: str) -> bool:
        settings = Settings()
        database = Database(settings)
        try:
            async with database.write_session() as session, session.begin():
                await users.authenticate(
                    session, security=users.Security.from_settings(settings), username="dora", password=password
                )
        except AuthenticationFailed:
            return False
        finally:
            await database.dispose()
        return True

    assert asyncio.run(signs_in(NEW_PASSWORD)) and not asyncio.run(signs_in("first password"))
