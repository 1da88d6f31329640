"""The Alembic migrations build exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from core.extensions import db

SEARCH_INDEXES = {"ix_messages_text_trgm", "ix_messages_address_trgm"}
CLIENT_SEARCH_INDEXES = {"ix_clients_name_trgm", "ix_clients_company_trgm",
                         "ix_clients_email_trgm", "ix_clients_mobile_trgm"}


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        include = _on_this_database(conn.dialect.name)
        context = MigrationContext.configure(
            conn, opts={"compare_type": False, "include_object": include}
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def _on_this_database(dialect: str):
    """Alembic's include_object hook: leave out indexes of an access method (GIN) that only
    PostgreSQL has; the models mark them so and the migrations create them there alone."""

    def include(obj, name, type_, reflected, compare_to):
        using = obj.dialect_options["postgresql"].get("using") if type_ == "index" else None
        return dialect == "postgresql" or not using

    return include


def test_outbox_search_migration_downgrades_and_upgrades(app):
    on_postgresql = db.engine.dialect.name == "postgresql"
    db.session.remove()
    downgrade(revision="0005_mobile_kind")
    assert not SEARCH_INDEXES & _indexes("messages")
    upgrade(revision="heads")
    assert (SEARCH_INDEXES <= _indexes("messages")) == on_postgresql  # SQLite: a no-op


def test_client_search_migration_downgrades_and_upgrades(app):
    on_postgresql = db.engine.dialect.name == "postgresql"
    db.session.remove()
    downgrade(revision="0006_outbox_search")
    assert not CLIENT_SEARCH_INDEXES & _indexes("clients")
    assert "ix_appointments_job_number_trgm" not in _indexes("appointments")
    assert (SEARCH_INDEXES <= _indexes("messages")) == on_postgresql  # 0006 keeps its own
    upgrade(revision="heads")
    assert (CLIENT_SEARCH_INDEXES <= _indexes("clients")) == on_postgresql  # SQLite: a no-op
    assert ("ix_appointments_job_number_trgm" in _indexes("appointments")) == on_postgresql


def _indexes(table: str) -> set[str]:
    db.engine.dispose()  # a fresh connection sees the new schema
    return {index["name"] for index in inspect(db.engine).get_indexes(table)}
