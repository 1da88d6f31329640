"""Business-wide settings edited by admins: typed get/set on the Setting table.

A value is looked up in the database first, then in app.config / the environment under its
`env` name, then its default. Secrets are stored encrypted with Fernet and never handed to a
template: pages show `hint(key)` ("set, ends in …4f2a") instead.

Keys: TIDINGS_ENCRYPTION_KEY (a Fernet key, `Fernet.generate_key()`) encrypts; without it a
key is derived from SECRET_KEY with HKDF. Rotation: put the new key in TIDINGS_ENCRYPTION_KEY,
the previous one(s) in TIDINGS_ENCRYPTION_KEY_OLD (comma-separated), restart, run
`flask --app app settings rotate-key` (re-encrypts every secret with the new key), then drop
the old key. The SECRET_KEY-derived key is always tried last, so moving from the derived key
to an explicit one loses nothing.
"""

import base64
import hashlib
import logging
import os
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import select

from core.extensions import db
from core.messaging.models import Setting

log = logging.getLogger(__name__)
ENCRYPTED = "fernet"  # the JSON key under which a secret's token is stored


class SettingsError(RuntimeError):
    """The encryption keys are misconfigured (message fit for the operator)."""


@dataclass(frozen=True)
class Spec:
    """One known setting: its type, whether it is secret, and its fallback."""

    key: str
    kind: type = str
    secret: bool = False
    env: str = ""
    default: Any = ""


SPECS = {
    spec.key: spec
    for spec in (
        Spec("vonage_api_key", env="VONAGE_API_KEY"),
        Spec("vonage_api_secret", secret=True, env="VONAGE_API_SECRET"),
        Spec("vonage_signature_secret", secret=True, env="VONAGE_SIGNATURE_SECRET"),
        Spec("vonage_signature_method", env="VONAGE_SIGNATURE_METHOD", default="md5hash"),
        Spec("vonage_application_id", env="VONAGE_APPLICATION_ID"),
        Spec("vonage_private_key", secret=True, env="VONAGE_PRIVATE_KEY"),
        Spec("vonage_from", env="VONAGE_FROM"),
        Spec("vonage_voice_from", env="VONAGE_VOICE_FROM"),
        Spec("smtp_host", env="SMTP_HOST"),
        Spec("smtp_port", kind=int, env="SMTP_PORT", default=587),
        Spec("smtp_security", env="SMTP_SECURITY", default="starttls"),
        Spec("smtp_username", env="SMTP_USERNAME"),
        Spec("smtp_password", secret=True, env="SMTP_PASSWORD"),
        Spec("smtp_from", env="SMTP_FROM"),
        Spec("smtp_from_name", env="SMTP_FROM_NAME"),
        Spec("business_name", env="BUSINESS_NAME"),
        Spec("business_phone", env="BUSINESS_PHONE"),
        Spec("business_timezone", env="BUSINESS_TIMEZONE", default="America/New_York"),
        Spec("public_url", env="PUBLIC_BASE_URL"),
        Spec("delivery_mode", env="DELIVERY_MODE", default="live"),
        # Usage and cost: the currency every price is shown in, and what a received text
        # segment costs (0: receiving is free on the plan).
        Spec("currency", env="CURRENCY", default="USD"),
        Spec("sms_inbound_price", env="SMS_INBOUND_PRICE_PER_SEGMENT", default="0"),
        # Monthly quotas per category (core.usage.quotas): messages and/or spend; blank: none.
        *(Spec(f"quota_{category}_{kind}") for category in ("transactional", "marketing", "direct")
          for kind in ("messages", "spend")),
        # Two-way texting (core.conversations): switches edited on /conversations/settings.
        Spec("twoway_enabled", kind=bool, default=True),
        Spec("twoway_reply_after_client", kind=bool, default=False),
        Spec("autoreply_thanks", kind=bool, default=True),
        Spec("autoreply_unrecognised", kind=bool, default=True),
        Spec("autoreply_no_replies", kind=bool, default=True),
        # Import (core.appointments.importing): the business's own addresses, never a client.
        Spec("import_own_addresses"),
        Spec("import_mappings", kind=dict, default=None),  # CSV header signature -> mapping
        # Sending window and confirmations (core.messaging.window, core.confirmations):
        # edited on /confirmations/settings. Equal start and end: no quiet hours.
        Spec("sending_window_start", env="SENDING_WINDOW_START", default="08:00"),
        Spec("sending_window_end", env="SENDING_WINDOW_END", default="21:00"),
        # Marketing ends earlier where a state requires it (e.g. 20:00); blank: the window's end.
        Spec("marketing_window_end", env="MARKETING_WINDOW_END", default=""),
        Spec("confirmation_cancel_on_no", kind=bool, default=False),
        Spec("confirmation_timeout_hours", kind=int, default=48),
        # Staff chat (core.team): how long messages are kept; the group told of client replies.
        Spec("team_retention_days", kind=int, default=365),
        Spec("team_announce_chat_id", kind=int, default=0),
    )
}


def _spec(key: str) -> Spec:
    try:
        return SPECS[key]
    except KeyError:
        raise KeyError(f"unknown setting {key!r}") from None


def config_value(name: str) -> str:
    """A value from app.config, else the environment ('' when neither has it)."""
    value = current_app.config.get(name)
    if value is None or value == "":
        value = os.environ.get(name, "")
    return str(value)


def _derived_key() -> bytes:
    """A Fernet key derived from SECRET_KEY (used when no explicit key is configured)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"tidings-settings",
                info=b"settings-encryption")
    return base64.urlsafe_b64encode(hkdf.derive(secret))


def _fernet_from(text: str, name: str) -> Fernet:
    try:
        return Fernet(text.strip().encode())
    except (ValueError, TypeError):
        raise SettingsError(
            f"{name} is not a valid Fernet key (make one with: python -c \"from "
            "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())\")"
        ) from None


def cipher() -> MultiFernet:
    """The keys in order: the configured key, the old keys, then the SECRET_KEY-derived one."""
    keys = []
    primary = config_value("TIDINGS_ENCRYPTION_KEY")
    if primary:
        keys.append(_fernet_from(primary, "TIDINGS_ENCRYPTION_KEY"))
    old_keys = config_value("TIDINGS_ENCRYPTION_KEY_OLD").split(",")
    for old in filter(None, (k.strip() for k in old_keys)):
        keys.append(_fernet_from(old, "TIDINGS_ENCRYPTION_KEY_OLD"))
    keys.append(Fernet(_derived_key()))
    return MultiFernet(keys)


def encrypt(plain: str) -> str:
    """A Fernet token for `plain`, made with the current primary key."""
    return cipher().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    """The clear text of a token; raises InvalidToken when no configured key opens it."""
    return cipher().decrypt(token.encode()).decode()


def _rows(keys=None) -> dict[str, Setting]:
    query = select(Setting)
    if keys is not None:
        query = query.where(Setting.key.in_(list(keys)))
    return {row.key: row for row in db.session.scalars(query)}


def _coerce(spec: Spec, value):
    if value is None or value == "":
        return spec.default
    try:
        return spec.kind(value)
    except (TypeError, ValueError):
        return spec.default


def _stored_value(spec: Spec, row: Setting | None):
    """The value kept in the row (decrypted), or None when the row holds nothing usable."""
    if row is None or row.value in (None, ""):
        return None
    if not spec.secret:
        return row.value
    try:
        return decrypt(row.value[ENCRYPTED])
    except (InvalidToken, KeyError, TypeError):
        log.warning("setting %s cannot be decrypted with the configured keys", spec.key)
        return None


def _fallback(spec: Spec):
    if spec.key == "vonage_private_key" and not config_value(spec.env):
        path = config_value("VONAGE_PRIVATE_KEY_PATH")
        if path and os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                return handle.read()
    return config_value(spec.env) if spec.env else None


def get(key: str):
    """The typed value of one setting: database, else config/environment, else default."""
    return snapshot([key])[key]


def snapshot(keys=None) -> dict[str, Any]:
    """Several settings (all when `keys` is None) read with one query."""
    names = list(SPECS) if keys is None else list(keys)
    rows = _rows(names)
    values = {}
    for name in names:
        spec = _spec(name)
        value = _stored_value(spec, rows.get(name))
        if value is None:
            value = _fallback(spec)
        values[name] = _coerce(spec, value)
    return values


def set(key: str, value) -> None:  # noqa: A001  (the module is read as settings.set)
    """Store a value (encrypting secrets); None or '' removes it. The caller commits."""
    spec = _spec(key)
    if key == "sms_inbound_price":  # this process sees its own change at once
        current_app.extensions.pop(INBOUND_PRICE_CACHE, None)
    row = db.session.get(Setting, key)
    if value is None or value == "":
        if row is not None:
            db.session.delete(row)
        return
    value = spec.kind(value)
    stored = {ENCRYPTED: encrypt(str(value))} if spec.secret else value
    if row is None:
        db.session.add(Setting(key=key, value=stored))
    else:
        row.value = stored


def is_stored(key: str) -> bool:
    """True when the database holds a value for `key` (not counting the environment)."""
    return db.session.get(Setting, _spec(key).key) is not None


def hint(key: str) -> str:
    """How a secret is shown on a page: 'set, ends in …4f2a', 'from the environment', 'not set'."""
    spec = _spec(key)
    row = db.session.get(Setting, key)
    if row is not None:
        value = _stored_value(spec, row)
        if value is None:
            return "stored, but cannot be decrypted with the current key — enter it again"
        return f"set, {describe_secret(key, value)}"
    if _fallback(spec):
        return "set in the server environment"
    return "not set"


def describe_secret(key: str, value: str) -> str:
    """A harmless description: the last four characters, or a private key's fingerprint."""
    if key == "vonage_private_key":
        return f"key fingerprint {fingerprint(value)}"
    return f"ends in …{value[-4:]}" if len(value) >= 12 else "short value"


def fingerprint(pem: str) -> str:
    """The first bytes of the SHA-256 of the public key, as a recognisable fingerprint."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        return "unreadable"
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(public).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 16, 2))


def rotate() -> int:
    """Re-encrypt every stored secret with the primary key; returns how many were rewritten."""
    keys = cipher()
    count = 0
    for key, row in _rows([s.key for s in SPECS.values() if s.secret]).items():
        token = (row.value or {}).get(ENCRYPTED) if isinstance(row.value, dict) else None
        if not token:
            continue
        try:
            row.value = {ENCRYPTED: keys.rotate(token.encode()).decode()}
        except InvalidToken:
            log.warning("setting %s cannot be decrypted; left as it is", key)
            continue
        count += 1
    return count


def business_name() -> str:
    """The business name: the Settings page, else BUSINESS_NAME."""
    return get("business_name") or "Tidings"


def currency() -> str:
    """The currency code prices are shown in (e.g. USD)."""
    return (get("currency") or "USD").upper()


INBOUND_PRICE_TTL = 10  # seconds one read of the inbound price serves a process's webhooks
INBOUND_PRICE_CACHE = "tidings.inbound_price"


def inbound_price() -> Decimal:
    """What one received text segment costs (0 when receiving is free); read at most once per
    INBOUND_PRICE_TTL in a process, so a burst of inbound webhooks does not query it each time."""
    cache = current_app.extensions.setdefault(INBOUND_PRICE_CACHE, {})
    now = time.monotonic()
    if cache.get("until", 0.0) > now:
        return cache["value"]
    try:
        value = max(Decimal(str(get("sms_inbound_price") or "0")), Decimal(0))
    except InvalidOperation:
        value = Decimal(0)
    cache.update(value=value, until=now + INBOUND_PRICE_TTL)
    return value


def business_timezone() -> str:
    """The business time zone: the Settings page, else BUSINESS_TIMEZONE."""
    return get("business_timezone")


def save(changes: dict, *, actor=None, section: str = "") -> list[str]:
    """Write changed settings and audit which ones changed (never a secret's value)."""
    from core.audit.operations import record

    for key, value in changes.items():
        set(key, value)
    keys = sorted(changes)
    if keys:
        what = ", ".join(k.replace("_", " ") for k in keys)
        record("settings.changed", f"{section or 'Settings'} changed: {what}", actor=actor,
               data={"keys": keys})
    return keys
