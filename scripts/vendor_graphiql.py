"""Re-vendor GraphiQL and its React peers from npm into server/static/graphiql/.

    python scripts/vendor_graphiql.py            # the pinned versions below
    python scripts/vendor_graphiql.py --check    # verify the vendored files, change nothing

`npm pack` downloads each tarball and checks it against the registry's integrity hash; this
script then copies the browser builds (UMD, production) and each package's licence verbatim
and writes VENDORED.json: package, version, tarball integrity, and every file's SHA-256.
tests/unit/test_graphiql_assets.py checks the files against that manifest. To upgrade, change
PINNED (GraphiQL 3.x is the last line with a plain <script> build), run this, test in a browser.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "server" / "static" / "graphiql"
MANIFEST = TARGET / "VENDORED.json"

# package -> (version, {file in the tarball's package/ folder: name in TARGET})
PINNED: dict[str, tuple[str, dict[str, str]]] = {
    "graphiql": (
        "3.8.3",
        {
            "graphiql.min.js": "graphiql.min.js",
            "graphiql.min.css": "graphiql.min.css",
            "LICENSE": "graphiql.LICENSE.txt",
        },
    ),
    "react": (
        "18.3.1",
        {"umd/react.production.min.js": "react.production.min.js", "LICENSE": "react.LICENSE.txt"},
    ),
    "react-dom": (
        "18.3.1",
        {
            "umd/react-dom.production.min.js": "react-dom.production.min.js",
            "LICENSE": "react-dom.LICENSE.txt",
        },
    ),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def npm_pack(package: str, version: str, into: Path) -> tuple[Path, str]:
    """Download package@version's tarball with npm; its path and the registry integrity."""
    out = subprocess.run(
        ["npm", "pack", f"{package}@{version}", "--json", "--pack-destination", str(into)],
        check=True,
        capture_output=True,
        text=True,
        cwd=into,
    )
    info = json.loads(out.stdout)[0]
    return into / info["filename"], info["integrity"]


def vendor() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, object] = {"packages": [], "files": {}}
    files: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for package, (version, wanted) in PINNED.items():
            tarball, integrity = npm_pack(package, version, Path(tmp))
            manifest["packages"].append(  # type: ignore[attr-defined]
                {"name": package, "version": version, "integrity": integrity}
            )
            with tarfile.open(tarball) as archive:
                for source, name in wanted.items():
                    member = archive.extractfile(f"package/{source}")
                    if member is None:
                        raise SystemExit(f"{package}@{version} has no {source}")
                    (TARGET / name).write_bytes(member.read())
                    files[name] = {
                        "package": package,
                        "version": version,
                        "source": source,
                        "sha256": sha256(TARGET / name),
                    }
    manifest["files"] = files
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"vendored {len(files)} files into {TARGET.relative_to(ROOT)}")


def check() -> int:
    manifest = json.loads(MANIFEST.read_text())
    bad = [
        name
        for name, entry in manifest["files"].items()
        if not (TARGET / name).is_file() or sha256(TARGET / name) != entry["sha256"]
    ]
    for name in bad:
        print(f"{name}: missing or changed", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify, change nothing")
    if parser.parse_args().check:
        sys.exit(check())
    vendor()
