"""One seller's authorised calls: a token from `SellerTokens`, the retrying `Sender`, one refresh
and one retry on a 401, then the error mapping of errors.py. Nothing here raises httpx's errors.
"""

from __future__ import annotations

from typing import Any

import httpx

from domain.marketplace import MarketplaceAuthorizationLost, MarketplaceUnavailable
from server.adapters.marketplace.errors import refusal
from server.adapters.marketplace.oauth import SellerTokens
from server.adapters.marketplace.transport import ClientSettings, Limiter, Sender


class SellerSession:
    """Calls Mercado Livre's API as one connected seller."""

    def __init__(
        self, tokens: SellerTokens, sender: Sender, limiter: Limiter, settings: ClientSettings
    ) -> None:
        self.tokens = tokens
        self._sender = sender
        self._limiter = limiter
        self._api_base = settings.api_base

    @property
    def connection_id(self) -> str:
        return self.tokens.connection_id

    async def call(
        self,
        method: str,
        path: str,
        *,
        action: str,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        absent_ok: bool = False,
        expect: type[dict[str, Any]] | type[list[Any]] | None = dict,
    ) -> Any:
        """The answer's JSON, of type `expect` (None: anything, the body is not used); None for
        a 404 when `absent_ok`.

        `action` names what was asked in the seller's words ("the discount on listing MLB1");
        it goes into the error messages.
        """
        token = await self.tokens.access_token()
        response = await self._send(method, path, token, action, params, json)
        if response.status_code == 401:
            token = await self.tokens.refresh_after(token)
            response = await self._send(method, path, token, action, params, json)
            if response.status_code == 401:
                raise MarketplaceAuthorizationLost(
                    "Mercado Livre refused this seller's fresh access token; connect the seller "
                    "again"
                )
        if response.status_code == 404 and absent_ok:
            return None
        if not response.is_success:
            raise refusal(response, action)
        if expect is None:
            return None
        try:
            answer = response.json()
        except ValueError as exc:
            raise MarketplaceUnavailable(f"Mercado Livre answered {action} with no JSON") from exc
        if not isinstance(answer, expect):
            raise MarketplaceUnavailable(
                f"Mercado Livre answered {action} with a {type(answer).__name__}, "
                f"not a {expect.__name__}"
            )
        return answer

    async def _send(
        self,
        method: str,
        path: str,
        token: str,
        action: str,
        params: dict[str, Any] | None,
        json: dict[str, Any] | None,
    ) -> httpx.Response:
        request = self._sender.http.build_request(
            method,
            f"{self._api_base}{path}",
            params=params,
            json=json,
            headers={"Authorization": f"Bearer {token}"},
        )
        return await self._sender.send(request, limiter=self._limiter, action=action)
