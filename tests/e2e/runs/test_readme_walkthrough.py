"""The README's walkthrough, run as written (curl in bash) against a real server."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.runs.conftest import Stack

ROOT = Path(__file__).resolve().parents[3]


def walkthrough_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Walkthrough", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", section, re.S)


def run_block(block: str, stack: Stack, env: dict[str, str]) -> dict:
    script = block.replace("http://127.0.0.1:8000", stack.base_url)
    done = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert "errors" not in answer, answer
    return answer["data"]


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
async def test_the_readme_walkthrough_works_as_written(stack: Stack) -> None:
    blocks = walkthrough_blocks()
    assert len(blocks) == 8
    sign_up, upload, experiment, discount, start, poll, promote_predict, page = blocks
    env = {"PATH": "/usr/bin:/bin"}

    def step(block: str) -> dict:
        return run_block(block, stack, env)

    env["TOKEN"] = (await asyncio.to_thread(step, sign_up))["signUp"]["accessToken"]
    dataset = (await asyncio.to_thread(step, upload))["uploadDataset"]["dataset"]
    assert dataset["rowCount"] == 240
    env["DATASET"] = dataset["id"]
    created = (await asyncio.to_thread(step, experiment))["createExperiment"]["experiment"]
    env["EXPERIMENT"] = created["id"]
    scheduled = (await asyncio.to_thread(step, discount))["scheduleDiscount"]["discount"]
    assert scheduled["status"] == "SCHEDULED"
    env["RUN"] = (await asyncio.to_thread(step, start))["startRun"]["run"]["id"]
    deadline = time.monotonic() + 120
    while True:
        run = (await asyncio.to_thread(step, poll))["run"]
        if run["status"] in ("SUCCEEDED", "FAILED", "CANCELED") or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    assert run["status"] == "SUCCEEDED", run
    env["MODEL"] = run["model"]["id"]
    answer = await asyncio.to_thread(step, promote_predict)
    assert answer["promoteModel"]["model"]["stage"] == "PRODUCTION"
    assert len(answer["predict"]["predictions"]) == 1
    assert answer["predict"]["predictions"][0]["value"] > 0
    listed = (await asyncio.to_thread(step, page))["experiments"]
    assert listed["edges"][0]["node"]["runs"]["totalCount"] == 1
