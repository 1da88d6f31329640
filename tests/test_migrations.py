"""The Alembic migrations build exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.extensions import db


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
