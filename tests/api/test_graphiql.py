"""The GraphiQL page over HTTP: every file it loads comes from this app, under a versioned URL cached for a year;
the vendored files carry their licences and match the versions graph/graphiql/package-lock.json pins.
(tests/browser drives the page itself in Chromium.)"""

import fnmatch
import json
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import httpx

from db.config import Settings
from db.engine import Database
from graph.app import create_app
from graph.ide import ASSETS, assets_version

ROOT = Path(__file__).resolve().parents[2]
IMMUTABLE = "public, max-age=31536000, immutable"


class _PageParser(HTMLParser):
    """The page's scripts (with whether they have a body) and linked files."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self._in_script = True
            if values.get("src") is None:
                self.inline_scripts += 1
        for name in ("src", "href"):
            if values.get(name) is not None:
                self.urls.append(values[name])  # type: ignore[arg-type]

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


async def graphiql_page(http: httpx.AsyncClient) -> tuple[httpx.Response, _PageParser]:
    response = await http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200, response.text
    parser = _PageParser()
    parser.feed(response.text)
    return response, parser


async def test_the_page_loads_only_files_of_this_app(http: httpx.AsyncClient) -> None:
    response, page = await graphiql_page(http)
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert re.findall(r"(?:https?:)?//[^\s\"'<>]*", response.text) == []
    prefix = f"/graphiql/{assets_version()}/"
    files = [url for url in page.urls if not url.startswith("data:")]
    assert {url.removeprefix(prefix).split("/")[0] for url in files} == {"vendor", "page.js", "page.css"}
    assert all(url.startswith(prefix) for url in files), files
    assert len([url for url in files if url.endswith(".js")]) == 5
    # No inline script, and a policy that would refuse one as well as any file from elsewhere.
    assert page.inline_scripts == 0
    policy = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'none'"
    assert policy["connect-src"] == "'self'"
    # The page itself is checked again on every visit, so that a new version's file names reach the browser.
    assert response.headers["cache-control"] == "no-cache"


async def test_the_page_offers_a_way_to_sign_in(http: httpx.AsyncClient) -> None:
    response, _page = await graphiql_page(http)
    assert "mutation { login(" in response.text
    assert '{"Authorization": "Bearer &lt;token&gt;"}' in response.text
    script = (await http.get(f"/graphiql/{assets_version()}/page.js")).text
    assert "shouldPersistHeaders: false" in script
    assert '"Authorization": "Bearer <token from the login mutation>"' in script
    # The document and variables stay out of the URL: the page script never touches the location or history.
    assert "history." not in script and "location.search" not in script


async def test_every_file_of_the_page_is_served_with_a_long_cache_and_its_type(http: httpx.AsyncClient) -> None:
    _response, page = await graphiql_page(http)
    types = {".js": "text/javascript", ".css": "text/css"}
    for url in (url for url in page.urls if not url.startswith("data:")):
        response = await http.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == IMMUTABLE, url
        assert response.headers["x-content-type-options"] == "nosniff"
        media_type = response.headers["content-type"].split(";")[0]
        assert media_type in (types[Path(url).suffix], "application/javascript"), (url, media_type)
        assert response.content == (ASSETS / url.removeprefix(f"/graphiql/{assets_version()}/")).read_bytes()


async def test_files_under_another_version_are_not_found(http: httpx.AsyncClient) -> None:
    assert (await http.get(f"/graphiql/{assets_version()}/page.js")).status_code == 200
    assert (await http.get("/graphiql/0123456789abcdef/page.js")).status_code == 404
    assert (await http.get(f"/graphiql/{assets_version()}/no-such-file.js")).status_code == 404


async def test_without_graphiql_neither_the_page_nor_its_files_are_served(
    database: Database, settings: Settings
) -> None:
    app = create_app(settings.model_copy(update={"graphiql": False}), database=database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inventory") as client:
        assert (await client.get("/graphql", headers={"Accept": "text/html"})).status_code == 404
        assert (await client.get(f"/graphiql/{assets_version()}/page.js")).status_code == 404


def test_the_vendored_files_match_the_lock_file_and_carry_their_licences() -> None:
    lock = json.loads((ROOT / "graph/graphiql/package-lock.json").read_text())["packages"]
    pinned = json.loads((ROOT / "graph/graphiql/package.json").read_text())["dependencies"]
    copied = {}
    for line in (ASSETS / "vendor/SOURCES.txt").read_text().splitlines():
        package, integrity = line.split(" ")
        name, version = package.rsplit("@", 1)
        copied[name] = version
        # graphiql-explorer comes inside the explorer plugin's build, at the version the plugin installed
        where = "@graphiql/plugin-explorer/node_modules/" if name == "graphiql-explorer" else ""
        entry = lock[f"node_modules/{where}{name}"]
        assert (entry["version"], entry["integrity"]) == (version, integrity), name
    assert {name: copied[name] for name in pinned if name != "graphql"} == {
        name: version for name, version in pinned.items() if name != "graphql"
    }
    folders = {path.name for path in (ASSETS / "vendor").iterdir() if path.is_dir()}
    assert folders == {"react", "react-dom", "graphiql", "plugin-explorer"}
    for folder in folders:
        licence = (ASSETS / "vendor" / folder / "LICENSE").read_text()
        assert "Permission is hereby granted, free of charge" in licence, folder


def test_the_package_data_holds_every_file_the_page_needs() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["graph"]
    graph = ROOT / "graph"
    for path in (p for p in ASSETS.rglob("*") if p.is_file()):
        relative = path.relative_to(graph).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
