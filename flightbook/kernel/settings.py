"""Settings, read once from ``FLIGHTBOOK_*`` environment variables; nothing else reads os.environ."""
from __future__ import annotations

import email.utils
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from flightbook import MODULES
from flightbook.kernel.db import private_folder


#: what may name things on the broker (the prefix of its exchange and queues)
BROKER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class SettingsError(ValueError):
    """A setting has a value we cannot use."""


def _int(env, name, default):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def _float(env, name, default):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be more than 0, got {raw!r}")
    return value


def _positive(env, name, default):
    value = _int(env, name, default)
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {value}")
    return value


def _broker_url(env) -> str:
    url = env.get("FLIGHTBOOK_BROKER_URL", "").strip()
    if url and not url.startswith(("amqp://", "amqps://")):
        raise SettingsError(f"FLIGHTBOOK_BROKER_URL must be an amqp:// or amqps:// URL, got {url.split('@')[-1]!r}")
    return url


def _broker_prefix(env) -> str:
    prefix = env.get("FLIGHTBOOK_BROKER_PREFIX") or "flightbook"
    if not BROKER_NAME.match(prefix):
        raise SettingsError(f"FLIGHTBOOK_BROKER_PREFIX must be letters, digits, '.', '_' or '-', got {prefix!r}")
    return prefix


def _delays(env, name, default):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        delays = tuple(float(part) for part in raw.split(","))
    except ValueError:
        delays = ()
    if not delays or any(not 0 < d <= 86400 for d in delays):
        raise SettingsError(f"{name} must be seconds separated by commas, each above 0 and at most 86400, "
                            f"got {raw!r}")
    return delays


def _smtp_url(env) -> str:
    url = env.get("FLIGHTBOOK_SMTP_URL", "").strip()
    if url and not url.startswith(("smtp://", "smtps://")):
        raise SettingsError(f"FLIGHTBOOK_SMTP_URL must be an smtp:// or smtps:// URL, got {url.split('@')[-1]!r}")
    return url


def _mail_from(env) -> str:
    sender = (env.get("FLIGHTBOOK_MAIL_FROM") or "flightbook <tickets@flightbook.localhost>").strip()
    address = email.utils.parseaddr(sender)[1]
    if "@" not in address or any(c.isspace() for c in address):
        raise SettingsError(f"FLIGHTBOOK_MAIL_FROM must be an e-mail address (or 'Name <address>'), got {sender!r}")
    return sender


def _public_url(env) -> str:
    url = (env.get("FLIGHTBOOK_PUBLIC_URL") or "http://127.0.0.1:8000").strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or len(url) < len("http://x"):
        raise SettingsError(f"FLIGHTBOOK_PUBLIC_URL must be an http:// or https:// address, got {url!r}")
    return url


def _log_format(env) -> str:
    value = (env.get("FLIGHTBOOK_LOG_FORMAT") or "text").strip().lower()
    if value not in ("text", "json"):
        raise SettingsError(f"FLIGHTBOOK_LOG_FORMAT must be text or json, got {value!r}")
    return value


def _on_off(env, name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "on", "true", "yes"):
        return True
    if raw in ("0", "off", "false", "no"):
        return False
    raise SettingsError(f"{name} must be on or off, got {raw!r}")


def _persistent_secret(home: Path, name: str) -> str:
    """A random secret kept under FLIGHTBOOK_HOME so every worker of the embedded default shares it."""
    path = home / name
    private_folder(home)
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


@dataclass(frozen=True)
class Settings:
    home: Path
    secret_key: str
    service_secret: str
    databases: dict[str, str]
    urls: dict[str, tuple[str, ...]]
    token_ttl_seconds: int = 12 * 3600
    service_token_ttl_seconds: int = 60
    hold_minutes: int = 15
    refund_cutoff_hours: int = 24
    late_refund_percent: int = 0
    child_fare_percent: int = 75
    infant_fare_percent: int = 10
    sweep_interval_seconds: int = 30
    min_connection_minutes: int = 45
    min_international_connection_minutes: int = 90
    max_layover_minutes: int = 12 * 60
    max_detour_percent: int = 200
    detour_allowance_km: int = 1000
    stripe_api_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""
    http_connect_timeout: float = 2.0
    http_read_timeout: float = 10.0
    provider_timeout_seconds: float = 20.0
    payment_lease_seconds: float = 30.0
    reconcile_interval_seconds: float = 10.0
    fault_points: str = ""
    cookie_secure: bool = False
    access_token_minutes: int = 10  # a traveller's access token; the session (refresh token) lasts token_ttl
    login_max_failures_per_username: int = 10  # failed logins in a window before 429 for that username
    login_max_failures_per_address: int = 50  # ... for that client address
    login_window_minutes: int = 15
    max_body_bytes: int = 1 << 20  # the largest request body a part reads (413 above it)
    max_form_bytes: int = 64 << 10  # the largest HTML form body the gateway reads
    log_level: str = "INFO"
    loyalty_points_per_unit: int = 10
    loyalty_lot_months: int = 24
    loyalty_qualifying_months: int = 12
    loyalty_expiring_soon_days: int = 90
    #: events through RabbitMQ when set (amqp://...); unset: the relay delivers in process or over HTTP
    broker_url: str = ""
    broker_prefix: str = "flightbook"  # names of the exchange and queues: <prefix>.events, <prefix>.<module>...
    broker_prefetch: int = 10
    #: a consumer's pauses before each retry of a failing message; after the last, it is a dead letter
    broker_retry_delays: tuple = (1.0, 5.0, 30.0, 120.0, 600.0)
    #: mail through this server (smtp://user:pass@host:port, smtps://...); unset: .eml files in ``mail_folder``
    smtp_url: str = ""
    mail_from: str = "flightbook <tickets@flightbook.localhost>"
    #: where travellers reach the web UI: links in the messages point here
    public_url: str = "http://127.0.0.1:8000"
    mail_interval_seconds: float = 15.0  # how often a serving flights process sends what is due
    mail_retry_seconds: float = 30.0  # the first pause after a failed send; it doubles, up to an hour
    mail_max_attempts: int = 20  # sends that failed for a passing reason before a message is given up
    #: how long a message waits for payments' and loyalty's figures (refunds, points) before going without them
    mail_wait_seconds: float = 600.0
    #: ``text`` (the demo's) or ``json``: one line per request and per event, for a log store to parse
    log_format: str = "text"
    #: ``GET /metrics``: on (default) or off, and the bearer token a scraper must send when set
    metrics_enabled: bool = True
    metrics_token: str = ""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env=None) -> "Settings":
        env = os.environ if env is None else env
        home = Path(env.get("FLIGHTBOOK_HOME") or "./var").resolve()
        databases = {
            m: env.get(f"FLIGHTBOOK_{m.upper()}_DATABASE") or f"sqlite:///{home / (m + '.db')}"
            for m in MODULES
        }
        if any(url == f"sqlite:///{home / (m + '.db')}" for m, url in databases.items()):
            private_folder(home)
        urls = {
            m: tuple(u.strip().rstrip("/") for u in env.get(f"FLIGHTBOOK_{m.upper()}_URL", "").split(",") if u.strip())
            for m in MODULES
        }
        return cls(
            home=home,
            secret_key=env.get("FLIGHTBOOK_SECRET_KEY") or _persistent_secret(home, "secret_key"),
            service_secret=env.get("FLIGHTBOOK_SERVICE_SECRET") or _persistent_secret(home, "service_secret"),
            databases=databases,
            urls=urls,
            token_ttl_seconds=_int(env, "FLIGHTBOOK_TOKEN_TTL_SECONDS", 12 * 3600),
            hold_minutes=_int(env, "FLIGHTBOOK_HOLD_MINUTES", 15),
            refund_cutoff_hours=_int(env, "FLIGHTBOOK_REFUND_CUTOFF_HOURS", 24),
            late_refund_percent=_int(env, "FLIGHTBOOK_LATE_REFUND_PERCENT", 0),
            child_fare_percent=_int(env, "FLIGHTBOOK_CHILD_FARE_PERCENT", 75),
            infant_fare_percent=_int(env, "FLIGHTBOOK_INFANT_FARE_PERCENT", 10),
            sweep_interval_seconds=_int(env, "FLIGHTBOOK_SWEEP_INTERVAL_SECONDS", 30),
            min_connection_minutes=_int(env, "FLIGHTBOOK_MIN_CONNECTION_MINUTES", 45),
            min_international_connection_minutes=_int(env, "FLIGHTBOOK_MIN_INTERNATIONAL_CONNECTION_MINUTES", 90),
            max_layover_minutes=_int(env, "FLIGHTBOOK_MAX_LAYOVER_MINUTES", 12 * 60),
            max_detour_percent=_int(env, "FLIGHTBOOK_MAX_DETOUR_PERCENT", 200),
            detour_allowance_km=_int(env, "FLIGHTBOOK_DETOUR_ALLOWANCE_KM", 1000),
            stripe_api_key=env.get("FLIGHTBOOK_STRIPE_API_KEY", ""),
            stripe_webhook_secret=env.get("FLIGHTBOOK_STRIPE_WEBHOOK_SECRET", ""),
            stripe_api_base=env.get("FLIGHTBOOK_STRIPE_API_BASE", ""),
            http_connect_timeout=_float(env, "FLIGHTBOOK_HTTP_CONNECT_TIMEOUT", 2.0),
            http_read_timeout=_float(env, "FLIGHTBOOK_HTTP_READ_TIMEOUT", 10.0),
            provider_timeout_seconds=_float(env, "FLIGHTBOOK_PROVIDER_TIMEOUT_SECONDS", 20.0),
            payment_lease_seconds=_float(env, "FLIGHTBOOK_PAYMENT_LEASE_SECONDS", 30.0),
            reconcile_interval_seconds=_float(env, "FLIGHTBOOK_RECONCILE_INTERVAL_SECONDS", 10.0),
            fault_points=env.get("FLIGHTBOOK_FAULT_POINTS", ""),
            cookie_secure=env.get("FLIGHTBOOK_COOKIE_SECURE", "").lower() in ("1", "true", "yes"),
            log_level=env.get("FLIGHTBOOK_LOG_LEVEL", "INFO"),
            access_token_minutes=_positive(env, "FLIGHTBOOK_ACCESS_TOKEN_MINUTES", 10),
            login_max_failures_per_username=_positive(env, "FLIGHTBOOK_LOGIN_MAX_FAILURES_PER_USERNAME", 10),
            login_max_failures_per_address=_positive(env, "FLIGHTBOOK_LOGIN_MAX_FAILURES_PER_ADDRESS", 50),
            login_window_minutes=_positive(env, "FLIGHTBOOK_LOGIN_WINDOW_MINUTES", 15),
            max_body_bytes=_positive(env, "FLIGHTBOOK_MAX_BODY_BYTES", 1 << 20),
            max_form_bytes=_positive(env, "FLIGHTBOOK_MAX_FORM_BYTES", 64 << 10),
            log_format=_log_format(env),
            metrics_enabled=_on_off(env, "FLIGHTBOOK_METRICS", True),
            metrics_token=env.get("FLIGHTBOOK_METRICS_TOKEN", "").strip(),
            loyalty_points_per_unit=_int(env, "FLIGHTBOOK_LOYALTY_POINTS_PER_UNIT", 10),
            loyalty_lot_months=_int(env, "FLIGHTBOOK_LOYALTY_LOT_MONTHS", 24),
            loyalty_qualifying_months=_int(env, "FLIGHTBOOK_LOYALTY_QUALIFYING_MONTHS", 12),
            loyalty_expiring_soon_days=_int(env, "FLIGHTBOOK_LOYALTY_EXPIRING_SOON_DAYS", 90),
            broker_url=_broker_url(env),
            broker_prefix=_broker_prefix(env),
            broker_prefetch=_positive(env, "FLIGHTBOOK_BROKER_PREFETCH", 10),
            broker_retry_delays=_delays(env, "FLIGHTBOOK_BROKER_RETRY_DELAYS", (1.0, 5.0, 30.0, 120.0, 600.0)),
            smtp_url=_smtp_url(env),
            mail_from=_mail_from(env),
            public_url=_public_url(env),
            mail_interval_seconds=_float(env, "FLIGHTBOOK_MAIL_INTERVAL_SECONDS", 15.0),
            mail_retry_seconds=_float(env, "FLIGHTBOOK_MAIL_RETRY_SECONDS", 30.0),
            mail_max_attempts=_positive(env, "FLIGHTBOOK_MAIL_MAX_ATTEMPTS", 20),
            mail_wait_seconds=_float(env, "FLIGHTBOOK_MAIL_WAIT_SECONDS", 600.0),
        )

    def __post_init__(self):
        if self.payment_lease_seconds < self.provider_timeout_seconds + 5:
            raise SettingsError("FLIGHTBOOK_PAYMENT_LEASE_SECONDS must exceed FLIGHTBOOK_PROVIDER_TIMEOUT_SECONDS by "
                                "at least 5 s: a payment still waiting on its provider must never look abandoned")

    @property
    def payment_call_timeout(self) -> float:
        """How long a caller waits for ``POST /api/payments/process``: longer than anything payments waits
        for inside it (the booking and points reads, the provider, the booking's confirmation), so the
        caller never gives up on a payment that is still going to answer."""
        return 2 * self.http_read_timeout + self.provider_timeout_seconds + 1

    @property
    def mail_folder(self) -> Path:
        """Where messages are written as .eml files while FLIGHTBOOK_SMTP_URL is unset."""
        return self.home / "mail"

    def is_local(self, module: str) -> bool:
        """True when ``module`` runs in this process (its URL is unset)."""
        return not self.urls[module]
