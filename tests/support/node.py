"""Outside clients in Node.js (tests/e2e/node), installed with npm ci on first use."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.support.services import require_service

NODE_DIR = Path(__file__).resolve().parents[1] / "e2e" / "node"


def node_clients() -> Path:
    """The folder holding the Node clients, with their dependencies installed."""
    require_service(bool(shutil.which("node") and shutil.which("npm")), "Node.js/npm not found")
    wanted = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]
    if not all((NODE_DIR / "node_modules" / name).is_dir() for name in wanted):
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=300
        )
    return NODE_DIR
