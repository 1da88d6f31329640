"""Settings storage: typed values, secrets encrypted at rest, key rotation."""

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from core import settings
from core.audit.models import AuditEvent
from core.extensions import db

SECRET = "very-secret-api-value-4f2a"


def _raw(key: str) -> str:
    """The row as the database holds it, bypassing the model."""
    query = text("SELECT value FROM settings WHERE key = :k")
    return db.session.execute(query, {"k": key}).scalar()


def test_secret_is_encrypted_at_rest_and_read_back(app):
    settings.set("vonage_api_secret", SECRET)
    db.session.commit()
    raw = str(_raw("vonage_api_secret"))
    assert SECRET not in raw and "4f2a" not in raw
    assert settings.get("vonage_api_secret") == SECRET
    assert settings.hint("vonage_api_secret") == "set, ends in …4f2a"


def test_plain_values_are_typed_with_defaults_and_config_fallback(app):
    assert settings.get("smtp_port") == 587
    assert settings.get("business_name") == app.config["BUSINESS_NAME"]
    settings.set("smtp_port", "2525")
    settings.set("business_name", "Lee Dental")
    db.session.commit()
    assert settings.get("smtp_port") == 2525
    assert settings.business_name() == "Lee Dental"
    settings.set("business_name", "")  # removing falls back to the configuration again
    db.session.commit()
    assert settings.get("business_name") == app.config["BUSINESS_NAME"]


def test_unknown_setting_is_an_error(app):
    with pytest.raises(KeyError):
        settings.get("no_such_setting")


def test_rotation_with_the_old_key_then_rotate(app):
    """New key + old key: secrets stay readable; rotate() re-encrypts; then the old key can go."""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    app.config["TIDINGS_ENCRYPTION_KEY"] = old
    settings.set("smtp_password", "mail pass")
    db.session.commit()
    before = _raw("smtp_password")

    app.config["TIDINGS_ENCRYPTION_KEY"] = new
    assert settings.hint("smtp_password").startswith("stored, but cannot be decrypted")
    assert settings.get("smtp_password") == ""

    app.config["TIDINGS_ENCRYPTION_KEY_OLD"] = old
    assert settings.get("smtp_password") == "mail pass"
    assert settings.rotate() == 1
    db.session.commit()
    assert _raw("smtp_password") != before

    app.config["TIDINGS_ENCRYPTION_KEY_OLD"] = ""
    assert settings.get("smtp_password") == "mail pass"


def test_secrets_made_with_the_derived_key_survive_setting_an_explicit_key(app):
    settings.set("vonage_signature_secret", "signature-secret-1")
    db.session.commit()
    app.config["TIDINGS_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    assert settings.get("vonage_signature_secret") == "signature-secret-1"


def test_changing_secret_key_without_an_explicit_key_loses_access_plainly(app):
    settings.set("vonage_api_secret", SECRET)
    db.session.commit()
    app.config["SECRET_KEY"] = "another-secret-key"
    assert settings.get("vonage_api_secret") == ""
    assert "cannot be decrypted" in settings.hint("vonage_api_secret")


def test_bad_encryption_key_is_reported_clearly(app):
    app.config["TIDINGS_ENCRYPTION_KEY"] = "not-a-fernet-key"
    with pytest.raises(settings.SettingsError, match="TIDINGS_ENCRYPTION_KEY is not a valid"):
        settings.set("smtp_password", "x")


def test_save_audits_which_keys_changed_but_never_secret_values(app, make_user):
    admin = make_user()
    settings.save({"vonage_api_secret": SECRET, "vonage_from": "+15550009999"}, actor=admin,
                  section="Vonage")
    db.session.commit()
    [event] = db.session.query(AuditEvent).all()
    assert event.action == "settings.changed" and event.actor_id == admin.id
    assert "vonage api secret" in event.summary
    assert SECRET not in event.summary + str(event.data)


def test_rotate_key_command(app, runner):
    settings.set("smtp_password", "mail pass")
    db.session.commit()
    result = runner.invoke(args=["settings", "rotate-key"])
    assert result.exit_code == 0 and "re-encrypted 1 secret" in result.output
