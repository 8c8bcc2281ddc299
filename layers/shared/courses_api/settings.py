"""One validated view of the function's environment, read once per container.

Field names match the ``Environment`` block of ``template.yaml`` (case-insensitively), so
a typo in either place fails at cold start instead of at the first request. A plain
pydantic model filled from ``os.environ``: pydantic-settings would add about 200 ms of
imports to every cold start for features (dotenv, secrets dirs, nested sources) we do
not use. The HTTP adapter reads its part (:class:`HttpSettings`, which :class:`Settings`
extends) when a function module is imported, before the container is built.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

# HMAC-SHA256 keys shorter than the hash weaken it (RFC 2104); fewer distinct characters
# than this is a placeholder ("aaaa...", "0000..."), not a key.
MIN_CURSOR_SECRET_BYTES = 32
MIN_CURSOR_SECRET_DISTINCT = 8
# The development default earlier versions fell back to: public, so never a key.
PUBLIC_CURSOR_SECRETS = frozenset({"local-development-cursor-secret"})


def cursor_secret_problem(value: str) -> str | None:
    """Why ``value`` may not sign cursors (anyone could forge them), or ``None``."""
    if value in PUBLIC_CURSOR_SECRETS:
        return "CURSOR_SECRET is a value published in the repository; generate a random one"
    if len(value.encode()) < MIN_CURSOR_SECRET_BYTES:
        return f"CURSOR_SECRET must be at least {MIN_CURSOR_SECRET_BYTES} bytes of random data"
    if len(set(value)) < MIN_CURSOR_SECRET_DISTINCT:
        return "CURSOR_SECRET looks like a placeholder, not random data"
    return None


class HttpSettings(BaseModel):
    """What the HTTP adapter needs when a function module is imported (no table names)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Validate the variables named like the fields (any case); others are ignored."""
        source = os.environ if environ is None else environ
        return cls.model_validate({name.lower(): value for name, value in source.items()
                                   if name.lower() in cls.model_fields})

    # Comma-separated origins allowed by CORS; empty disables CORS headers.
    allowed_origins: str = ""

    @property
    def cors_origins(self) -> list[str]:
        """``allowed_origins`` as a list (empty: no CORS headers at all)."""
        return [origin.strip() for origin in self.allowed_origins.split(",") if origin.strip()]


class Settings(HttpSettings):
    """Environment of every function; table names have no defaults on purpose."""

    courses_table: str = Field(min_length=3)
    enrollments_table: str = Field(min_length=3)
    idempotency_table: str = Field(default="", description="Powertools idempotency records")

    # DynamoDB client. The endpoint is only set locally (moto); AWS uses the regional one.
    dynamodb_endpoint: str = ""
    aws_region: str = "us-east-1"
    dynamodb_connect_timeout_s: float = Field(default=1.0, gt=0, le=10)
    dynamodb_read_timeout_s: float = Field(default=2.0, gt=0, le=20)
    dynamodb_max_attempts: int = Field(default=3, ge=1, le=10)

    # Redis / ElastiCache. An empty URL means "no Redis tier" (every read is a BYPASS).
    redis_url: str = ""
    redis_cluster: bool = False
    redis_auth_mode: Literal["none", "password", "iam"] = "none"
    redis_username: str = ""
    redis_password: SecretStr = SecretStr("")
    redis_cache_name: str = Field(default="", description="ElastiCache cache name, for IAM auth")
    # PEM file of a private CA (the local stand-in's); empty: the system's trust store (AWS).
    redis_tls_ca_file: str = ""
    # Bounds TCP connect, TLS handshake and AUTH of a new connection (cold arm64: hundreds of ms).
    redis_connect_timeout_ms: int = Field(default=1000, ge=1, le=5000)
    redis_socket_timeout_ms: int = Field(default=50, ge=1, le=5000)

    # Cache behaviour.
    cache_key_prefix: str = Field(default="courses", pattern=r"^[a-z0-9-]{1,32}$")
    cache_schema_version: int = Field(default=3, ge=1)
    # Invalidation is write-driven, so these bound memory and the staleness of a key whose
    # every invalidation was lost (TTL + near TTL), not freshness (template.yaml says why 1 h).
    cache_item_ttl_s: int = Field(default=3600, ge=1)
    cache_list_ttl_s: int = Field(default=3600, ge=1)
    cache_negative_ttl_s: int = Field(default=15, ge=1)
    # How long an invalidation's version fence outlives it: above DynamoDB's replica lag.
    cache_fence_ttl_ms: int = Field(default=2000, ge=100, le=60_000)
    near_cache_ttl_s: float = Field(default=1.0, ge=0, le=60)
    near_cache_max_entries: int = Field(default=1024, ge=1)
    near_cache_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    breaker_failure_threshold: int = Field(default=3, ge=1)
    breaker_cooldown_s: float = Field(default=5.0, gt=0)

    # Opaque pagination cursors are HMAC-signed. In AWS the key is fetched at init from
    # Secrets Manager (``CURSOR_SECRET_ID``: never in the function's configuration, which
    # anyone allowed lambda:GetFunctionConfiguration reads); locally it is ``CURSOR_SECRET``,
    # and ``CURSOR_SECRET_PREVIOUS`` is still accepted while a rotation settles.
    cursor_secret_id: str = ""
    cursor_secret: SecretStr | None = None
    cursor_secret_previous: SecretStr | None = None

    @field_validator("cursor_secret", "cursor_secret_previous")
    @classmethod
    def _strong_cursor_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        problem = None if secret is None else cursor_secret_problem(secret.get_secret_value())
        if problem is not None:
            raise ValueError(problem)
        return secret

    @property
    def cache_enabled(self) -> bool:
        """Whether a Redis tier is configured at all."""
        return bool(self.redis_url)
