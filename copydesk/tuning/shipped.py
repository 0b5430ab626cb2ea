"""Model versions that ship with Copydesk: tuned adapters in the repo's `models/` folder,
installed into a home's database and object store on first use.

A shipped version is a folder `models/<name>/` with the artifact's files (a peft adapter
in bf16 safetensors), `version.json` (the version row as the tune recorded it: base
model, data and split, hyperparameters, libraries, evaluation) and a model card
(`README.md`). `install_shipped_versions` registers each one a home does not have yet,
after checking that the files are the ones `version.json` names (their sha256), and
promotes it for its content type where nothing is promoted yet, so a fresh home's
batches of that type write with it and no command is needed. It never overrides a
promotion, and it promotes only on the model the version was tuned from (the same
weights, on the transformers backend): on another model it is registered only.

`export_version` writes such a folder from a registered version (`copydesk models
export`); a tune already saves its adapter in bf16, which keeps the repo light.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copydesk.hashing import sha256_file, sha256_json
from copydesk.settings import Settings
from copydesk.storage import NewObject, ObjectStore, model_key
from copydesk.tuning.versions import (
    ArtifactIntegrityError,
    VersionInfo,
    fetch_artifact,
    find_version,
)
from db import model_versions as versions_repo
from db.session import session_scope

VERSION_FILE = "version.json"
CARD_FILE = "README.md"
# VersionInfo fields a shipped version.json carries (the id and dates are the home's own)
FIELDS = (
    "name",
    "content_type",
    "base_model_id",
    "base_model_revision",
    "method",
    "artifact_sha256",
    "artifact_bytes",
    "artifact_files",
    "data_digest",
    "data",
    "hyperparameters",
    "library_versions",
    "duration_s",
    "evaluation",
    "notes",
)


@dataclass(frozen=True)
class ShippedVersion:
    folder: Path
    meta: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    def verify(self) -> None:
        """The artifact's files are those `version.json` names (ArtifactIntegrityError)."""
        files = {
            name: sha256_file(self.folder / name)
            for name in sorted(self.meta["artifact_files"])
            if (self.folder / name).is_file()
        }
        if (
            files != self.meta["artifact_files"]
            or sha256_json(files) != self.meta["artifact_sha256"]
        ):
            raise ArtifactIntegrityError(
                f"the shipped model version in {self.folder} does not match its "
                f"{VERSION_FILE} (sha256 {sha256_json(files)}, recorded "
                f"{self.meta['artifact_sha256']}): restore the folder from the repository"
            )


def shipped_versions(root: Path) -> list[ShippedVersion]:
    """The shipped versions under `root` (folders with a version.json), by name."""
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(p for p in root.iterdir() if (p / VERSION_FILE).is_file()):
        meta = json.loads((folder / VERSION_FILE).read_text(encoding="utf-8"))
        missing = [name for name in FIELDS if name not in meta]
        if missing:
            raise ArtifactIntegrityError(f"{folder / VERSION_FILE} lacks {', '.join(missing)}")
        found.append(ShippedVersion(folder, meta))
    return found


def configured_base_revision(settings: Settings) -> str | None:
    """The revision of the configured text model as a tune records it (the bundled GGUF's
    sha256, or a folder's weights digest); None off the transformers backend."""
    if settings.text_backend != "transformers":
        return None
    if settings.text_model == "bundled":
        from copydesk.generation.bundled import find_bundled_gguf

        return sha256_file(find_bundled_gguf())
    from copydesk.generation.hf_text import weights_sha256  # imports torch: only here

    return weights_sha256(Path(settings.text_model).expanduser())


def install_shipped_versions(
    settings: Settings, store: ObjectStore, root: Path | None = None
) -> list[str]:
    """Register (and where nothing is promoted, promote) every shipped version under
    `root` (default: the repo's models/) this home does not have yet; the names
    installed. One query when there is nothing to do."""
    if not settings.shipped_models:
        return []
    shipped = shipped_versions(root or settings.shipped_models_dir)
    if not shipped:
        return []
    url = settings.resolved_database_url
    with session_scope(url, readonly=True) as session:
        have = {row.name for row in versions_repo.list_model_versions(session=session)}
    installed, revision = [], None
    for version in shipped:
        if version.name in have:
            continue
        version.verify()
        meta = version.meta
        store.put_many(
            [
                NewObject(
                    model_key(version.name, meta["artifact_sha256"], file),
                    (version.folder / file).read_bytes(),
                    "application/octet-stream",
                )
                for file in sorted(meta["artifact_files"])
            ]
        )
        revision = revision or configured_base_revision(settings)
        with session_scope(url) as session:
            if version.name in {r.name for r in versions_repo.list_model_versions(session=session)}:
                continue  # another process installed it meanwhile
            row = versions_repo.add_model_version(
                session=session,
                artifact_key=model_key(version.name, meta["artifact_sha256"]),
                **{name: meta[name] for name in FIELDS},
            )
            kind = meta["content_type"]
            if (
                kind is not None
                and meta["base_model_revision"] == revision  # it runs on this model only
                and versions_repo.current_promotion(session=session, content_type=kind) is None
            ):
                session.flush()
                versions_repo.add_promotion(
                    session=session,
                    content_type=kind,
                    model_version_id=row.id,
                    promoted_by="copydesk (shipped version, first use)",
                    forced=False,
                )
        installed.append(version.name)
    return installed


def export_version(settings: Settings, store: ObjectStore, name: str, folder: Path) -> VersionInfo:
    """Write version `name` as a shipped folder: its adapter's files (as the tune saved
    them: bf16 safetensors), verified, and `version.json`; a model card already in the
    folder is kept."""
    version = find_version(settings.resolved_database_url, name)
    if version.method != "lora":
        raise ArtifactIntegrityError(f"{name} is a {version.method} tune: only adapters ship")
    source = fetch_artifact(store, version, settings.resolved_model_cache / "versions")
    folder.mkdir(parents=True, exist_ok=True)
    for file in sorted(version.artifact_files):
        shutil.copyfile(source / file, folder / file)
    meta = {field: getattr(version, field) for field in FIELDS}
    (folder / VERSION_FILE).write_text(
        json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    ShippedVersion(folder, meta).verify()
    return version
