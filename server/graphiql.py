"""GraphiQL at GET /graphql: our own page on vendored assets, with the documented operations.

Everything the page loads comes from this server (server/static/graphiql/, vendored from npm
by scripts/vendor_graphiql.py), so it works offline and under a strict Content-Security-Policy:
no inline script, the tabs travel as a JSON data block read by mlproject-graphiql.js.
Tabs follow the README's walkthrough; each carries the example variables stored next to its
operation (graphql/operations/<Name>.variables.json).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

STATIC_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
ASSETS_PATH = "/graphiql/static"
# Relative to the page (/graphql), so the page also works behind a path prefix.
_ASSETS_URL = ASSETS_PATH.lstrip("/")
STYLESHEETS = ("graphiql.min.css", "mlproject-graphiql.css")
SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "mlproject-graphiql.js",
)

# The README walkthrough's order; operations not listed follow, alphabetically.
WALKTHROUGH = (
    "SignUp",
    "Login",
    "Me",
    "UploadDataset",
    "Datasets",
    "CreateExperiment",
    "StartRun",
    "Run",
    "RunEvents",
    "PromoteModel",
    "Predict",
    "Experiments",
    "Experiment",
    "ConnectMarketplace",
    "SyncMarketplace",
    "MarketplaceSync",
    "Listings",
    "UpdateListingCost",
    "CreateCampaign",
    "ScheduleDiscount",
    "ActivateCampaign",
    "Discounts",
    "PriceChanges",
    "MarketplaceActivity",
    "Campaigns",
    "RefreshToken",
    "AddUser",
)

TOKEN_PLACEHOLDER = "Bearer <paste accessToken from SignUp or Login>"
HEADERS_HINT = json.dumps({"Authorization": TOKEN_PLACEHOLDER}, indent=2)

WELCOME = """\
# ML Project GraphQL API
#
# The tabs follow the README walkthrough: SignUp (or
# Login), Me, UploadDataset, CreateExperiment, StartRun,
# Run / RunEvents, PromoteModel, Predict, then the rest.
# Each opens with example variables (Variables, below):
# replace each <...> with an id from an earlier answer.
#
# The token: run SignUp or Login first; this page then
# sends the accessToken it got with every tab (in memory
# only: run Login again after a reload). For another
# token, set the Headers pane (below) of a tab to
#   {"Authorization": "Bearer <accessToken>"}
# A header value still holding <...> is never sent.
#
# UploadDataset needs a file, which GraphiQL cannot
# attach: use the README's curl command (step 2).
# Ctrl-Enter runs the operation in the editor.
query Welcome {
  __typename
}
"""

# The one <style> GraphiQL inserts: the scroll lock of its dialogs (react-remove-scroll-bar),
# allowed by hash rather than by 'unsafe-inline'. scripts/check_graphiql_browser.py reports a
# CSP violation if a GraphiQL upgrade changes it; take the new hash from that message.
DIALOG_SCROLL_LOCK_STYLE = "'sha256-Y/huXlwoYkVyQlxwSVcCi1RCDGDCSVBzDt0hYP9qlTc='"

_SAFE_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")


def walkthrough_order(names: list[str]) -> list[str]:
    """Documented operation names in the walkthrough's order, then the rest alphabetically."""
    known = [name for name in WALKTHROUGH if name in names]
    return known + sorted(name for name in names if name not in WALKTHROUGH)


def documented_tabs(operations_dir: Path) -> list[dict[str, str]]:
    """The welcome tab, then one tab per operation file with its example variables."""
    tabs = [{"query": WELCOME, "variables": "{}", "headers": HEADERS_HINT}]
    if not operations_dir.is_dir():
        return tabs
    names = [path.stem for path in operations_dir.glob("*.graphql")]
    for name in walkthrough_order(names):
        variables_file = operations_dir / f"{name}.variables.json"
        variables = json.loads(variables_file.read_text()) if variables_file.exists() else {}
        tabs.append(
            {
                "query": (operations_dir / f"{name}.graphql").read_text(),
                "variables": json.dumps(variables, indent=2, ensure_ascii=False),
                "headers": "" if name in ("SignUp", "Login") else HEADERS_HINT,
            }
        )
    return tabs


def _json_in_html(value: Any) -> str:
    """JSON safe inside a <script type="application/json"> block (no `</script`, no `<!--`)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _asset_url(name: str) -> str:
    # The content hash in the URL lets browsers cache assets for a year yet see each change.
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"{_ASSETS_URL}/{name}?v={digest}"


def content_security_policy(host: str | None) -> str:
    """The page's CSP: only this origin's scripts, styles, API and WebSocket."""
    connect = "'self'"
    if host and _SAFE_HOST.match(host):
        # Older browsers do not let 'self' cover ws:/wss:, so name this host's sockets too.
        connect += f" ws://{host} wss://{host}"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            f"style-src 'self' {DIALOG_SCROLL_LOCK_STYLE}",
            f"connect-src {connect}",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "manifest-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@dataclass(frozen=True, slots=True)
class GraphiQLPage:
    """The rendered page; `response` adds the security headers for the request's host."""

    html: str

    def response(self, request: Request) -> Response:
        headers = {
            **SECURITY_HEADERS,
            "Content-Security-Policy": content_security_policy(request.headers.get("host")),
            "Cache-Control": "no-cache",
        }
        return HTMLResponse(self.html, headers=headers)


def graphiql_page(operations_dir: Path) -> GraphiQLPage:
    """GraphiQL opened on our welcome tab, then the documented operations in walkthrough order."""
    tabs = documented_tabs(operations_dir)
    version = hashlib.sha256(json.dumps(tabs).encode()).hexdigest()[:16]
    config = {"tabs": tabs, "headers": HEADERS_HINT, "version": version}
    links = "\n".join(f'<link rel="stylesheet" href="{_asset_url(n)}">' for n in STYLESHEETS)
    scripts = "\n".join(f'<script src="{_asset_url(n)}"></script>' for n in SCRIPTS)
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ML Project · GraphiQL</title>
<link rel="icon" href="data:,">
{links}
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<noscript>GraphiQL needs JavaScript; or use POST /graphql with curl (see the README).</noscript>
<script type="application/json" id="graphiql-config">{_json_in_html(config)}</script>
{scripts}
</body>
</html>
"""
    return GraphiQLPage(html)


class _ImmutableAssets(StaticFiles):
    """The vendored files, cached for a year (their URLs carry a content hash)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def graphiql_assets() -> ASGIApp:
    """The ASGI app serving server/static/graphiql/ (gzip: the GraphiQL bundle is 3.5 MB)."""
    return GZipMiddleware(_ImmutableAssets(directory=STATIC_DIR), minimum_size=1024)
