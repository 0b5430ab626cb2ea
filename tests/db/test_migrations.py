"""Migrations run up and down on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from db import migrate
from db.models import Base
from db.session import create_database_engine

LINEAGE_TABLES = {
    "batches",
    "items",
    "plans",
    "generations",
    "findings",
    "revisions",
    "assets",
    "reviews",
    "editors",
    "publications",
    "inbox_files",
    "model_versions",
    "promotions",
}


def _tables(url: str) -> set[str]:
    engine = create_database_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    assert migrate.current_revision(database_url) is None

    migrate.upgrade(database_url)
    assert migrate.current_revision(database_url) == migrate.head_revision()
    assert _tables(database_url) >= LINEAGE_TABLES

    migrate.downgrade(database_url, "base")
    assert migrate.current_revision(database_url) is None
    assert _tables(database_url) & LINEAGE_TABLES == set()

    migrate.upgrade(database_url)
    assert _tables(database_url) >= LINEAGE_TABLES


def test_migrations_match_the_models(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = create_database_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def _generation_columns(url: str) -> set[str]:
    engine = create_database_engine(url)
    try:
        return {column["name"] for column in inspect(engine).get_columns("generations")}
    finally:
        engine.dispose()


def test_model_versions_migrate_down_to_0005_and_back(database_url: str) -> None:
    migrate.upgrade(database_url)
    assert "model_version_id" in _generation_columns(database_url)

    migrate.downgrade(database_url, "0005")
    assert migrate.current_revision(database_url) == "0005"
    assert _tables(database_url) & {"model_versions", "promotions"} == set()
    assert "model_version_id" not in _generation_columns(database_url)

    migrate.upgrade(database_url)
    assert {"model_versions", "promotions"} <= _tables(database_url)
    assert "model_version_id" in _generation_columns(database_url)
