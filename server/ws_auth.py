"""WebSocket sessions end with their token: a watcher per socket closes it at the access
token's expiry (4401) and re-checks the token against the database every few seconds, closing
it at once when the user was removed, their role changed or their session signed out (4403).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketState

from domain.errors import DomainError
from server.schema.context import Context, bearer_token

log = logging.getLogger("mlproject.ws")

TOKEN_EXPIRED = 4401
TOKEN_REVOKED = 4403
_watchers: set[asyncio.Task[None]] = set()  # strong references until each watcher ends


def guard_socket(context: Context) -> None:
    """Start watching an authenticated socket (a no-op for anything but a WebSocket)."""
    socket = context.request
    if not isinstance(socket, WebSocket):
        return
    task = asyncio.get_running_loop().create_task(_watch(context, socket))
    _watchers.add(task)
    task.add_done_callback(_watchers.discard)


async def _watch(context: Context, socket: WebSocket) -> None:
    principal = context.principal
    token = bearer_token(context.authorization)
    accounts = context.container.accounts
    recheck = context.container.settings.ws_auth_recheck_seconds
    clock = context.container.clock
    while True:
        left = (
            (principal.expires_at - clock.now()).total_seconds()
            if principal.expires_at
            else recheck
        )
        if left <= 0:
            await _close(
                socket, TOKEN_EXPIRED, "The access token expired; reconnect with a new one."
            )
            return
        await asyncio.sleep(min(recheck, left))
        if _gone(socket):
            return
        if principal.expires_at and clock.now() >= principal.expires_at:
            continue  # closes above
        try:
            await accounts.authenticate_user(token)
        except DomainError as exc:
            await _close(socket, TOKEN_REVOKED, exc.message)
            return
        except Exception:  # a database hiccup must not drop every socket: check again later
            log.warning("ws.recheck_failed", exc_info=True)


def _gone(socket: WebSocket) -> bool:
    return WebSocketState.DISCONNECTED in (socket.client_state, socket.application_state)


async def _close(socket: WebSocket, code: int, reason: str) -> None:
    if _gone(socket):
        return
    log.info("ws.closed_for_auth", extra={"code": code})
    # A close reason holds at most 123 bytes.
    encoded = reason.encode()[:123].decode(errors="ignore")
    try:
        await socket.close(code=code, reason=encoded)
    except Exception as exc:  # already closing from the other side
        log.debug("ws.close_failed: %s", exc)


def live_watchers() -> Any:
    """For tests and diagnostics: the watchers still running."""
    return len(_watchers)
