"""The common-password blocklist shipped with the package (NIST SP 800-63B 5.1.1.2).

`common_passwords.txt` beside this file holds the 11,611 passwords of 8 characters or more
from zxcvbn's frequency list (MIT licence), lower case. Regenerate it with
`python -m server.adapters.auth.blocklist` after `pip install zxcvbn`.
"""

from __future__ import annotations

import functools
from pathlib import Path

PATH = Path(__file__).with_name("common_passwords.txt")
MIN_LENGTH = 8


@functools.cache
def common_passwords() -> frozenset[str]:
    """The blocklist, read once per process."""
    lines = PATH.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _generate() -> None:  # pragma: no cover - a maintenance tool
    import importlib.metadata

    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    words: dict[str, None] = {}
    for word in FREQUENCY_LISTS["passwords"]:
        if len(word) >= MIN_LENGTH:
            words.setdefault(word.lower())
    version = importlib.metadata.version("zxcvbn")
    header = (
        "# The most common passwords of 8 characters or more, most common first, lower case.\n"
        f"# Generated from the `passwords` frequency list of zxcvbn {version} (MIT licence,\n"
        "# derived from Mark Burnett's 10 million password corpus / xato.net), filtered to\n"
        "# length >= 8. Regenerate with: python -m server.adapters.auth.blocklist\n"
    )
    PATH.write_text(header + "\n".join(words) + "\n", encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    _generate()
