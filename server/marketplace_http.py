"""The marketplace's HTTP entry points that are not GraphQL: the OAuth callback the seller's
browser lands on, and the webhook Mercado Livre (or the simulator) posts notifications to.

The webhook answers 200 as soon as the notification is recorded (its id is unique: a replay
changes nothing) and the targeted re-sync is queued; the sync itself runs as a job. A
notification is only a hint: the resource is read again from the marketplace, never taken
from the body.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from domain.errors import DomainError
from domain.marketplace import MarketplaceError
from domain.services.marketplace import Notification
from server.bootstrap import Container
from server.schema.errors import error_code

log = logging.getLogger("mlproject.marketplace")
MAX_NOTIFICATION_BYTES = 16 * 1024
CONNECTED_PAGE = (
    "<!doctype html><meta charset=utf-8><title>Connected</title>"
    "<p>Your Mercado Livre account is connected (connection {id}). You can close this tab."
)


def _notification(body: object) -> Notification | None:
    if not isinstance(body, dict):
        return None
    values: dict[str, Any] = body
    fields = [values.get(k) for k in ("_id", "topic", "resource", "user_id")]
    if any(v is None or isinstance(v, (dict, list, bool)) for v in fields):
        return None
    notification_id, topic, resource, user_id = (str(v).strip() for v in fields)
    if not notification_id or len(notification_id) > 64 or len(resource) > 255:
        return None
    attempts = values.get("attempts", 1)
    return Notification(
        id=notification_id,
        topic=topic[:32],
        resource=resource,
        user_id=user_id[:32],
        attempts=attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else 1,
    )


def marketplace_routes(container: Container) -> list[BaseRoute]:
    """`GET /oauth/mercadolivre/callback` and `POST /webhooks/mercadolivre`."""
    parts = container.marketplace
    assert parts is not None, "the container was built without the marketplace slice"
    service = parts.service

    async def callback(request: Request) -> Response:
        code = request.query_params.get("code", "")
        state = request.query_params.get("state", "")
        if request.query_params.get("error"):
            return JSONResponse(
                {"error": "consent_refused", "message": "The seller did not authorise the app."},
                status_code=400,
            )
        try:
            connection = await service.finish_consent(code, state)
        except MarketplaceError as exc:
            return JSONResponse({"error": "marketplace", "message": exc.message}, status_code=502)
        except DomainError as exc:
            status = 404 if error_code(exc) == "NOT_FOUND" else 400
            return JSONResponse({"error": error_code(exc), "message": exc.message}, status)
        if "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(CONNECTED_PAGE.format(id=connection.id))
        return JSONResponse({"connectionId": connection.id, "status": connection.status.value})

    async def webhook(request: Request) -> Response:
        raw = await request.body()
        if len(raw) > MAX_NOTIFICATION_BYTES:
            return JSONResponse({"error": "too_large"}, status_code=413)
        try:
            notification = _notification(json.loads(raw))
        except (ValueError, UnicodeDecodeError):
            notification = None
        if notification is None:
            return JSONResponse({"error": "bad_notification"}, status_code=400)
        started = await service.receive(notification)
        log.info(
            "webhook.received",
            extra={
                "notification_id": notification.id,
                "topic": notification.topic,
                "syncs": started,
            },
        )
        return JSONResponse({})

    return [
        Route("/oauth/mercadolivre/callback", callback, methods=["GET"]),
        Route("/webhooks/mercadolivre", webhook, methods=["POST"]),
    ]
