"""Data functions of model versions and promotions: `fn(*, session, ...)`, flushing but
never committing (the caller's `session_scope()` commits once).

A content type's current version is its latest promotion; a version is named by what
users type (`restaurant-v2`), or by its id.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from copydesk.errors import ConfigurationError
from db.models import ModelVersion, Promotion

BASE = "base"  # `--model-version base`: the base model, whatever is promoted
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class UnknownModelVersionError(ConfigurationError):
    """No model version has that name or id."""


def check_version_name(*, session: Session, name: str) -> None:
    """ConfigurationError unless `name` can name a new version."""
    if not _NAME.match(name) or name == BASE or name.isdigit():
        raise ConfigurationError(
            f"{name!r} cannot name a model version: use letters, digits, '-', '_' or '.', "
            "not only digits, and not 'base'"
        )
    if session.scalar(select(ModelVersion.id).where(ModelVersion.name == name)) is not None:
        raise ConfigurationError(f"a model version named {name!r} exists: choose another name")


def add_model_version(*, session: Session, **values: Any) -> ModelVersion:
    check_version_name(session=session, name=values.get("name", ""))
    version = ModelVersion(**values)
    session.add(version)
    session.flush()
    return version


def next_version_name(*, session: Session, prefix: str) -> str:
    """`{prefix}-v{n}`, one more than the highest n used with that prefix."""
    names = session.scalars(
        select(ModelVersion.name).where(ModelVersion.name.like(f"{prefix}-v%"))
    ).all()
    numbers = [int(n[len(prefix) + 2 :]) for n in names if n[len(prefix) + 2 :].isdigit()]
    return f"{prefix}-v{max(numbers, default=0) + 1}"


def list_model_versions(*, session: Session, content_type: str | None = None) -> list[ModelVersion]:
    query = select(ModelVersion).order_by(ModelVersion.id)
    if content_type is not None:
        query = query.where(ModelVersion.content_type == content_type)
    return list(session.scalars(query))


def find_model_version(*, session: Session, name: str) -> ModelVersion:
    """The version named `name` (or with that id); UnknownModelVersionError naming those
    that exist."""
    query = select(ModelVersion).where(ModelVersion.name == name)
    if name.isdigit():
        query = select(ModelVersion).where(ModelVersion.id == int(name))
    version = session.scalars(query).first()
    if version is None:
        names = session.scalars(select(ModelVersion.name).order_by(ModelVersion.id)).all()
        known = ", ".join(names[-20:]) if names else "none yet (`copydesk tune` makes them)"
        raise UnknownModelVersionError(f"no model version {name!r}; the versions: {known}")
    return version


def current_promotion(*, session: Session, content_type: str) -> Promotion | None:
    """The content type's latest promotion (None: it uses the base model)."""
    return session.scalars(
        select(Promotion)
        .where(Promotion.content_type == content_type)
        .order_by(Promotion.id.desc())
    ).first()


def current_promotions(*, session: Session) -> dict[str, int]:
    """content type -> promoted version id, for every content type with one."""
    latest = (
        select(Promotion.content_type, func.max(Promotion.id).label("id"))
        .group_by(Promotion.content_type)
        .subquery()
    )
    rows = session.execute(
        select(Promotion.content_type, Promotion.model_version_id).join(
            latest, latest.c.id == Promotion.id
        )
    )
    return {content_type: version_id for content_type, version_id in rows}


def add_promotion(
    *,
    session: Session,
    content_type: str,
    model_version_id: int,
    promoted_by: str | None,
    forced: bool = False,
) -> Promotion:
    promotion = Promotion(
        content_type=content_type,
        model_version_id=model_version_id,
        promoted_by=promoted_by,
        forced=forced,
    )
    session.add(promotion)
    session.flush()
    return promotion


def resolve_model_version(
    *, session: Session, content_type: str, requested: str | None
) -> ModelVersion | None:
    """The version a batch of `content_type` uses: `requested` (a name or id; `base` for
    the base model), else the promoted one, else None (the base model)."""
    if requested == BASE:
        return None
    if requested is None:
        promotion = current_promotion(session=session, content_type=content_type)
        return promotion.model_version if promotion is not None else None
    version = find_model_version(session=session, name=requested)
    if version.content_type not in (None, content_type):
        raise ConfigurationError(
            f"model version {version.name!r} was tuned for {version.content_type!r}, "
            f"not {content_type!r}"
        )
    return version
