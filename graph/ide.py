"""GraphiQL served from the package: its page on `GET /graphql` and the files it loads (graph/static/graphiql,
vendored at the versions graph/graphiql/package-lock.json pins) under a URL that changes with their content."""

import functools
import hashlib
import html
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).parent / "static" / "graphiql"
ROUTE_NAME = "graphiql-assets"
# The page runs only its own files: no inline script, nothing from another origin. The vendored stylesheets
# carry their fonts and icons as data: URLs; GraphiQL's dialogs add <style> elements (to lock scrolling),
# hence 'unsafe-inline' for styles only.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_STYLESHEETS = ("vendor/graphiql/graphiql.min.css", "vendor/plugin-explorer/style.css", "page.css")
_SCRIPTS = (
    "vendor/react/react.production.min.js",
    "vendor/react-dom/react-dom.production.min.js",
    "vendor/graphiql/graphiql.min.js",
    "vendor/plugin-explorer/index.umd.js",
    "page.js",
)


@functools.cache
def assets_version() -> str:
    """A digest of every file under graph/static/graphiql: part of their URLs, so that a browser that cached
    them for a year fetches them again as soon as one changes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in ASSETS.rglob("*") if p.is_file()):
        digest.update(path.relative_to(ASSETS).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class ImmutableFiles(StaticFiles):
    """Static files whose URL names their version: cached by browsers and proxies for a year, never revalidated."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def assets_mount() -> Mount:
    """The route that serves graph/static/graphiql at /graphiql/<version>/."""
    return Mount(f"/graphiql/{assets_version()}", app=ImmutableFiles(directory=ASSETS), name=ROUTE_NAME)


def graphiql_page(request: Request) -> HTMLResponse:
    """The GraphiQL page: GraphiQL with the explorer plugin and a sign-in hint, every file from this app."""

    def url(path: str) -> str:
        # The path alone (with the app's root path): the page works under whatever host name it was reached by.
        return html.escape(request.url_for(ROUTE_NAME, path=path).path)

    links = "\n".join(f'    <link rel="stylesheet" href="{url(path)}">' for path in _STYLESHEETS)
    scripts = "\n".join(f'    <script src="{url(path)}"></script>' for path in _SCRIPTS)
    page = f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Inventory API · GraphiQL</title>
    <link rel="icon" href="data:,">
{links}
  </head>
  <body>
    <p id="sign-in" class="sign-in">
      Most fields need a signed-in user. Run
      <code>mutation {{ login(username: "…", password: "…") {{ token }} }}</code>,
      then put <code>{{"Authorization": "Bearer &lt;token&gt;"}}</code> in the <b>Headers</b> tab below the editor.
      Headers are not saved in the browser: reloading the page clears them.
    </p>
    <div id="graphiql">Loading GraphiQL…</div>
{scripts}
  </body>
</html>
"""
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"}
    return HTMLResponse(page, headers=headers)
