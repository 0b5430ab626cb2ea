"""Model versions: a tune's artifact stored immutably and named, the version a content
type uses, and a verified local copy to generate with.

- `register_version`: the adapter's files go to the object store under
  `models/{name}/{sha256 hex}/{file}` (each with its own sha256), then a `model_versions`
  row names them with the base model, the data, the settings and the libraries;
- `resolve_version`: `--model-version V` (a name or id; `base` for the base model),
  else the content type's promoted version, else none (the base model);
- `fetch_artifact`: the files into a local cache folder, whose digest must be the
  version's sha256: a mismatch is an error and nothing is generated with it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copydesk.errors import CopydeskError
from copydesk.hashing import sha256_file, sha256_json
from copydesk.storage import NewObject, ObjectStore, model_key
from db import model_versions as versions_repo
from db.models import ModelVersion
from db.session import session_scope

if TYPE_CHECKING:  # training imports torch: a flow process with a remote backend has none
    from copydesk.tuning.training import TuneResult


class ArtifactIntegrityError(CopydeskError):
    """A model version's files in the store are not the ones its sha256 names."""


@dataclass(frozen=True)
class VersionInfo:
    """A model version as plain data (the row is `db.models.ModelVersion`)."""

    id: int
    name: str
    content_type: str | None
    base_model_id: str
    base_model_revision: str | None
    method: str
    artifact_key: str
    artifact_sha256: str
    artifact_bytes: int
    artifact_files: dict[str, str]
    data_digest: str
    data: dict[str, Any]
    hyperparameters: dict[str, Any]
    library_versions: dict[str, Any]
    duration_s: float | None
    evaluation: dict[str, Any] | None
    notes: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: ModelVersion) -> VersionInfo:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


def register_version(
    url: str,
    store: ObjectStore,
    result: TuneResult,
    *,
    content_type: str | None,
    name: str | None = None,
    data: dict[str, Any] | None = None,
    notes: str | None = None,
) -> VersionInfo:
    """Store the tune's artifact and create its version row (named `{type}-v{n}` by default)."""
    meta = result.metadata
    with session_scope(url) as session:  # a short one: the name, checked before the upload
        name = name or versions_repo.next_version_name(
            session=session, prefix=content_type or "model"
        )
        versions_repo.check_version_name(session=session, name=name)
    files = meta["artifact"]["files"]
    store.put_many(
        [
            NewObject(
                model_key(name, result.sha256, file),
                (result.artifact / file).read_bytes(),
                "application/octet-stream",
            )
            for file in sorted(files)
        ]
    )
    base = meta["base_model"]
    with session_scope(url) as session:
        row = versions_repo.add_model_version(
            session=session,
            name=name,
            content_type=content_type,
            base_model_id=base["id"],
            base_model_revision=base["revision"],
            method=meta["method"],
            artifact_key=model_key(name, result.sha256),
            artifact_sha256=result.sha256,
            artifact_bytes=meta["artifact"]["bytes"],
            artifact_files=files,
            data_digest=meta["data"]["digest"],
            data=meta["data"] | (data or {}),
            hyperparameters=meta["settings"] | {"steps": meta["steps"]},
            library_versions=meta["library_versions"],
            duration_s=meta["duration_s"],
            notes=notes,
        )
        return VersionInfo.of(row)


def find_version(url: str, name: str) -> VersionInfo:
    """The version named `name` (or with that id); a clear error naming those that exist."""
    with session_scope(url, readonly=True) as session:
        return VersionInfo.of(versions_repo.find_model_version(session=session, name=name))


def get_version(url: str, version_id: int) -> VersionInfo:
    return find_version(url, str(version_id))


def list_versions(url: str, content_type: str | None = None) -> list[VersionInfo]:
    with session_scope(url, readonly=True) as session:
        rows = versions_repo.list_model_versions(session=session, content_type=content_type)
        return [VersionInfo.of(row) for row in rows]


def promoted_versions(url: str) -> dict[str, int]:
    """content type -> the id of its promoted version."""
    with session_scope(url, readonly=True) as session:
        return versions_repo.current_promotions(session=session)


def resolve_version(url: str, content_type: str, requested: str | None) -> VersionInfo | None:
    """`requested` (a name or id; `base`: the base model), else the promoted version,
    else None (the base model)."""
    with session_scope(url, readonly=True) as session:
        row = versions_repo.resolve_model_version(
            session=session, content_type=content_type, requested=requested
        )
        return VersionInfo.of(row) if row is not None else None


def store_evaluation(url: str, version_id: int, evaluation: dict[str, Any]) -> None:
    """Keep `evaluation` as the version's (what `promote` compares)."""
    with session_scope(url) as session:
        row = session.get_one(ModelVersion, version_id)
        row.evaluation = evaluation


def folder_sha256(folder: Path) -> str:
    """The digest of an artifact folder: its files' names and sha256 (as `artifacts`
    computes it when the tune saves it)."""
    return sha256_json({p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file()})


def fetch_artifact(store: ObjectStore, version: VersionInfo, cache_root: Path) -> Path:
    """A local copy of the version's files (`cache_root/{sha256 hex}`), verified against
    its sha256; ArtifactIntegrityError, and no copy left, when they differ."""
    hex_digest = version.artifact_sha256.partition(":")[2] or version.artifact_sha256
    folder = cache_root / hex_digest
    if folder.is_dir() and folder_sha256(folder) == version.artifact_sha256:
        return folder
    staging = cache_root / f".{hex_digest}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for file in sorted(version.artifact_files):
            store.download(version.artifact_key + file, staging / file)
        found = folder_sha256(staging)
        if found != version.artifact_sha256:
            raise ArtifactIntegrityError(
                f"the files of model version {version.name!r} in the store "
                f"({version.artifact_key}) have sha256 {found}, not the recorded "
                f"{version.artifact_sha256}: they were changed or damaged, so nothing is "
                "generated with them; register the version again from its tune, or use "
                "another version (`--model-version base` for the base model)"
            )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder
