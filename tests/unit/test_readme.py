"""The README's two commands are the ones CI runs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)
    return blocks[:2]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    serve, test = readme_commands()
    assert "mlproject serve" in serve
    assert "pytest" in test
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci_lines


def test_the_test_command_gates_lint_format_and_types_before_the_tests() -> None:
    _, test = readme_commands()
    steps = [step.strip() for step in test.split("&&")]
    gates = [".venv/bin/ruff check .", ".venv/bin/ruff format --check .", ".venv/bin/mypy"]
    for gate in gates:
        assert gate in steps, f"the test command does not run `{gate}`"
        assert steps.index(gate) < steps.index(".venv/bin/pytest")


def test_the_gates_are_installed_by_the_test_extra_and_mypy_is_configured() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    test_extra = " ".join(project["project"]["optional-dependencies"]["test"])
    assert "ruff" in test_extra and "mypy" in test_extra
    mypy = project["tool"]["mypy"]
    assert {"domain", "server", "automl", "tests"} <= set(mypy["files"])
    assert mypy["warn_unused_ignores"] and mypy["check_untyped_defs"]
    assert "ignore_missing_imports" not in mypy  # only per module, for libraries without types


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    config = (ROOT / "server" / "config.py").read_text()
    variables = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', config))
    variables -= {"INFO"}
    missing = sorted(v for v in variables if f"`{v}`" not in readme)
    assert missing == []
