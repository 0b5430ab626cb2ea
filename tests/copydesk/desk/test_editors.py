"""Editors: one-time secrets stored only as hashes, sign-in checks, roles."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from copydesk.desk.editors import (
    AuthenticationError,
    PermissionDenied,
    add_editor,
    authenticate,
    get_editor,
    list_editors,
    require,
    reset_secret,
    set_active,
)
from copydesk.errors import CopydeskError
from db import migrate
from db.models import Editor, Role
from db.session import session_scope


def test_secrets_are_hashed_and_checked(database_url: str) -> None:
    migrate.upgrade(database_url)
    alice, secret = add_editor(database_url, "alice", Role.EDITOR)
    assert len(secret) >= 32
    with session_scope(database_url, readonly=True) as session:
        stored = session.scalars(select(Editor.secret_hash)).one()
    assert secret not in stored and stored.startswith("$argon2id$")

    assert authenticate(database_url, "alice", secret) == alice
    for name, wrong in (("alice", secret + "x"), ("alice", ""), ("mallory", secret)):
        with pytest.raises(AuthenticationError, match="unknown editor or wrong secret"):
            authenticate(database_url, name, wrong)

    new = reset_secret(database_url, "alice")
    with pytest.raises(AuthenticationError):
        authenticate(database_url, "alice", secret)
    assert authenticate(database_url, "alice", new) == alice

    set_active(database_url, "alice", False)
    with pytest.raises(AuthenticationError):
        authenticate(database_url, "alice", new)
    assert get_editor(database_url, alice.id) is None
    assert list_editors(database_url) == [(alice, False)]


def test_names_are_unique_and_plain(database_url: str) -> None:
    migrate.upgrade(database_url)
    add_editor(database_url, "bob", Role.VIEWER)
    with pytest.raises(CopydeskError, match="already exists"):
        add_editor(database_url, "bob", Role.ADMIN)
    for bad in ("", "../x", "a b", "<script>", "x" * 101):
        with pytest.raises(CopydeskError, match="invalid editor name"):
            add_editor(database_url, bad, Role.EDITOR)


def test_roles_rank_viewer_editor_admin(database_url: str) -> None:
    migrate.upgrade(database_url)
    viewer, _ = add_editor(database_url, "vic", Role.VIEWER)
    admin, _ = add_editor(database_url, "ada", Role.ADMIN)
    require(admin, Role.EDITOR, "approve")
    require(viewer, Role.VIEWER, "read")
    with pytest.raises(
        PermissionDenied, match="vic is a viewer: only an editor or above may approve"
    ):
        require(viewer, Role.EDITOR, "approve")
