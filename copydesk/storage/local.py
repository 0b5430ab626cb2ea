"""The local-folder object store: the same key layout and rules as S3 (storage/base.py),
in a folder on this machine. Files are written atomically (a temporary file renamed into
place) with their metadata in a sidecar, so a crash never leaves a half-written object."""

from __future__ import annotations

import ctypes
import functools
import json
import os
import shutil
import socket
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import cast

from copydesk.chunking import chunked
from copydesk.errors import InvalidKeyError, StorageError
from copydesk.hashing import sha256_bytes
from copydesk.storage.base import (
    NewObject,
    StoredObject,
    guessed_type,
    same_or_conflict,
    validate_key,
    validate_prefix,
)

# `LocalStore.put_many` writes its files on a few threads, a slice of objects a task: making
# a file is mostly kernel time (slow on ext4 just after many deletions), without the GIL.
STAGE_WORKERS, STAGE_SLICE = 4, 32


class LocalStore:
    """Objects as files under a root folder; metadata in a sidecar `.meta` tree.

    A put writes the sidecar (`.meta/{key}.json`: size, digest, content type), then the
    object, each to a temporary file renamed into place: readers see whole files, and an
    object only once its sidecar is there. Only the object is fsynced before its rename
    (its bytes are what a committed row points to); the sidecar holds nothing that the
    object does not, so one that a power loss left empty or cut short is read as "hash
    the object": `stat` recomputes the digest, a redo's put of the same bytes is a no-op
    (and rewrites the sidecar), different bytes are a conflict. A missing sidecar means
    an object dropped in by another tool (no digest); the write order keeps Copydesk's
    own puts out of that case.

    `put_many` writes the new objects' temporary files (on `STAGE_WORKERS` threads: a file's
    creation is kernel time, without the GIL), makes them durable together
    (`sync_files`: one `syncfs` of the file system on Linux, instead of an fsync per
    file, each waiting for its own journal commit), then makes the puts one by one, each
    renaming its object's file into place: a crash leaves the objects put before it, in
    order, and hidden `.tmp-` files, which nothing reads and the next put into their
    folder (a resume's) removes.

    Symbolic links that lead out of the root folder are refused. `put` checks each
    folder once per store (it makes the folders it needs, and remembers the ones it
    made or found inside the root: the pipeline puts several objects per item folder)
    and the object's own names on every put; the other calls resolve the whole path.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.description = f"local folder {self.root}"
        self._folders: set[Path] = set()  # made or checked by `_folder`: inside the root
        self._staged: dict[str, _Staged] = {}  # by key: `put_many`'s files for `put`

    def _path(self, key: str) -> Path:
        return self._inside(key, self.root / validate_key(key))

    def _meta_path(self, key: str) -> Path:
        return self._inside(key, self.root / ".meta" / f"{validate_key(key)}.json")

    def _inside(self, key: str, path: Path) -> Path:
        """`path`, unless a symbolic link on its way leads out of the root folder."""
        if not path.resolve().is_relative_to(self.root):
            raise InvalidKeyError(
                f"invalid object key {key!r}: a symbolic link in {self.description} leads "
                "outside it"
            )
        return path

    def _folder(self, key: str, folder: Path, *, leaf: bool = True) -> None:
        """Make `folder` and its parents as needed; refuse a link out of the root. A
        `leaf` folder (one that objects go in) found already there is swept of the
        temporary files of puts whose process died (`sweep_temporary_files`)."""
        if folder in self._folders:
            return
        if folder == self.root:
            folder.mkdir(parents=True, exist_ok=True)
        else:
            self._folder(key, folder.parent, leaf=False)
            try:
                folder.mkdir()  # made in a folder inside the root: inside too
            except FileExistsError:
                if folder.is_symlink():
                    self._inside(key, folder)
                if leaf:
                    sweep_temporary_files(folder)
        self._folders.add(folder)

    def _paths(self, key: str) -> tuple[Path, Path]:
        """The object's and its sidecar's paths (the links on the way not checked)."""
        return self.root / validate_key(key), self.root / ".meta" / f"{key}.json"

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        obj = StoredObject.of(key, data, content_type)
        path, meta = self._paths(key)
        staged = self._staged.pop(key, None)
        try:
            self._folder(key, path.parent)
            self._folder(key, meta.parent)
            existing, whole = self._stat(key, path, meta)
            if existing is not None:
                same = same_or_conflict(existing, obj, self.description)
                if whole:
                    return same
                self._write(key, meta, _sidecar(obj), sync=False)  # repair a torn sidecar
                return obj
            if staged is not None and staged.obj == obj:
                os.replace(staged.sidecar, meta)
                os.replace(staged.data, path)
                staged = None
            else:
                self._write(key, meta, _sidecar(obj), sync=False)
                self._write(key, path, data, sync=True)
        except OSError as exc:
            raise StorageError(f"cannot write {key!r} to {self.description}: {exc}") from exc
        finally:
            if staged is not None:  # staged files this put did not take
                staged.remove()
        return obj

    def put_many(self, objects: Sequence[NewObject]) -> list[StoredObject]:
        """The puts one after the other, their files written and synced beforehand (see
        the class's docstring)."""
        staged = self._stage(objects) if len(objects) > 1 else []
        try:
            return [self.put(*obj) for obj in objects]
        finally:
            for entry in staged:  # the files of puts never made (an earlier one failed)
                if self._staged.get(entry.obj.key) is entry:
                    del self._staged[entry.obj.key]
                    entry.remove()

    def _stage(self, objects: Sequence[NewObject]) -> list[_Staged]:
        new = [obj for obj in {o.key: o for o in objects}.values() if obj.key not in self._staged]
        slices = list(chunked(new, STAGE_SLICE))
        with ThreadPoolExecutor(max_workers=STAGE_WORKERS) as pool:
            prepared = pool.map(lambda part: [self._prepare(obj) for obj in part], slices)
            staged = [entry for part in prepared for entry in part if entry]
        try:
            sync_files([entry.data for entry in staged])
        except OSError:
            for entry in staged:  # each put writes (and fsyncs) its own files instead
                entry.remove()
            return []
        self._staged.update((entry.obj.key, entry) for entry in staged)
        return staged

    def _prepare(self, new: NewObject) -> _Staged | None:
        """The files of an object not stored yet, written (not synced). None for one
        stored already, or on any trouble: its put meets it and reports it."""
        try:
            path, meta = self._paths(new.key)
            self._folder(new.key, path.parent)
            self._folder(new.key, meta.parent)
            if os.path.lexists(path):
                return None
            obj = StoredObject.of(*new)
            sidecar = _write_temporary(meta, _sidecar(obj), sync=False)
            try:
                return _Staged(obj, _write_temporary(path, new.data, sync=False), sidecar)
            except OSError:
                sidecar.unlink(missing_ok=True)
                raise
        except (StorageError, OSError):
            return None

    def _write(self, key: str, path: Path, data: bytes, *, sync: bool) -> None:
        try:
            _write_atomic(path, data, sync=sync)
        except FileNotFoundError:  # a remembered folder was removed since: check them again
            self._folders.clear()
            self._folder(key, path.parent)
            _write_atomic(path, data, sync=sync)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StorageError(f"no object {key!r} in {self.description}") from None

    def download(self, key: str, path: Path) -> int:
        source = self._path(key)
        try:
            shutil.copyfile(source, path)  # copies in chunks (sendfile on Linux)
        except FileNotFoundError:
            if not source.is_file():
                raise StorageError(f"no object {key!r} in {self.description}") from None
            raise StorageError(f"cannot write {path} (reading {key!r})") from None
        except OSError as exc:
            raise StorageError(f"cannot copy {key!r} from {self.description}: {exc}") from None
        return path.stat().st_size

    def stat(self, key: str) -> StoredObject | None:
        return self._stat(key, self._path(key), self._meta_path(key))[0]

    def _stat(self, key: str, path: Path, meta: Path) -> tuple[StoredObject | None, bool]:
        """The object's metadata (None if there is no object), and whether its sidecar
        is whole (if not, the metadata comes from the object itself)."""
        if path.is_symlink():
            self._inside(key, path)
        if meta.is_symlink():
            self._inside(key, meta)
        if not path.is_file():
            return None, True
        try:
            return StoredObject(**json.loads(meta.read_bytes())), True
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            # A file dropped in by hand, as an S3 upload by another tool.
            return StoredObject(key, path.stat().st_size, "", guessed_type(key)), True
        except (ValueError, TypeError):  # torn by a crash after its object was written
            return StoredObject.of(key, path.read_bytes(), guessed_type(key)), False

    def list(self, prefix: str) -> Iterator[StoredObject]:
        prefix = validate_prefix(prefix)
        base = self.root / prefix.rstrip("/").rsplit("/", 1)[0] if "/" in prefix else self.root
        files = (path for path in base.rglob("*") if path.is_file()) if base.is_dir() else ()
        keys = sorted(path.relative_to(self.root).as_posix() for path in files)
        for key in keys:
            hidden = any(part.startswith(".") for part in key.split("/"))  # `.tmp-` of a put
            if key.startswith(prefix) and not hidden and (obj := self.stat(key)):
                yield obj  # a name outside the layout fails in stat(), as on S3

    def url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str:
        return self._path(key).as_uri()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
        self._meta_path(key).unlink(missing_ok=True)

    def check_writable(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class _Staged:
    """An object's files that `LocalStore.put_many` wrote for its put to rename."""

    obj: StoredObject
    data: Path  # synced before any put takes it
    sidecar: Path

    def remove(self) -> None:
        self.sidecar.unlink(missing_ok=True)
        self.data.unlink(missing_ok=True)


def sync_files(files: Sequence[Path]) -> None:
    """Make the data of `files` durable. On Linux, one `syncfs(2)` per file system they
    are on (it writes back and commits everything of that file system once: for a
    chunk's hundreds of small files, far cheaper than an fsync each); elsewhere, or if
    `syncfs` is missing, an fsync per file."""
    syncfs = _syncfs()
    if syncfs is None:
        for file in files:
            _fsync(file)
        return
    folders: dict[int, Path] = {}  # device -> a folder on it
    for folder in dict.fromkeys(file.parent for file in files):
        folders.setdefault(os.stat(folder).st_dev, folder)
    for folder in folders.values():
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            if syncfs(fd) != 0:
                error = ctypes.get_errno()
                raise OSError(error, os.strerror(error), str(folder))
        finally:
            os.close(fd)


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    """libc's `syncfs`, where there is one (Linux); ctypes drops the GIL while it runs."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    syncfs.argtypes, syncfs.restype = [ctypes.c_int], ctypes.c_int
    return cast(Callable[[int], int], syncfs)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sidecar(obj: StoredObject) -> bytes:
    return json.dumps(obj.__dict__).encode()


@functools.cache
def _temporary_prefix() -> str:
    """`.tmp-{host}-`: temporary files are named by host and process, so that a sweep
    can tell those of this host's dead processes."""
    host = sha256_bytes(socket.gethostname().encode()).partition(":")[2][:8]
    return f".tmp-{host}-"


def sweep_temporary_files(folder: Path) -> int:
    """Remove the temporary files in `folder` that processes of this host left when they
    died mid-put (a kill -9); how many. Files of live processes, and of other hosts
    sharing the folder, stay."""
    prefix, removed = _temporary_prefix(), 0
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.name.startswith(prefix)]
    except OSError:
        return 0
    for name in names:
        pid = name[len(prefix) :].partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            try:
                (folder / name).unlink()
                removed += 1
            except OSError:  # another sweep took it
                pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # no signal: only whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def _write_temporary(path: Path, data: bytes, *, sync: bool = True) -> Path:
    """A new hidden file in `path`'s folder (which must exist) holding `data`, fsynced
    when `sync`, to be renamed to `path`."""
    tmp = path.parent / f"{_temporary_prefix()}{os.getpid()}-{uuid.uuid4().hex}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _write_atomic(path: Path, data: bytes, *, sync: bool) -> None:
    """Write `path` through a temporary file renamed into place (fsynced first if `sync`)."""
    tmp = _write_temporary(path, data, sync=sync)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
