"""The vendored GraphiQL files are the pinned npm ones, and every documented operation has
example variables that the schema accepts."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from graphql.execution.values import get_variable_values

from graphql import OperationDefinitionNode, parse
from server.graphiql import (
    SCRIPTS,
    STATIC_DIR,
    STYLESHEETS,
    WALKTHROUGH,
    graphiql_page,
    walkthrough_order,
)
from server.schema import build_schema

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "graphql" / "operations"
MANIFEST = json.loads((STATIC_DIR / "VENDORED.json").read_text())
# The multipart request spec sends null where the file goes; the server fills it in.
NULL_BY_DESIGN = {"UploadDataset": "file", "ImportListingCosts": "file"}


def test_vendored_files_match_their_recorded_checksums() -> None:
    for name, entry in MANIFEST["files"].items():
        digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()
        assert digest == entry["sha256"], f"{name} changed: run scripts/vendor_graphiql.py"
    versions = {package["name"]: package["version"] for package in MANIFEST["packages"]}
    assert versions["graphiql"].startswith("3.")
    assert versions["react"] == versions["react-dom"]


def test_the_page_loads_only_files_that_ship_with_the_package() -> None:
    vendored = set(MANIFEST["files"])
    for name in (*STYLESHEETS, *SCRIPTS):
        assert (STATIC_DIR / name).is_file()
        assert name in vendored or name.startswith("mlproject-"), name
    html = graphiql_page(OPERATIONS).html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(url.startswith(("graphiql/static/", "data:")) for url in urls)
    total = sum((STATIC_DIR / name).stat().st_size for name in (*STYLESHEETS, *SCRIPTS))
    assert total < 5 * 2**20


def test_unknown_operations_follow_the_walkthrough_alphabetically() -> None:
    names = ["Zeta", "Me", "Alpha", "SignUp", "Login"]
    assert walkthrough_order(names) == ["SignUp", "Login", "Me", "Alpha", "Zeta"]
    assert WALKTHROUGH[0] == "SignUp"


@pytest.mark.parametrize("path", sorted(OPERATIONS.glob("*.graphql")), ids=lambda p: p.stem)
def test_each_operation_has_example_variables_the_schema_accepts(path: Path) -> None:
    variables_file = path.with_name(f"{path.stem}.variables.json")
    assert variables_file.exists(), f"add {variables_file.name} next to {path.name}"
    variables = json.loads(variables_file.read_text())
    operation = next(
        d for d in parse(path.read_text()).definitions if isinstance(d, OperationDefinitionNode)
    )
    schema = build_schema()._schema
    definitions = operation.variable_definitions or ()
    coerced = get_variable_values(schema, definitions, variables)
    if isinstance(coerced, list):  # errors
        allowed = NULL_BY_DESIGN.get(path.stem)
        errors = [e.message for e in coerced if not (allowed and f".{allowed}" in e.message)]
        assert errors == []
    defined = {v.variable.name.value for v in definitions}
    assert set(variables) <= defined
