"""The marketplaces the server connects to: Mercado Livre and the simulator, both through the
same HTTP adapter (`MercadoLivreMarketplace`), only with other base URLs and app credentials.

The simulator's consent page approves at once: `simulated_consent` requests the authorization
URL without following the redirect and reads the code from it, which is what the seller's
browser does on Mercado Livre. Everything after (code exchange with the PKCE verifier, tokens,
refreshes) is the one code path.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse, urlsplit, urlunsplit

import httpx

from domain.errors import Conflict
from domain.marketplace import (
    CredentialStore,
    Marketplace,
    MarketplaceRefused,
    MarketplaceUnavailable,
)
from domain.model.marketplace import MarketplaceProvider
from domain.ports import Clock
from server.adapters.marketplace.mercadolivre import MercadoLivreMarketplace
from server.config import Settings


class MarketplaceDirectory:
    """Implements `MarketplaceProviders`: one adapter instance per provider, built once."""

    def __init__(
        self, settings: Settings, credentials: CredentialStore, clock: Clock | None = None
    ) -> None:
        self._simulator_url = settings.simulator_url.rstrip("/")
        self._mercado_livre_app = bool(settings.ml_client_id and settings.ml_client_secret)
        self._marketplaces: dict[MarketplaceProvider, MercadoLivreMarketplace] = {
            MarketplaceProvider.MERCADO_LIVRE: MercadoLivreMarketplace.from_settings(
                settings, credentials, clock=clock
            ),
            MarketplaceProvider.SIMULATOR: MercadoLivreMarketplace.from_settings(
                settings,
                credentials,
                clock=clock,
                api_base=self._simulator_url,
                auth_base=self._simulator_url,
                client_id=settings.simulator_client_id,
                client_secret=settings.simulator_client_secret,
                rate_limit=settings.simulator_rate_limit,
            ),
        }
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0))

    def marketplace(self, provider: MarketplaceProvider) -> Marketplace:
        if provider is MarketplaceProvider.MERCADO_LIVRE and not self._mercado_livre_app:
            raise Conflict(
                "Mercado Livre is not configured on this server (ML_CLIENT_ID and "
                "ML_CLIENT_SECRET); connect the SIMULATOR instead.",
                field="provider",
            )
        return self._marketplaces[provider]

    async def simulated_seller(self, seed: int) -> str:
        answer = await self._send(
            "POST", f"{self._simulator_url}/_sim/sellers", json={"seed": seed}
        )
        return str(answer.json()["user_id"])

    async def simulated_consent(self, authorization_url: str, seller_id: str | None) -> str:
        url = _with_query(authorization_url, seller=seller_id) if seller_id else authorization_url
        answer = await self._send("GET", url)
        location = answer.headers.get("location", "")
        code = parse_qs(urlparse(location).query).get("code", [""])[0]
        if answer.status_code != 302 or not code:
            raise MarketplaceRefused(
                f"The simulator did not approve the connection ({answer.status_code}).",
                code="oauth.consent_refused",
                status=answer.status_code,
            )
        return code

    async def _send(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        try:
            answer = await self._http.request(method, url, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise MarketplaceUnavailable(
                f"The marketplace simulator at {self._simulator_url} is not reachable: {exc}"
            ) from exc
        if answer.status_code >= 400:
            raise MarketplaceRefused(
                f"The simulator refused: {answer.text[:200]}",
                code="simulator.refused",
                status=answer.status_code,
            )
        return answer

    async def aclose(self) -> None:
        await self._http.aclose()
        for marketplace in self._marketplaces.values():
            await marketplace.aclose()


def _with_query(url: str, **extra: str) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(extra)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
