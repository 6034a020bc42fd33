"""Every setting of the shared service, from a TOML or YAML file and ``FAIRSHARE_*`` variables.

One pydantic model, so each setting has its default, its check and its words in one place, and
a bad value is refused at start-up naming the file (or variable), the key and what is expected,
never half-way through a request. The environment wins over the file, so a deployment keeps
secrets (the OIDC client secret, the database password in the URL) out of files:
``FAIRSHARE_DATABASE_URL``, ``FAIRSHARE_OIDC_CLIENT_SECRET`` and so on (the key in capitals).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from fairshare.errors import FairshareError

ENV_PREFIX = "FAIRSHARE_"


class SettingsError(FairshareError):
    """The service's settings cannot be used (the message names the file or variable)."""


class ServiceSettings(BaseModel):
    """The shared service's settings (docs/service.md lists them with their defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str | None = Field(
        None, description="The database (sqlite:///PATH or postgresql://USER@HOST/NAME); "
        "default: the --database option, then the local SQLite file.")
    secure_cookies: bool = Field(
        True, description="Send cookies only over HTTPS. Off only for http on this machine "
        "(loopback) during development: `service serve` refuses it on any other address.")
    session_idle_minutes: float = Field(30, gt=0, le=24 * 60,
                                        description="A session unused this long ends.")
    session_hours: float = Field(12, gt=0, le=24 * 7,
                                 description="A session ends this long after sign-in, used or not.")
    lockout_failures: int = Field(5, ge=1, le=100,
                                  description="Wrong passwords in a row that lock an account.")
    lockout_minutes: float = Field(15, gt=0, le=24 * 60,
                                   description="How long a locked account stays locked.")
    throttle_failures: int = Field(20, ge=1, le=10_000, description="Failed sign-ins from one "
                                   "client address within throttle_minutes before it is refused.")
    throttle_minutes: float = Field(15, gt=0, le=24 * 60)
    upload_max_bytes: int = Field(10 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024,
                                  description="Largest uploaded file (the input readers' own "
                                  "limit, 50 MB, is the ceiling).")
    upload_types: tuple[str, ...] = Field((".csv", ".xlsx"),
                                          description="File name endings an upload may have.")
    public_viewing: bool = Field(False, description="Published plans readable without signing "
                                 "in (a deployment for the public); everything else still needs "
                                 "an account.")
    explorer: bool = Field(True, description="Mount the interactive explorer (the Dash app of "
                           "`fairshare serve`) at /explore/ for analysts and admins.")
    log_format: Literal["json", "text"] = Field(
        "json", description="One line per request: JSON (for a log collector) or text.")
    trusted_proxies: int = Field(0, ge=0, le=5, description="Reverse proxies in front of the "
                                 "service: the client address is read from X-Forwarded-For "
                                 "that many hops back (0: the connection's own address).")
    allowed_hosts: tuple[str, ...] = Field((), description="Names browsers use for the "
                                           "service besides loopback addresses.")
    oidc_issuer: str | None = Field(None, description="OpenID Connect issuer URL (its "
                                    ".well-known/openid-configuration is read); unset: no OIDC.")
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid email profile"
    oidc_label: str = Field("Sign in with your organisation's account",
                            description="The words on the OIDC sign-in button.")

    @model_validator(mode="after")
    def _oidc_complete(self) -> ServiceSettings:
        given = [self.oidc_issuer, self.oidc_client_id, self.oidc_client_secret]
        if any(given) and not all(given):
            raise ValueError("OIDC needs oidc_issuer, oidc_client_id and oidc_client_secret "
                             "together (the secret from FAIRSHARE_OIDC_CLIENT_SECRET)")
        if self.oidc_issuer and not self.oidc_issuer.startswith("https://") \
                and not self.oidc_issuer.startswith("http://127.0.0.1"):
            raise ValueError("oidc_issuer must be an https:// URL")
        bad = [t for t in self.upload_types if t not in (".csv", ".xlsx")]
        if bad or not self.upload_types:
            raise ValueError(f"upload_types may hold .csv and .xlsx only, not {bad}")
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        if path.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise SettingsError(f"{path}: a settings file ends .toml, .yaml or .yml")
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise SettingsError(f"{path}: not readable as {path.suffix[1:]}: {exc}") from None
    except Exception as exc:  # yaml's errors (imported lazily)
        raise SettingsError(f"{path}: not readable as YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected keys and values (e.g. secure_cookies = true)")
    return data


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The settings given as ``FAIRSHARE_<KEY>`` (lists comma-separated)."""
    found: dict[str, Any] = {}
    for key, field in ServiceSettings.model_fields.items():
        value = env.get(ENV_PREFIX + key.upper())
        if value is None:
            continue
        is_list = "tuple" in str(field.annotation)
        found[key] = tuple(v.strip() for v in value.split(",") if v.strip()) if is_list \
            else value
    return found


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None,
                  **overrides: Any) -> ServiceSettings:
    """Settings from the file, then the environment, then ``overrides`` (command options)."""
    env = os.environ if env is None else env
    from_file = _read_file(path) if path is not None else {}
    from_env = _from_env(env)
    merged = {**from_file, **from_env, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return ServiceSettings(**merged)
    except ValidationError as exc:
        raise SettingsError(_explain(exc, path, from_env)) from None


def _explain(exc: ValidationError, path: Path | None, from_env: Mapping[str, Any]) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        where = f"{ENV_PREFIX}{key.upper()}" if key in from_env else (
            f"{path}, key {key!r}" if path else f"setting {key!r}") if key else (
            str(path) if path else "the settings")
        hint = " (not a setting: see docs/service.md)" if err["type"] == "extra_forbidden" else ""
        lines.append(f"{where}: {err['msg'].removeprefix('Value error, ')}{hint}")
    return "the service's settings are not usable:\n  - " + "\n  - ".join(lines)
