"""Password rules (NIST SP 800-63B), session families (refresh rotation, reuse), owner rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import Conflict, InvalidInput, Unauthenticated
from domain.model.accounts import (
    RefreshTokenReused,
    Role,
    SessionFamily,
    User,
    check_owner_remains,
    check_password,
)
from server.adapters.auth.blocklist import common_passwords
from server.ratelimit import client_ip, trusted_networks

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
EMAIL = "maria.silva@example.com"


@pytest.mark.parametrize(
    ("password", "message_part"),
    [
        ("password", "most common passwords"),
        ("PassWord", "most common passwords"),
        ("iloveyou", "most common passwords"),
        ("        ", "only spaces"),
        ("\t \t \t \t ", "only spaces"),
        ("aaaaaaaaaaaa", "repeat one character"),
        ("maria.silva2026", "e-mail address's name"),
        ("short", "at least 8"),
        ("x" * 257 + "y", "at most 256"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, message_part: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_password(password, EMAIL, common_passwords())
    assert refused.value.field == "password"
    assert message_part in refused.value.message


@pytest.mark.parametrize(
    "password", ["correct horse battery", "tr0ub4dor&3x", "só acentos também", "12 palavras"]
)
def test_long_uncommon_passwords_need_no_composition_rules(password: str) -> None:
    check_password(password, EMAIL, common_passwords())


def test_the_shipped_blocklist_holds_thousands_of_common_passwords() -> None:
    blocklist = common_passwords()
    assert len(blocklist) > 10_000
    assert {"password", "12345678", "qwertyuiop"} <= blocklist


def family() -> SessionFamily:
    user = User("acc", EMAIL, "hash", Role.OWNER, NOW)
    return SessionFamily.start(user, "jti-1", NOW, timedelta(days=7))


def test_a_refresh_token_rotates_once() -> None:
    session = family()
    session.rotate("jti-1", "jti-2", NOW + timedelta(minutes=1))
    assert session.current_jti == "jti-2"
    assert not session.revoked


def test_reusing_a_rotated_refresh_token_revokes_the_family() -> None:
    session = family()
    session.rotate("jti-1", "jti-2", NOW)
    with pytest.raises(RefreshTokenReused):
        session.rotate("jti-1", "jti-3", NOW)
    assert session.revoked
    with pytest.raises(Unauthenticated):  # the newest token is dead too
        session.rotate("jti-2", "jti-4", NOW)


def test_a_revoked_or_expired_family_refuses_its_current_token() -> None:
    revoked = family()
    revoked.revoke(NOW)
    with pytest.raises(Unauthenticated, match="signed out"):
        revoked.rotate("jti-1", "jti-2", NOW)
    with pytest.raises(Unauthenticated, match="expired"):
        family().rotate("jti-1", "jti-2", NOW + timedelta(days=8))


def test_a_role_change_bumps_the_token_version() -> None:
    user = User("acc", EMAIL, "hash", Role.OWNER, NOW)
    user.change_role(Role.OWNER)
    assert user.token_version == 0
    user.change_role(Role.VIEWER)
    assert (user.role, user.token_version) == (Role.VIEWER, 1)


def test_the_last_owner_stays() -> None:
    owner = User("acc", EMAIL, "hash", Role.OWNER, NOW)
    for new_role in (None, Role.VIEWER):
        with pytest.raises(Conflict):
            check_owner_remains(owner, new_role, owners=1)
    check_owner_remains(owner, Role.VIEWER, owners=2)
    check_owner_remains(User("acc", EMAIL, "h", Role.VIEWER, NOW), None, owners=1)


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy() -> None:
    headers = [(b"x-forwarded-for", b"6.6.6.6, 203.0.113.9")]
    scope = {"client": ("10.0.0.5", 1234), "headers": headers}
    assert client_ip(scope, ()) == "10.0.0.5"
    assert client_ip(scope, trusted_networks(["10.0.0.0/8"])) == "203.0.113.9"
    assert client_ip({**scope, "client": ("8.8.8.8", 1)}, trusted_networks(["10.0.0.0/8"])) == (
        "8.8.8.8"
    )
    # A forged left part is skipped only as far as the trusted hops go.
    assert client_ip(scope, trusted_networks(["10.0.0.0/8", "203.0.113.0/24"])) == "6.6.6.6"
