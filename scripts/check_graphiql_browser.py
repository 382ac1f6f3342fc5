"""Check GraphiQL in headless Chromium with no internet (a manual check; CI tests stay DOM-free).

    .venv/bin/mlproject serve &                  # GRAPHIQL on (the development default)
    .venv/bin/python scripts/check_graphiql_browser.py http://127.0.0.1:8000/graphql

Chromium (Debian: `apt-get install chromium`) gets every host name unresolvable except
127.0.0.1, so a CDN reference would fail. Over the DevTools protocol the script lists the tabs,
runs SignUp (a fresh e-mail) and then Me with the token the page remembered, prints every URL
the page loaded and every console message (CSP violations land there), saves a screenshot, and
exits 1 if anything looks wrong. Run it after scripts/vendor_graphiql.py upgrades GraphiQL.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import time
import urllib.request
import uuid
from typing import Any

import websockets

DEBUG_PORT = 9333
SCREENSHOT = "/tmp/graphiql.png"

FLOW = """
(async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const tabs = () => [...document.querySelectorAll('.graphiql-tab')];
  for (let i = 0; i < 100 && !tabs().length; i++) await sleep(200);
  const out = {tabs: tabs().map((t) => t.querySelector('button').textContent.trim())};
  const result = () => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue();
  async function run(name, variables) {
    tabs().find((t) => t.textContent.trim().startsWith(name)).querySelector('button').click();
    await sleep(500);
    const editor = document.querySelector('.graphiql-editor-tool .CodeMirror').CodeMirror;
    out[name + ' variables'] = JSON.parse(editor.getValue());
    if (variables) editor.setValue(JSON.stringify(variables));
    await sleep(200);
    document.querySelector('.graphiql-execute-button').click();
    for (let i = 0; i < 60 && !result().trim(); i++) await sleep(250);
    out[name] = JSON.parse(result());
  }
  await run('SignUp', {input: {accountName: 'Browser check', email: '%(email)s',
                               password: 'browser check passphrase 2030'}});
  await run('Me');
  return out;
})()
"""


async def drive(ws_url: str, page_url: str) -> tuple[dict[str, Any], list[str], list[str], bytes]:
    """Open the page, run the flow: results, URLs loaded, console messages, screenshot."""
    loaded: list[str] = []
    console: list[str] = []
    pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
    async with websockets.connect(ws_url, max_size=2**26) as ws:

        async def read() -> None:
            async for raw in ws:
                message = json.loads(raw)
                if message.get("id") in pending:
                    pending.pop(message["id"]).set_result(message)
                params = message.get("params", {})
                if message.get("method") == "Network.requestWillBeSent":
                    if not params["request"]["url"].startswith("data:"):
                        loaded.append(params["request"]["url"])
                elif message.get("method") == "Network.webSocketCreated":
                    loaded.append(params["url"])
                elif message.get("method") == "Runtime.consoleAPICalled":
                    texts = [str(a.get("value", a.get("description"))) for a in params["args"]]
                    console.append(f"console.{params['type']}: {' '.join(texts)}")
                elif message.get("method") == "Runtime.exceptionThrown":
                    console.append(f"exception: {params['exceptionDetails']}")
                elif message.get("method") == "Log.entryAdded":
                    console.append(f"{params['entry']['level']}: {params['entry']['text']}")

        reader = asyncio.create_task(read())
        counter = iter(range(1, 1_000_000))

        async def call(method: str, **params: Any) -> dict[str, Any]:
            number = next(counter)
            pending[number] = asyncio.get_running_loop().create_future()
            await ws.send(json.dumps({"id": number, "method": method, "params": params}))
            return (await asyncio.wait_for(pending[number], 120))["result"]

        for domain in ("Runtime", "Log", "Network", "Page"):
            await call(f"{domain}.enable")
        await call("Page.navigate", url=page_url)
        flow = FLOW % {"email": f"browser-{uuid.uuid4().hex[:8]}@example.com"}
        evaluated = await call(
            "Runtime.evaluate", expression=flow, awaitPromise=True, returnByValue=True
        )
        shot = base64.b64decode((await call("Page.captureScreenshot", format="png"))["data"])
        reader.cancel()
    return evaluated["result"].get("value") or {"error": evaluated}, loaded, console, shot


def main(page_url: str) -> int:
    browser = subprocess.Popen(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--proxy-server=http://127.0.0.1:9",  # nothing leaves the machine
            f"--remote-debugging-port={DEBUG_PORT}",
            "--window-size=1400,900",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{DEBUG_PORT}/json"))
                break
            except OSError:
                time.sleep(0.2)
        ws_url = next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"]
        flow, loaded, console, shot = asyncio.run(drive(ws_url, page_url))
        with open(SCREENSHOT, "wb") as handle:
            handle.write(shot)
    finally:
        browser.terminate()
        browser.wait(10)
    print(json.dumps(flow, indent=2)[:3000])
    print("loaded:", *loaded, sep="\n  ")
    print("console:", *console or ["(nothing)"], sep="\n  ")
    print("screenshot:", SCREENSHOT)
    me = (flow.get("Me") or {}).get("data") or {}
    ok = (
        flow.get("tabs", [])[:3] == ["Welcome", "SignUp", "Login"]
        and bool(me.get("me"))
        and not console
    )
    print("OK" if ok else "PROBLEM")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/graphql"))
