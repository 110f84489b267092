"""GraphiQL in headless Chromium without network access: the real `inventory serve --demo` (always on a SQLite
database of its own, whatever database the rest of the suite runs on), the page rendered from the app's own
files, a sign-in through the login mutation and a query run from the editor, checked in the result pane.

Needs Debian's Chromium (`apt-get install chromium`) at /usr/bin/chromium or on PATH; skipped without it,
unless INVENTORY_REQUIRE_BROWSER=1 (as in .ci/run), which makes a missing browser a failure."""

import asyncio
import importlib.util
import json
import os
import re
import shutil
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

DEMO_ADMIN = re.compile(r"Demo administrator: username (\S+), password (\S+) ")
STARTUP_SECONDS = 120
# GraphiQL's editors: the document, the headers (open below it; the variables editor beside it is hidden) and
# the result pane.
DOCUMENT = ".graphiql-query-editor"
HEADERS = ".graphiql-editor-tool .graphiql-editor:not(.hidden)"
RESULT = ".graphiql-response"
QUERY = "query FirstTwo { products(first: 2) { totalCount edges { node { sku name } } } }"


@pytest.fixture
def chromium() -> str:
    """The path of Chromium. Without it (or Playwright) the test is skipped, or fails under
    INVENTORY_REQUIRE_BROWSER=1."""
    if importlib.util.find_spec("playwright") is None:
        missing = "Playwright is not installed (pip install -e '.[test]')"
    elif path := shutil.which("chromium") or shutil.which("chromium-browser"):
        return path
    else:
        missing = "Chromium is not installed (apt-get install chromium)"
    if os.environ.get("INVENTORY_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{missing}, and INVENTORY_REQUIRE_BROWSER=1 asks for the browser test to run")
    pytest.skip(missing)


@dataclass
class Demo:
    url: str
    username: str
    password: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    """`inventory serve --demo` on a fresh SQLite database and a free port, until the test ends."""
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "INVENTORY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        "INVENTORY_GRAPHIQL": "true",
        "PYTHONUNBUFFERED": "1",
    }
    command = [str(Path(sys.executable).with_name("inventory")), "serve", "--demo", "--port", str(port)]
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(*command, env=env, stdout=output, stderr=output)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        async with httpx.AsyncClient(base_url=url, timeout=2) as client:
            while True:
                if process.returncode is not None:
                    pytest.fail(f"`inventory serve --demo` exited with {process.returncode}:\n{log.read_text()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"`inventory serve --demo` did not answer in {STARTUP_SECONDS} s:\n{log.read_text()}")
                try:
                    if (await client.get("/graphql", headers={"Accept": "text/html"})).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        credentials = DEMO_ADMIN.search(log.read_text())
        assert credentials, f"no demo administrator in the output:\n{log.read_text()}"
        yield Demo(url, credentials[1], credentials[2])
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def test_graphiql_signs_in_and_runs_a_query_without_network(chromium: str, demo: Demo, tmp_path: Path) -> None:
    from playwright.async_api import Page, Route, async_playwright

    screenshot = tmp_path / "graphiql.png"
    elsewhere: list[str] = []
    problems: list[str] = []

    async def only_the_app(route: Route) -> None:
        parts = urlsplit(route.request.url)
        if (parts.hostname, parts.port) == ("127.0.0.1", urlsplit(demo.url).port):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort("internetdisconnected")

    async def replace_text(page: Page, editor: str, text: str) -> None:
        await page.locator(f"{editor} .CodeMirror").click()
        await page.keyboard.press("Control+A")
        await page.keyboard.press("Delete")
        await page.keyboard.insert_text(text)

    async def text(page: Page, editor: str) -> str:
        """An editor's text as shown (CodeMirror keeps empty lines open with a zero-width space and shows runs
        of spaces with no-break spaces)."""
        shown = await page.locator(f"{editor} .CodeMirror-line").all_inner_texts()
        return "\n".join(shown).replace("\u200b", "").replace("\u00a0", " ")

    async def run(page: Page, operation: str, expect: str) -> str:
        """Click the run button once GraphiQL has read the new document (its tab is named after the operation;
        until then the button offers the old document's operations); the result pane's text once it shows
        `expect`."""
        await page.locator(".graphiql-tab-active").filter(has_text=operation).wait_for(timeout=10_000)
        await page.locator(".graphiql-execute-button").click()
        await page.locator(f"{RESULT} .CodeMirror-code").filter(has_text=expect).wait_for(timeout=20_000)
        return await text(page, RESULT)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium)
        page = None
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await context.route("**/*", only_the_app)
            page = await context.new_page()
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            # GraphiQL asks for the schema first (introspection, a POST); typing waits for its answer.
            async with page.expect_response(lambda response: response.request.method == "POST", timeout=20_000):
                await page.goto(f"{demo.url}/graphql")
            await page.locator(f"{DOCUMENT} .CodeMirror").wait_for(timeout=20_000)

            # The way in is on the page: a note above GraphiQL and the headers editor, open, with a hint.
            assert "mutation { login(" in await page.locator("#sign-in").inner_text()
            assert "Bearer <token from the login mutation>" in await text(page, HEADERS)

            # The explorer plugin lists the schema's root fields (from GraphiQL's introspection).
            await page.get_by_role("button", name="Show GraphiQL Explorer").click()
            await page.locator(".graphiql-plugin").filter(has_text="lowStock").wait_for(timeout=10_000)

            login = f'mutation LogIn {{ login(username: "{demo.username}", password: "{demo.password}") {{ token }} }}'
            await replace_text(page, DOCUMENT, login)
            signed_in = json.loads(await run(page, "LogIn", '"token"'))
            token = signed_in["data"]["login"]["token"]
            assert token

            await replace_text(page, HEADERS, json.dumps({"Authorization": f"Bearer {token}"}))
            await replace_text(page, DOCUMENT, QUERY)
            answer = json.loads(await run(page, "FirstTwo", '"totalCount"'))
            await page.screenshot(path=screenshot)
            # GraphiQL's settings offer no switch that would store headers (and open under the page's policy).
            await page.get_by_role("button", name="Open settings dialog").click()
            settings = await page.get_by_role("dialog").filter(has_text="Clear storage").inner_text()
            await page.keyboard.press("Escape")
            stored = await page.evaluate("JSON.stringify(window.localStorage)")
            address = page.url
            # After a reload the document is back (from localStorage) and the token is gone.
            await page.reload()
            await page.locator(f"{DOCUMENT} .CodeMirror-line").filter(has_text="FirstTwo").wait_for(timeout=20_000)
            headers_after_reload = await text(page, HEADERS)
        finally:
            if page is not None and not screenshot.exists():  # the page as it was when the test failed
                await page.screenshot(path=screenshot)
                print(f"screenshot: {screenshot}; requests to other hosts: {elsewhere}; page errors: {problems}")
            await browser.close()

    seen = f"(screenshot: {screenshot})"
    async with httpx.AsyncClient(base_url=demo.url) as client:
        expected = (
            await client.post("/graphql", json={"query": QUERY}, headers={"Authorization": f"Bearer {token}"})
        ).json()
    assert answer == expected, seen
    assert answer["data"]["products"]["totalCount"] > 2 and len(answer["data"]["products"]["edges"]) == 2, seen
    assert elsewhere == [], f"requests to other hosts: {elsewhere} {seen}"
    assert problems == [], f"{problems} {seen}"
    # Nothing typed reached the address bar, and neither the token nor the password is in the browser's storage
    # (the documents are, password emptied: GraphiQL keeps its tabs and history in localStorage).
    assert address == f"{demo.url}/graphql", seen
    assert token not in stored and demo.password not in stored and demo.password not in address, seen
    documents = json.loads(stored).values()  # a stored document is plain text or a string inside JSON
    assert any("LogIn" in kept and ('password: ""' in kept or 'password: \\"\\"' in kept) for kept in documents), seen
    assert token not in headers_after_reload and "<token from the login mutation>" in headers_after_reload, seen
    assert "Persist headers" not in settings, seen
