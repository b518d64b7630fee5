"""Typed settings read from a TOML file plus ``KOCBOT_<SECTION>_<KEY>`` environment variables.

The settings are loaded once (``load_config``) and passed down; nothing imports a global config.
Every problem is reported as a ``ConfigError`` whose message is one line naming the key.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from datetime import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(ValueError):
    """A missing or invalid config value; the message names the key."""


@dataclass(frozen=True)
class TelegramSettings:
    token: str = ""
    base_url: str = ""
    mode: str = "polling"
    webhook_secret: str = ""
    admins: tuple[int, ...] = ()
    # Posts carry allow_paid_broadcast and the budget rises to 1,000 messages/s, for Stars.
    paid_broadcast: bool = False
    # Where processes on one token share its rate budget (kocbot[redis]); empty = per process.
    redis_url: str = ""


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///kocbot.db"


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    click_buffer_max: int = 100_000
    # The click batch writer: "thread" beside the event loop, "process" of its own, or "auto":
    # a process for a `--role web` process, a thread otherwise (bot/web/click_writer.py).
    click_writer: str = "auto"


@dataclass(frozen=True)
class MetricsSettings:
    host: str = "127.0.0.1"
    port: int = 9464  # 0 turns the metrics listener off


@dataclass(frozen=True)
class ScheduleSettings:
    timezone: str = "Asia/Shanghai"
    default_times: tuple[str, ...] = ("09:00", "20:00")
    repeat_window_days: int = 7
    misfire_grace_minutes: int = 30


@dataclass(frozen=True)
class CommissionSettings:
    currency: str = "CNY"
    platform_cut: Decimal = Decimal("0.10")
    mentor_override: Decimal = Decimal("0.05")
    partner_override: Decimal = Decimal("0.03")
    self_purchase: bool = True
    settle_after_days: int = 15
    min_payout: Decimal = Decimal("10.00")
    # [commission.rates]: units of ``currency`` per unit of another currency, applied at
    # booking (USD = "7.10"). A report in a currency not named here is refused.
    rates: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class TierSettings:
    mentor_min_active_invitees: int = 5
    partner_min_mentors: int = 3


@dataclass(frozen=True)
class PostbackSettings:
    secret: str = ""


@dataclass(frozen=True)
class CardSettings:
    locale: str = "zh_CN"
    font_path: str = ""
    buy_button: str = "callback"
    allow_private_image_urls: bool = False


@dataclass(frozen=True)
class MerchantSettings:
    subid_param: str = "subid"
    url_template: str = ""
    # S2S GET postbacks (GET /postback/<merchant>): the shared token and the network's statuses.
    postback_token: str = ""
    status_map: dict[str, str] = field(default_factory=dict)
    # Google Merchant Center feeds carry no commission: this rate applies to their items.
    commission_rate: Decimal = Decimal(0)


@dataclass(frozen=True)
class JdSettings:
    """``[networks.jd]``: a JD Union (京东联盟) account."""

    app_key: str = ""
    app_secret: str = ""
    union_id: str = ""
    site_id: str = ""
    api_url: str = "https://api.jd.com/routerjson"
    poll_seconds: int = 300
    enabled: bool = False


@dataclass(frozen=True)
class NetworkSettings:
    jd: JdSettings = field(default_factory=JdSettings)


@dataclass(frozen=True)
class Config:
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    web: WebSettings = field(default_factory=WebSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    commission: CommissionSettings = field(default_factory=CommissionSettings)
    tiers: TierSettings = field(default_factory=TierSettings)
    postback: PostbackSettings = field(default_factory=PostbackSettings)
    card: CardSettings = field(default_factory=CardSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    merchants: dict[str, MerchantSettings] = field(default_factory=dict)
    networks: NetworkSettings = field(default_factory=NetworkSettings)

    def replace(self, **sections: Any) -> Config:
        """Return a copy with whole sections or single keys replaced: ``replace(web={"port": 1})``."""
        changes: dict[str, Any] = {}
        for name, value in sections.items():
            current = getattr(self, name)
            if isinstance(value, dict) and dataclasses.is_dataclass(current) \
                    and not isinstance(current, type):
                changes[name] = dataclasses.replace(current, **value)
            else:
                changes[name] = value
        return dataclasses.replace(self, **changes)


SECTIONS = {
    "telegram": TelegramSettings,
    "database": DatabaseSettings,
    "web": WebSettings,
    "schedule": ScheduleSettings,
    "commission": CommissionSettings,
    "tiers": TierSettings,
    "postback": PostbackSettings,
    "card": CardSettings,
    "metrics": MetricsSettings,
}
# Keys whose value is never echoed in an error: a typo'd secret is still a secret.
SECRET_KEYS = {"telegram.token", "telegram.webhook_secret", "postback.secret"}

NETWORKS = {"jd": JdSettings}

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _coerce(key: str, kind: Any, value: Any) -> Any:
    """Turn a TOML or environment value into the declared type, or raise ConfigError."""
    from_env = isinstance(value, str) and kind is not str
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            if from_env and value.strip().lower() in {"1", "true", "yes", "on"}:
                return True
            if from_env and value.strip().lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError
        if kind is int:
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if kind is Decimal:
            if isinstance(value, bool):
                raise ValueError
            result = Decimal(str(value))
            if not result.is_finite():
                raise ValueError
            return result
        if kind is str:
            if not isinstance(value, str):
                raise ValueError
            return value
        if kind == dict[str, str]:
            if isinstance(value, str):
                value = json.loads(value)
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise ValueError
            return {str(k): v for k, v in value.items()}
        if kind == dict[str, Decimal]:
            if isinstance(value, str):
                value = json.loads(value)
            if not isinstance(value, dict):
                raise ValueError
            rates = {}
            for code, rate in value.items():
                if isinstance(rate, bool | float) or not isinstance(rate, str | int):
                    raise ValueError  # a float rate would smuggle binary rounding into money
                rates[str(code).upper()] = Decimal(str(rate))
            return rates
        if kind in (tuple[int, ...], tuple[str, ...]):
            item = int if kind == tuple[int, ...] else str
            if isinstance(value, str):
                text = value.strip()
                if text.startswith("["):
                    value = json.loads(text)
                else:
                    value = [v for v in re.split(r"[,\s]+", text) if v]
            if not isinstance(value, list | tuple):
                raise ValueError
            return tuple(item(v) if item is int else _must_str(v) for v in value)
    except (ValueError, TypeError, InvalidOperation, json.JSONDecodeError):
        pass
    shown = "(hidden)" if key.split(" ", 1)[0] in SECRET_KEYS else repr(value)
    raise ConfigError(f"config key {key}: expected {_describe(kind)}, got {shown}")


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and logs."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        # Not parseable as a database URL: mask whatever sits between "user:" and "@".
        return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", url)


def secret_values(config: Config) -> list[str]:
    """The secrets in ``config`` that must never reach output (longest first)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    values = [config.telegram.token, config.telegram.webhook_secret, config.postback.secret,
              config.networks.jd.app_secret,
              *(merchant.postback_token for merchant in config.merchants.values())]
    try:
        values.append(make_url(config.database.url).password or "")
    except (ArgumentError, ValueError):
        pass
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def _must_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError
    return value


def _describe(kind: Any) -> str:
    return {
        bool: "true or false",
        int: "a whole number",
        Decimal: "a decimal number",
        str: "a string",
        tuple[int, ...]: "a list of whole numbers",
        tuple[str, ...]: "a list of strings",
        dict[str, str]: 'a table of strings, e.g. { "1" = "pending" }',
        dict[str, Decimal]: 'a table of rates such as USD = "7.10"',
    }.get(kind, str(kind))


def _build_section(name: str, cls: type, raw: dict[str, Any], env: dict[str, str]) -> Any:
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    for key in raw:
        if key not in known:
            raise ConfigError(f"config key {name}.{key}: unknown key")
    values: dict[str, Any] = {}
    for f in fields(cls):
        env_name = f"KOCBOT_{name.upper().replace('.', '_')}_{f.name.upper()}"
        if env_name in env:
            values[f.name] = _coerce(f"{name}.{f.name} (from {env_name})", hints[f.name], env[env_name])
        elif f.name in raw:
            values[f.name] = _coerce(f"{name}.{f.name}", hints[f.name], raw[f.name])
    return cls(**values)


def _validate(config: Config) -> None:
    """Check the values that have a shape beyond their type."""
    t = config.telegram
    if t.mode not in {"polling", "webhook"}:
        raise ConfigError(f"config key telegram.mode: expected polling or webhook, got {t.mode!r}")
    if t.mode == "webhook" and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", t.webhook_secret):
        raise ConfigError(
            "config key telegram.webhook_secret: webhook mode needs 1-256 characters of A-Za-z0-9_-"
        )
    if t.base_url and not re.match(r"^https?://", t.base_url):
        raise ConfigError(f"config key telegram.base_url: expected an http(s) URL, got {t.base_url!r}")
    if t.redis_url and not re.match(r"^(rediss?|unix)://", t.redis_url):
        raise ConfigError("config key telegram.redis_url: expected a redis://, rediss:// or unix:// URL")
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", config.database.url):
        raise ConfigError(
            "config key database.url: expected sqlite:/// or postgresql:// URL, "
            f"got {mask_url(config.database.url)!r}"
        )
    if not 0 < config.web.port < 65536:
        raise ConfigError(f"config key web.port: expected 1-65535, got {config.web.port}")
    if config.web.click_buffer_max < 1:
        raise ConfigError("config key web.click_buffer_max: must be 1 or more")
    if config.web.click_writer not in {"auto", "thread", "process"}:
        raise ConfigError("config key web.click_writer: expected auto, thread or process, "
                          f"got {config.web.click_writer!r}")
    if not 0 <= config.metrics.port < 65536:
        raise ConfigError(f"config key metrics.port: expected 0 (off) or 1-65535, got {config.metrics.port}")
    if not re.match(r"^https?://", config.web.public_url):
        raise ConfigError(
            f"config key web.public_url: expected an http(s) URL, got {config.web.public_url!r}"
        )
    if t.mode == "webhook" and not config.web.public_url.lower().startswith("https://") \
            and not _self_hosted_api(t.base_url):
        raise ConfigError(
            f"config key web.public_url: webhook mode needs an https:// URL (Telegram sends webhooks "
            f"only over HTTPS), got {config.web.public_url!r}; or set telegram.base_url to a "
            "self-hosted Bot API server"
        )
    s = config.schedule
    try:
        ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"config key schedule.timezone: unknown IANA time zone {s.timezone!r}"
        ) from None
    for slot in s.default_times:
        if not _TIME.match(slot):
            raise ConfigError(f"config key schedule.default_times: {slot!r} is not HH:MM")
    if s.repeat_window_days < 0:
        raise ConfigError("config key schedule.repeat_window_days: must be 0 or more")
    if s.misfire_grace_minutes < 0:
        raise ConfigError("config key schedule.misfire_grace_minutes: must be 0 or more")
    c = config.commission
    if not _CURRENCY.match(c.currency):
        raise ConfigError(f"config key commission.currency: expected an ISO 4217 code, got {c.currency!r}")
    for key in ("platform_cut", "mentor_override", "partner_override"):
        value = getattr(c, key)
        if not Decimal(0) <= value <= Decimal(1):
            raise ConfigError(f"config key commission.{key}: must be between 0 and 1, got {value}")
    if c.platform_cut + c.mentor_override + c.partner_override > 1:
        raise ConfigError(
            "config key commission.platform_cut: platform_cut + mentor_override + partner_override exceeds 1"
        )
    if c.settle_after_days < 0:
        raise ConfigError("config key commission.settle_after_days: must be 0 or more")
    if c.min_payout < 0:
        raise ConfigError("config key commission.min_payout: must be 0 or more")
    for code, rate in c.rates.items():
        if not _CURRENCY.match(code) or code == c.currency:
            raise ConfigError(f"config key commission.rates.{code}: expected another ISO 4217 code")
        # A finite Decimal's exponent is an int (only NaN and infinity have a letter there).
        if not rate.is_finite() or rate <= 0 or rate.adjusted() > 12 \
                or int(rate.as_tuple().exponent) < -8:
            raise ConfigError(
                f"config key commission.rates.{code}: expected a positive rate with at most 8 decimals"
            )
    if config.tiers.mentor_min_active_invitees < 1 or config.tiers.partner_min_mentors < 1:
        raise ConfigError("config key tiers: thresholds must be 1 or more")
    if config.card.locale not in {"en", "zh_CN"}:
        raise ConfigError(f"config key card.locale: expected en or zh_CN, got {config.card.locale!r}")
    if config.card.buy_button not in {"callback", "login_url"}:
        raise ConfigError(
            f"config key card.buy_button: expected callback or login_url, got {config.card.buy_button!r}"
        )
    if config.card.font_path and not Path(config.card.font_path).is_file():
        raise ConfigError(f"config key card.font_path: no font file at {config.card.font_path!r}")
    for name, merchant in config.merchants.items():
        if not re.fullmatch(r"[A-Za-z0-9_.~-]+", merchant.subid_param):
            raise ConfigError(f"config key merchants.{name}.subid_param: not a URL parameter name")
        for raw_status, status in merchant.status_map.items():
            if status not in {"pending", "confirmed", "cancelled", "refunded"}:
                raise ConfigError(f"config key merchants.{name}.status_map: {raw_status!r} maps to "
                                  f"{status!r}, not pending, confirmed, cancelled or refunded")
        if not Decimal(0) <= merchant.commission_rate <= Decimal(1):
            raise ConfigError(f"config key merchants.{name}.commission_rate: must be between 0 and 1")
    jd = config.networks.jd
    if jd.enabled:
        for key in ("app_key", "app_secret", "union_id"):
            if not getattr(jd, key):
                raise ConfigError(f"config key networks.jd.{key}: missing (networks.jd.enabled is true)")
    if not re.match(r"^https?://", jd.api_url):
        raise ConfigError(f"config key networks.jd.api_url: expected an http(s) URL, got {jd.api_url!r}")
    if jd.poll_seconds < 10:
        raise ConfigError("config key networks.jd.poll_seconds: must be 10 or more")


OFFICIAL_API_HOST = "api.telegram.org"
# What @BotFather hands out: a bot id of 8-10 digits, a colon, and 35 characters.
_REAL_TOKEN = re.compile(r"[0-9]{8,10}:[A-Za-z0-9_-]{35}")
_LOOPBACK = re.compile(r"^(localhost|127(\.[0-9]{1,3}){3}|\[?::1\]?|0\.0\.0\.0)$", re.IGNORECASE)


def _self_hosted_api(base_url: str) -> bool:
    """True when telegram.base_url names a Bot API server other than Telegram's own.

    A self-hosted server (telegram-bot-api --local, or the emulator) accepts HTTP webhooks.
    """
    if not base_url:
        return False
    host = (urlsplit(base_url).hostname or "").lower()
    return bool(host) and host != OFFICIAL_API_HOST


def start_warnings(config: Config) -> list[str]:
    """Settings that start but will disappoint: one line each, shown by ``kocbot run``."""
    warnings = []
    host = urlsplit(config.web.public_url).hostname or ""
    if config.telegram.mode == "polling" and _LOOPBACK.match(host) \
            and _REAL_TOKEN.fullmatch(config.telegram.token):
        warnings.append(
            f"web.public_url is {config.web.public_url}: members' phones cannot open links there; "
            "set it to the address where the web server is reachable from the internet"
        )
    return warnings


def parse_config(raw: dict[str, Any], env: dict[str, str] | None = None) -> Config:
    """Build a validated Config from a parsed TOML document and an environment mapping."""
    env = dict(os.environ if env is None else env)
    for name in raw:
        if name not in SECTIONS and name not in ("merchants", "networks"):
            raise ConfigError(f"config section [{name}]: unknown section")
    sections: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        section = raw.get(name, {})
        if not isinstance(section, dict):
            raise ConfigError(f"config section [{name}]: expected a table")
        sections[name] = _build_section(name, cls, section, env)
    merchants: dict[str, MerchantSettings] = {}
    for name, section in (raw.get("merchants") or {}).items():
        if not isinstance(section, dict):
            raise ConfigError(f"config section [merchants.{name}]: expected a table")
        merchants[name] = _build_section(f"merchants.{name}", MerchantSettings, section, {})
    networks = raw.get("networks") or {}
    if not isinstance(networks, dict):
        raise ConfigError("config section [networks]: expected a table")
    for name in networks:
        if name not in NETWORKS:
            raise ConfigError(f"config section [networks.{name}]: unknown network (known: "
                              f"{', '.join(NETWORKS)})")
    built = {}
    for name, cls in NETWORKS.items():
        section = networks.get(name, {})
        if not isinstance(section, dict):
            raise ConfigError(f"config section [networks.{name}]: expected a table")
        # KOCBOT_NETWORKS_JD_APP_SECRET and friends: secrets stay out of the file.
        built[name] = _build_section(f"networks.{name}", cls, section, env)
    config = Config(**sections, merchants=merchants, networks=NetworkSettings(**built))
    _validate(config)
    return config


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Load ``path`` (default ``./config.toml`` if it exists, else built-in defaults) plus env."""
    raw: dict[str, Any] = {}
    if path is None:
        candidate = Path("config.toml")
        path = candidate if candidate.is_file() else None
    elif not Path(path).is_file():
        raise ConfigError(f"config file {path}: not found")
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: invalid TOML: {exc}") from None
    return parse_config(raw, env)


def parse_times(values: tuple[str, ...] | list[str]) -> list[time]:
    """Parse HH:MM strings into times (already validated)."""
    return [time(int(v[:2]), int(v[3:])) for v in values]
