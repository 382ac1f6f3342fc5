"""GraphiQL page with the documented operations of graphql/operations/ as example tabs."""

from __future__ import annotations

import json
from pathlib import Path

from strawberry.http.ides import get_graphql_ide_html

WELCOME = """# ML Project GraphQL API
#
# The tabs hold the documented operations (graphql/operations/).
# Start with SignUp or Login, copy accessToken, then set the Headers pane to:
#   {"Authorization": "Bearer <accessToken>"}
"""


def graphiql_page(operations_dir: Path) -> str:
    """Strawberry's GraphiQL, opened on a welcome note with one tab per documented operation."""
    html = get_graphql_ide_html(graphql_ide="graphiql")
    tabs = [{"query": WELCOME + "query Me {\n  me { id email role account { name } }\n}\n"}]
    if operations_dir.is_dir():
        for path in sorted(operations_dir.glob("*.graphql")):
            tabs.append({"query": path.read_text()})
    script_tabs = json.dumps(tabs).replace("</", "<\\/")
    html = html.replace(
        "const EXAMPLE_QUERY = `",
        f"const DOCUMENTED_TABS = {script_tabs};\n      const EXAMPLE_QUERY = `",
        1,
    )
    return html.replace(
        "defaultEditorToolsVisibility: true,",
        "defaultEditorToolsVisibility: true,\n          defaultTabs: DOCUMENTED_TABS,",
        1,
    )
