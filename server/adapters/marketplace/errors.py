"""Mercado Livre's error answers -> the port's `Marketplace*` errors, in words a seller can act on.

An error body is `{"message": str, "error": str, "status": int, "cause": [{"code", "message"}]}`;
the `error` code (or the first cause's) picks the sentence, and the code itself stays at the end
of the message and on the error (`MarketplaceRefused.code`) for logs and the audit trail.
"""

from __future__ import annotations

from typing import Any

import httpx

from domain.marketplace import (
    MarketplaceError,
    MarketplaceNotFound,
    MarketplaceRefused,
    MarketplaceUnavailable,
)

# What each refusal means for the seller (the action goes before: "Mercado Livre refused the
# discount: <reason> (<code>)").
REASONS: dict[str, str] = {
    "promotion.duration_exceeded": "it may last at most 14 days",
    "item.price.automated": (
        "the listing is under Mercado Livre's price automation; turn the automation off to "
        "change its price"
    ),
    "item.condition.invalid": "only listings of new items can have it",
    "item.listing_type.invalid": "free listings cannot have it; upgrade the listing type",
    "item.status.invalid": "the listing is not active",
    "seller.reputation.invalid": "it needs a green seller reputation",
    "promotion.price.invalid": "the deal price must be at least 5% below the listing's price",
    "promotion.already_exists": "the listing already has an individual discount running or pending",
    "promotion.price.out_of_range": "the deal price is outside the bounds the promotion allows",
    "promotion.stock.out_of_range": "the stock is outside the bounds the lightning deal allows",
    "invalid_client": "this app's ML_CLIENT_ID/ML_CLIENT_SECRET are not accepted",
}


def error_code(response: httpx.Response) -> tuple[str, str]:
    """The answer's (code, message); code falls back to the first cause's, then to the status."""
    body = _json(response)
    code = body.get("error") if isinstance(body.get("error"), str) else None
    message = str(body.get("message") or "")
    causes = body.get("cause")
    if isinstance(causes, list) and causes and isinstance(causes[0], dict):
        first = causes[0]
        if not code or code in {"bad_request", "validation_error"}:
            code = first.get("code") or code
        message = message or str(first.get("message") or "")
    return str(code or f"http.{response.status_code}"), message


def refusal(response: httpx.Response, action: str) -> MarketplaceError:
    """The error for a final non-2xx answer (401s are handled before, by the token refresh)."""
    status = response.status_code
    code, message = error_code(response)
    if status == 404:
        return MarketplaceNotFound(f"Mercado Livre found nothing for {action} ({message or code})")
    if status == 429 or status >= 500:
        return MarketplaceUnavailable(
            f"Mercado Livre did not answer {action} (HTTP {status}); try again later"
        )
    reason = REASONS.get(code) or message or f"HTTP {status}"
    return MarketplaceRefused(
        f"Mercado Livre refused {action}: {reason} ({code})", code=code, status=status
    )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
