"""The dependency rule: the domain imports no outer layer and no I/O library."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_DOMAIN = {
    "server",
    "automl",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "redis",
    "arq",
    "strawberry",
    "starlette",
    "uvicorn",
    "httpx",
    "mlflow",
    "pandas",
    "jwt",
    "argon2",
}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_domain_imports_nothing_outside() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN_IN_DOMAIN)
        for path in (ROOT / "domain").rglob("*.py")
        if imported_roots(path) & FORBIDDEN_IN_DOMAIN
    }
    assert offenders == {}
