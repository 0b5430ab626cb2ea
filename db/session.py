"""Engines and sessions.

`get_engine(url)` caches one engine per URL per process (SQLite gets WAL, a busy
timeout and foreign keys); `session_scope()` commits once at the end or rolls back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from copydesk.settings import get_settings

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see "Serializable
    # isolation / Savepoints / Transactional DDL" in SQLAlchemy's SQLite docs).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_sqlite(conn: Any) -> None:
    # Writers: BEGIN IMMEDIATE takes the write lock up front, so two writers queue on
    # busy_timeout instead of failing with "database is locked" on lock upgrade.
    # Readers (a `readonly` session): a deferred BEGIN, which in WAL mode never waits.
    readonly = conn.get_execution_options().get("copydesk_readonly", False)
    conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def create_database_engine(url: str, **kwargs: Any) -> Engine:
    """A new engine for `url`, with Copydesk's per-dialect settings."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """The process's engine for `url` (created on first use)."""
    return create_database_engine(url)


def get_sessionmaker(url: str, *, readonly: bool = False) -> sessionmaker[Session]:
    engine = get_engine(url)
    if readonly:
        engine = engine.execution_options(copydesk_readonly=True)
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None, *, readonly: bool = False) -> Iterator[Session]:
    """A session that commits once when the block ends, or rolls back on error.

    With no `url`, uses the configured database (`COPYDESK_DATABASE_URL`). Keep write
    scopes short (never around a model call): on SQLite they hold the write lock.
    `readonly=True` is for reads only: it never takes the write lock.
    """
    if url is None:
        url = get_settings().resolved_database_url
    session = get_sessionmaker(url, readonly=readonly)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
