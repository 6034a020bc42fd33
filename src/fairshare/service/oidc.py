"""OpenID Connect sign-in (Authlib), configured by the settings only.

Authorisation code flow with PKCE (S256), a random ``state`` and ``nonce`` kept in a short-lived
HttpOnly cookie (SameSite=Lax: the provider's redirect back is a cross-site navigation, which a
Strict cookie would not survive). The ID token's signature is checked against the provider's
published keys, and its issuer, audience, expiry and nonce against what was asked. The
provider only says who someone is: the account and its role are made by an admin here
(``store.accounts.oidc_sign_in``).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import requests
from flask import redirect, request
from werkzeug.wrappers import Response

from fairshare.errors import FairshareError
from fairshare.service.settings import ServiceSettings

STATE_COOKIE = "fairshare_oidc"
TIMEOUT = 10


class OidcError(FairshareError):
    """The provider's answer cannot be used (the message says why, without any token)."""


@dataclass(frozen=True)
class Identity:
    subject: str
    email: str | None


def metadata(settings: ServiceSettings) -> dict[str, Any]:
    """The provider's discovery document (endpoints and keys' address)."""
    assert settings.oidc_issuer is not None
    url = settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        answer = requests.get(url, timeout=TIMEOUT)
        answer.raise_for_status()
        found = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise OidcError(f"the identity provider's configuration could not be read "
                        f"({exc.__class__.__name__})") from None
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri", "issuer"):
        if key not in found:
            raise OidcError(f"the identity provider's configuration has no {key}")
    if found["issuer"].rstrip("/") != settings.oidc_issuer.rstrip("/"):
        raise OidcError("the identity provider names a different issuer than the settings")
    return dict(found)


def client(settings: ServiceSettings, redirect_uri: str) -> Any:
    from authlib.integrations.requests_client import OAuth2Session

    assert settings.oidc_client_secret is not None
    return OAuth2Session(settings.oidc_client_id, settings.oidc_client_secret.get_secret_value(),
                         scope=settings.oidc_scopes, redirect_uri=redirect_uri,
                         code_challenge_method="S256", timeout=TIMEOUT)


def authorisation_url(settings: ServiceSettings, redirect_uri: str) -> tuple[str, dict[str, str]]:
    """Where to send the browser, and the state to keep until it comes back."""
    meta = metadata(settings)
    state = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24),
             "verifier": secrets.token_urlsafe(48)}
    url, _ = client(settings, redirect_uri).create_authorization_url(
        meta["authorization_endpoint"], state=state["state"], nonce=state["nonce"],
        code_verifier=state["verifier"])
    return str(url), state


def authorise(settings: ServiceSettings, redirect_uri: str) -> Response:
    url, state = authorisation_url(settings, redirect_uri)
    response = redirect(url, code=303)
    response.set_cookie(STATE_COOKIE, json.dumps(state), max_age=600, httponly=True,
                        secure=settings.secure_cookies, samesite="Lax", path="/sign-in/oidc")
    return response


def complete(settings: ServiceSettings, redirect_uri: str) -> Identity:
    """The identity in the provider's answer, after every check."""
    try:
        kept = json.loads(request.cookies.get(STATE_COOKIE, ""))
    except ValueError:
        raise OidcError("the sign-in took too long or was started elsewhere: try again") from None
    if not isinstance(kept, dict) or request.args.get("state") != kept.get("state"):
        raise OidcError("the answer does not match the sign-in this browser started")
    if "error" in request.args:
        raise OidcError(f"the provider refused: {request.args.get('error', '')[:80]}")
    meta = metadata(settings)
    try:
        token = client(settings, redirect_uri).fetch_token(
            meta["token_endpoint"], authorization_response=request.url,
            code_verifier=kept.get("verifier"))
    except Exception as exc:  # authlib and requests raise many kinds; none is shown
        raise OidcError(f"the provider did not give a token ({exc.__class__.__name__})") from None
    return identity(settings, meta, str(token.get("id_token", "")), str(kept.get("nonce")))


#: Signature algorithms an ID token may use (never "none" or a shared-secret HMAC).
ALGORITHMS = ("RS256", "PS256", "ES256")


def identity(settings: ServiceSettings, meta: dict[str, Any], id_token: str,
             nonce: str) -> Identity:
    """The checked claims of an ID token: signature, issuer, audience, expiry, nonce."""
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet
    from joserfc.jwt import ClaimsOption

    def must(value: str | None = None) -> ClaimsOption:
        return ClaimsOption(essential=True, value=value) if value else \
            ClaimsOption(essential=True)

    registry = jwt.JWTClaimsRegistry(
        leeway=60, iss=must(meta["issuer"]), aud=must(settings.oidc_client_id),
        nonce=must(nonce), sub=must(), exp=must())
    try:
        keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=TIMEOUT).json())
        token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
        registry.validate(token.claims)
    except (JoseError, requests.RequestException, ValueError, TypeError) as exc:
        raise OidcError(f"the identity token is not valid ({exc.__class__.__name__})") from None
    claims = token.claims
    email = claims.get("email") if claims.get("email_verified", True) else None
    return Identity(subject=str(claims["sub"]), email=email)
