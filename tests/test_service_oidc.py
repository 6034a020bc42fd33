"""OIDC sign-in through the service's real routes, against a stand-in identity provider.

The provider is replaced at its three network calls (discovery document, token endpoint, key
set) by values made here: an RSA key generated for the test signs the ID token. So the checks
the service makes are exercised for real: state, nonce, signature, issuer, audience, and that
the provider can only sign in to an account an admin made.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import RSAKey

from fairshare.service import oidc
from fairshare.store import accounts
from tests.servicecase import Case, make_case

ISSUER = "https://id.example.nhs.uk"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})


@pytest.fixture
def case(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[Case]:
    made = make_case(f"sqlite:///{tmp_path}/o.sqlite", oidc_issuer=ISSUER,
                     oidc_client_id="fairshare", oidc_client_secret="client-secret-value")
    with made.engine.begin() as conn:
        accounts.create_account(conn, username="lead@nhs.net", role="office_lead",
                                office="London", actor="test")
    monkeypatch.setattr(oidc, "metadata", lambda s: {
        "issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks",
        "authorization_endpoint": f"{ISSUER}/authorize", "token_endpoint": f"{ISSUER}/token"})

    class Keys:
        def json(self) -> Any:
            return {"keys": [KEY.as_dict(private=False)]}

    monkeypatch.setattr(oidc.requests, "get", lambda *a, **k: Keys())
    yield made
    made.engine.dispose()


def _provider_answers(monkeypatch: pytest.MonkeyPatch, **claims: Any) -> None:
    key = claims.pop("key", KEY)
    alg = claims.pop("alg", "RS256")

    def fetch_token(self: Any, *args: Any, **kwargs: Any) -> dict[str, str]:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": "fairshare", "sub": "subject-1", "iat": now,
                "exp": now + 300, "email": "lead@nhs.net", **claims}
        token = jwt.encode({"alg": alg, "kid": "k1"}, body, key,
                           algorithms=[alg])
        return {"access_token": "a", "token_type": "Bearer", "id_token": token}

    monkeypatch.setattr(OAuth2Session, "fetch_token", fetch_token)


def _start(case: Case) -> tuple[Any, dict[str, list[str]]]:
    client = case.client()
    answer = client.get("/sign-in/oidc")
    assert answer.status_code == 303
    return client, parse_qs(urlparse(answer.headers["Location"]).query)


def test_a_prepared_account_signs_in_through_the_provider(
        case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    client, asked = _start(case)
    _provider_answers(monkeypatch, nonce=asked["nonce"][0])
    answer = client.get(f"/sign-in/oidc/callback?code=c&state={asked['state'][0]}")
    assert answer.status_code == 303, answer.get_data(as_text=True)[:400]
    home = client.get("/").get_data(as_text=True)
    assert "Sign out" in home and "London" in home
    with case.engine.connect() as conn:
        linked = accounts.by_username(conn, "lead@nhs.net")
    assert linked is not None and linked.oidc_subject == "subject-1"


@pytest.mark.parametrize("change", ["state", "nonce", "audience", "issuer", "signature",
                                    "expired", "stranger", "shared-secret"])
def test_the_providers_answer_is_checked(case: Case, monkeypatch: pytest.MonkeyPatch,
                                         change: str) -> None:
    client, asked = _start(case)
    state, claims = asked["state"][0], {"nonce": asked["nonce"][0]}
    if change == "state":
        state = "forged"
    elif change == "nonce":
        claims["nonce"] = "replayed"
    elif change == "audience":
        claims["aud"] = "another-app"
    elif change == "issuer":
        claims["iss"] = "https://evil.example"
    elif change == "signature":
        claims["key"] = OTHER_KEY
    elif change == "expired":
        claims.update(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)
    elif change == "shared-secret":  # signed with the client secret (HS256): never accepted
        from joserfc.jwk import OctKey

        claims.update(key=OctKey.import_key("client-secret-value"), alg="HS256")
    elif change == "stranger":
        claims["email"], claims["sub"] = "stranger@nhs.net", "subject-9"
    _provider_answers(monkeypatch, **claims)
    answer = client.get(f"/sign-in/oidc/callback?code=c&state={state}")
    assert answer.status_code in (401, 403)
    assert client.get("/").status_code == 302  # not signed in
