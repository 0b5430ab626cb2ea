"""Editors: who may read and decide in the review desk.

An editor is created with a role and a one-time secret (shown once; only its argon2 hash
is stored). `authenticate` checks a name and secret; `require` checks a role server-side
before every write. Roles: `viewer` reads, `editor` also decides, `admin` also manages
editors.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from copydesk.errors import CopydeskError
from db.models import Editor, Role
from db.session import session_scope

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
RANKS = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2}
# A hash of a random secret: verifying against it keeps unknown names as slow as known ones.
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AuthenticationError(CopydeskError):
    """A name and secret that do not match an active editor."""


class PermissionDenied(CopydeskError):
    """The editor's role does not allow the action."""


@dataclass(frozen=True)
class EditorInfo:
    id: int
    name: str
    role: Role
    # Changes with the editor's secret: a session remembers it, so a secret reset ends
    # every session opened with the old secret.
    stamp: str = field(default="", compare=False, repr=False)

    def can(self, role: Role) -> bool:
        return RANKS[self.role] >= RANKS[role]


def require(editor: EditorInfo, role: Role, action: str) -> None:
    """Raise PermissionDenied unless `editor` has at least `role`."""
    if not editor.can(role):
        raise PermissionDenied(
            f"{editor.name} is a {editor.role.value}: only an {role.value} or above may {action}"
        )


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def add_editor(url: str, name: str, role: Role) -> tuple[EditorInfo, str]:
    """Create an editor; return it and its one-time secret (only the hash is stored)."""
    if not NAME_PATTERN.match(name):
        raise CopydeskError(
            f"invalid editor name {name!r}: letters, digits and . _ @ - only, up to 100"
        )
    secret = new_secret()
    with session_scope(url) as session:
        if session.scalars(select(Editor.id).where(Editor.name == name)).first() is not None:
            raise CopydeskError(f"an editor named {name!r} already exists")
        editor = Editor(name=name, role=role, secret_hash=_hasher.hash(secret), active=True)
        session.add(editor)
        session.flush()
        return _info(editor), secret


def reset_secret(url: str, name: str) -> str:
    """Give an editor a new one-time secret (the old one stops working)."""
    secret = new_secret()
    with session_scope(url) as session:
        editor = _by_name(session, name)
        editor.secret_hash = _hasher.hash(secret)
    return secret


def set_active(url: str, name: str, active: bool) -> None:
    with session_scope(url) as session:
        _by_name(session, name).active = active


def list_editors(url: str) -> list[tuple[EditorInfo, bool]]:
    with session_scope(url, readonly=True) as session:
        rows = session.scalars(select(Editor).order_by(Editor.name))
        return [(EditorInfo(e.id, e.name, Role(e.role)), e.active) for e in rows]


def authenticate(url: str, name: str, secret: str) -> EditorInfo:
    """The active editor with this name and secret; AuthenticationError otherwise (the
    message never says which of the two was wrong)."""
    with session_scope(url, readonly=True) as session:
        editor = session.scalars(select(Editor).where(Editor.name == name)).first()
        stored = editor.secret_hash if editor is not None else _DUMMY_HASH
        try:
            _hasher.verify(stored, secret)
        except (VerificationError, InvalidHashError):
            editor = None
        if editor is None or not editor.active:
            raise AuthenticationError("unknown editor or wrong secret")
        return _info(editor)


def get_editor(url: str, editor_id: int, stamp: str | None = None) -> EditorInfo | None:
    """The active editor with this id (a signed-in session's), or None; with `stamp`, also
    None when the editor's secret changed since the session began."""
    with session_scope(url, readonly=True) as session:
        editor = session.get(Editor, editor_id)
        if editor is None or not editor.active:
            return None
        info = _info(editor)
        if stamp is not None and not secrets.compare_digest(stamp, info.stamp):
            return None
        return info


def _info(editor: Editor) -> EditorInfo:
    stamp = hashlib.sha256(editor.secret_hash.encode()).hexdigest()[:20]
    return EditorInfo(editor.id, editor.name, Role(editor.role), stamp)


def _by_name(session: Session, name: str) -> Editor:
    editor = session.scalars(select(Editor).where(Editor.name == name)).first()
    if editor is None:
        raise CopydeskError(f"no editor named {name!r} (see `copydesk editors list`)")
    return editor
