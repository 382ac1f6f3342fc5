"""The README's two commands are the ones CI runs."""

from __future__ import annotations

import re
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


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    config = (ROOT / "server" / "config.py").read_text()
    variables = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', config))
    variables -= {"INFO"}
    missing = sorted(v for v in variables if f"`{v}`" not in readme)
    assert missing == []
