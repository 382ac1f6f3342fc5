"""Data files only the server's own user can read: files 0600, folders 0700.

`mlproject serve` and `worker` set a 0o077 umask at start (`keep_new_files_private`), so
whatever a library writes (SQLite, MLflow, joblib) is private too; the helpers here also set
the modes explicitly where this code creates data, for processes that did not start there.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
DIR_MODE = 0o700


def keep_new_files_private() -> None:
    """From now on this process creates files 0600 and folders 0700."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Create `path` and any missing parents as 0700 folders (existing ones are left as is)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(folder, DIR_MODE)  # mkdir's mode is masked by the umask; say it exactly
    return path


def private_file(path: Path) -> Path:
    """Create an empty 0600 file unless it exists; returns the path."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return path
    os.close(fd)
    return path


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (SQLAlchemy or MLflow style), else None."""
    try:
        parsed = make_url(url)
    except Exception:  # not a database URL (e.g. an MLflow http:// server)
        return None
    if not parsed.get_backend_name().startswith("sqlite"):
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)
