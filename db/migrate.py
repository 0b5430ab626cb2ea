"""Schema migrations (Alembic), driven from Python so the CLI and tests share one path."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from copydesk.errors import DatabaseError
from db.session import create_database_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision` (default: the newest)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Revert migrations down to `revision` (`base` removes every table)."""
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise DatabaseError("no migrations found in " + str(MIGRATIONS_DIR))
    return head


def current_revision(url: str) -> str | None:
    """The revision the database is at (None: not migrated). Raises if unreachable."""
    engine = create_database_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"cannot reach the database at {safe_url(url)}: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]}"
        ) from exc
    finally:
        engine.dispose()


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def require_head(url: str, *, create: bool = False) -> bool:
    """Make sure the database is at the newest revision.

    An empty database gets the schema when `create` is set (the embedded default's first
    use); one at an older revision is an error that says what to run. Returns whether the
    schema was created.
    """
    current = current_revision(url)
    if current is None and create:
        upgrade(url)
        return True
    if current != head_revision():
        raise DatabaseError(
            f"{safe_url(url)} is at revision {current or 'none'}, expected {head_revision()}: "
            "run `copydesk db upgrade`"
        )
    return False
