"""The object store contract, run against the local folder store and a real S3 server."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

import copydesk.storage.local
from copydesk.errors import InvalidKeyError, ObjectConflictError, StorageError
from copydesk.hashing import sha256_bytes
from copydesk.settings import get_settings
from copydesk.storage import (
    LocalStore,
    NewObject,
    ObjectStore,
    StoredObject,
    item_key,
    published_key,
    validate_key,
)
from copydesk.storage.local import sync_files
from tests.conftest import s3_env
from tests.support.services import S3Server

BAD_KEYS = [
    "",
    "../etc/passwd",
    "batches/../../etc/passwd",
    "batches/1/items/2/../../../../x",
    "/batches/1/x",
    "batches//x",
    "batches/./x",
    "batches/1/..",
    "batches\\1\\x",
    "batches/1/x\x00.md",
    "batches/1/\nx",
    "elsewhere/x",
    "batches/.hidden",
    "published/" + "a" * 2000,
]


def test_put_get_stat_round_trip(store: ObjectStore) -> None:
    key = item_key(1, 2, "output.md")
    data = "# Lamp\n\nA bright lamp — 40 W.\n".encode()

    stored = store.put(key, data, "text/markdown")

    assert stored.sha256 == sha256_bytes(data)
    assert store.get(key) == data
    stat = store.stat(key)
    assert stat is not None
    assert (stat.key, stat.size, stat.sha256, stat.content_type) == (
        key,
        len(data),
        sha256_bytes(data),
        "text/markdown",
    )


def test_objects_are_immutable(store: ObjectStore) -> None:
    key = item_key(1, 2, "output.json")
    store.put(key, b"{}", "application/json")

    again = store.put(key, b"{}", "application/json")  # a resumed batch re-puts: fine
    assert again.sha256 == sha256_bytes(b"{}")
    with pytest.raises(ObjectConflictError, match="already exists"):
        store.put(key, b'{"other": 1}', "application/json")
    assert store.get(key) == b"{}"


def test_list_by_prefix(store: ObjectStore) -> None:
    for item in (1, 2, 10):
        store.put(item_key(7, item, "output.md"), f"item {item}".encode(), "text/markdown")
    store.put(published_key("article", "lamp", "md"), b"x", "text/markdown")

    keys = sorted(obj.key for obj in store.list("batches/7/items/1/"))
    assert keys == ["batches/7/items/1/output.md"]  # not items/10
    all_keys = sorted(obj.key for obj in store.list("batches/7/"))
    assert all_keys == [f"batches/7/items/{i}/output.md" for i in (1, 10, 2)]
    assert [obj.key for obj in store.list("published/")] == ["published/article/lamp.md"]


def test_missing_object_is_a_clear_error(store: ObjectStore) -> None:
    assert store.stat("batches/1/items/1/nothing.md") is None
    with pytest.raises(StorageError, match=r"no object 'batches/1/items/1/nothing\.md'"):
        store.get("batches/1/items/1/nothing.md")


def test_download_writes_the_object_to_a_file(store: ObjectStore, tmp_path: Path) -> None:
    data = b"name,price\n" + b"Lamp,45\n" * 400_000  # ~3 MiB: several chunks
    store.put("inbox/big/products.csv", data, "text/csv")
    target = tmp_path / "copy.csv"

    assert store.download("inbox/big/products.csv", target) == len(data)
    assert target.read_bytes() == data


def test_download_of_a_missing_object_is_a_clear_error(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"no object 'inbox/none\.csv'"):
        store.download("inbox/none.csv", tmp_path / "copy.csv")
    with pytest.raises(InvalidKeyError):
        store.download("inbox/../../etc/passwd", tmp_path / "copy.csv")


def test_objects_put_by_another_tool_are_listed_without_a_digest(store: ObjectStore) -> None:
    """A file copied into the inbox by hand, or uploaded with another S3 client."""
    data = b"name,price\nLamp,45\n"
    if isinstance(store, LocalStore):
        (store.root / "inbox" / "drop").mkdir(parents=True)
        (store.root / "inbox" / "drop" / "a.csv").write_bytes(data)
    else:
        client, bucket = store.client, store.bucket  # type: ignore[attr-defined]
        client.put_object(bucket, "inbox/drop/a.csv", io.BytesIO(data), len(data), "text/csv")

    listed = [(o.key, o.size, o.sha256, o.content_type) for o in store.list("inbox/drop/")]
    assert listed == [("inbox/drop/a.csv", len(data), "", "text/csv")]
    assert store.get("inbox/drop/a.csv") == data


@pytest.mark.parametrize("key", BAD_KEYS)
def test_keys_escaping_the_layout_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidKeyError):
        store.put(key, b"x", "text/plain")
    with pytest.raises(InvalidKeyError):
        store.get(key)
    with pytest.raises(InvalidKeyError):
        store.url(key)


def test_layout_builders_refuse_traversal() -> None:
    with pytest.raises(InvalidKeyError):
        published_key("article", "../../secrets", "md")
    with pytest.raises(InvalidKeyError):
        item_key(1, 2, "../3/output.md")
    assert validate_key("published/article/lamp-40w.v2.md") == "published/article/lamp-40w.v2.md"


def test_url_gives_the_object(store: ObjectStore) -> None:
    key = item_key(3, 4, "image.png")
    store.put(key, b"\x89PNG fake", "image/png")
    url = store.url(key)
    if url.startswith("file://"):
        assert url.endswith("/batches/3/items/4/image.png")
    else:
        response = httpx.get(url, timeout=10)
        assert response.status_code == 200
        assert response.content == b"\x89PNG fake"
        tampered = httpx.get(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"), timeout=10)
        assert tampered.status_code == 403


@pytest.mark.integration
def test_wrong_s3_secret_names_the_endpoint(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from copydesk.storage.s3 import S3Store

    env = s3_env(s3_server, f"t-{uuid.uuid4().hex[:12]}")
    env["COPYDESK_S3_SECRET_KEY"] = "not-the-secret"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    store = S3Store.from_settings(get_settings())

    with pytest.raises(StorageError) as caught:
        store.put(item_key(1, 1, "x.md"), b"x", "text/markdown")
    message = str(caught.value)
    assert f"http://{s3_server.endpoint}" in message
    assert "secret key is wrong" in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.integration
def test_missing_bucket_is_not_created_unless_configured(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from copydesk.storage.s3 import S3Store

    bucket = f"t-{uuid.uuid4().hex[:12]}"
    for name, value in s3_env(s3_server, bucket).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    store = S3Store.from_settings(get_settings())
    with pytest.raises(StorageError, match=r"bucket does not exist.*COPYDESK_S3_CREATE_BUCKET"):
        store.put(item_key(1, 1, "x.md"), b"x", "text/markdown")

    monkeypatch.setenv("COPYDESK_S3_CREATE_BUCKET", "true")
    get_settings.cache_clear()
    created = S3Store.from_settings(get_settings())
    created.put(item_key(1, 1, "x.md"), b"x", "text/markdown")
    assert created.client.bucket_exists(bucket)


def test_put_many_puts_each_object_in_order(store: ObjectStore) -> None:
    """The pipeline's output stage puts a chunk's documents at once: new objects, a
    re-put of the same bytes (a redo), and a conflict that is refused."""
    store.put(item_key(5, 1, "a.md"), b"a", "text/markdown")
    objects = [
        NewObject(item_key(5, 1, "a.md"), b"a", "text/markdown"),
        *(NewObject(item_key(5, n, "b.json"), b"{}" * n, "application/json") for n in range(2, 12)),
    ]

    stored = store.put_many(objects)

    assert [(s.key, s.sha256) for s in stored] == [(o.key, sha256_bytes(o.data)) for o in objects]
    assert all(store.get(o.key) == o.data for o in objects)
    conflict = [objects[3], NewObject(item_key(5, 1, "a.md"), b"other", "text/markdown")]
    with pytest.raises(ObjectConflictError):
        store.put_many(conflict)
    assert store.get(item_key(5, 1, "a.md")) == b"a"
    later = [NewObject(item_key(5, 20 + n, "c.md"), b"c", "text/markdown") for n in range(3)]
    with pytest.raises(ObjectConflictError):
        store.put_many([conflict[1], *later])
    if isinstance(store, LocalStore):  # in order: the puts after the failed one never happen
        assert all(store.stat(obj.key) is None for obj in later)
        assert not [p for p in store.root.rglob(".tmp-*")]  # nor are their files left behind


def test_sync_files_syncs_each_file_system_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = []
    for n in range(6):
        (folder := tmp_path / f"item-{n % 3}").mkdir(exist_ok=True)
        (file := folder / f"{n}.md").write_bytes(b"x")
        files.append(file)
    sync_files(files)  # the real syncfs (Linux) or fsyncs: returns once the data is durable
    calls: list[int] = []

    def syncfs(fd: int) -> int:
        calls.append(fd)
        return 0

    monkeypatch.setattr(copydesk.storage.local, "_syncfs", lambda: syncfs)
    sync_files(files)
    assert len(calls) == 1  # three folders, one file system


def test_without_syncfs_each_file_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [tmp_path / f"{n}.md" for n in range(4)]
    for file in files:
        file.write_bytes(b"x")
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(copydesk.storage.local, "_syncfs", lambda: None)
    monkeypatch.setattr(os, "fsync", fsync)
    sync_files(files)
    assert len(synced) == len(files)


def test_a_failed_sync_leaves_each_put_to_write_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the batch sync fails (an I/O error), `put_many` drops its staged files and each
    put writes and fsyncs its object itself: nothing is put on unsynced files."""

    def failing(files: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(copydesk.storage.local, "sync_files", failing)
    store = LocalStore(tmp_path / "objects")
    objects = [NewObject(item_key(6, n, "a.md"), b"a%d" % n, "text/markdown") for n in range(4)]
    assert [s.key for s in store.put_many(objects)] == [o.key for o in objects]
    assert all(store.get(o.key) == o.data for o in objects)
    assert not [p for p in store.root.rglob(".tmp-*")]


def test_a_torn_sidecar_does_not_stop_a_redo(tmp_path: Path) -> None:
    """The local store does not fsync its metadata sidecars: after a power loss one may be
    empty or cut short. The object's own bytes then decide."""
    store = LocalStore(tmp_path / "objects")
    key = item_key(1, 2, "output.md")
    stored = store.put(key, b"# Lamp\n", "text/markdown")
    sidecar = store.root / ".meta" / f"{key}.json"
    for torn in (b"", b'{"key": "batches/1/it'):
        sidecar.write_bytes(torn)
        assert store.stat(key) == stored  # the digest recomputed from the object
        with pytest.raises(ObjectConflictError):
            store.put(key, b"# Other\n", "text/markdown")
        assert store.put(key, b"# Lamp\n", "text/markdown") == stored
        assert json.loads(sidecar.read_bytes())["sha256"] == stored.sha256  # repaired


@pytest.mark.integration
def test_a_name_that_carries_its_digest_is_put_in_one_trip(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipeline's documents are named by their content's digest: the S3 store puts
    them without a look first (a redo writes the same bytes), and still looks first for
    any other name."""
    from copydesk.storage import names_its_content
    from copydesk.storage.s3 import S3Store

    data = b"# Lamp\n"
    digest = sha256_bytes(data)
    named = item_key(7, 1, f"{digest.partition(':')[2][:16]}.md")
    assert names_its_content(named, digest)
    assert not names_its_content(item_key(7, 1, "output.md"), digest)
    assert not names_its_content(item_key(7, 1, f"{'0' * 16}.md"), digest)
    for name, value in s3_env(s3_server, f"t-{uuid.uuid4().hex[:12]}").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COPYDESK_S3_CREATE_BUCKET", "true")
    get_settings.cache_clear()
    store = S3Store.from_settings(get_settings())
    looks: list[str] = []
    real_stat = store.stat

    def stat(key: str) -> StoredObject | None:
        looks.append(key)
        return real_stat(key)

    store.stat = stat  # type: ignore[method-assign]
    first, again = store.put(named, data, "text/markdown"), store.put(named, data, "text/markdown")
    assert first == again and store.get(named) == data and looks == []
    store.put(item_key(7, 1, "output.md"), data, "text/markdown")
    assert looks == [item_key(7, 1, "output.md")]


def test_a_resume_sweeps_the_temporary_files_of_dead_puts(tmp_path: Path) -> None:
    """A kill -9 mid-put leaves hidden temporary files; the next put into their folder
    (a resume's, from a new store) removes those of dead processes of this host only."""
    store = LocalStore(tmp_path / "objects")
    key = item_key(8, 1, "a.md")
    store.put(key, b"a", "text/markdown")
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    prefix = copydesk.storage.local._temporary_prefix()
    folder, meta = (store.root / key).parent, (store.root / ".meta" / key).parent
    dead = [
        folder / f"{prefix}{int(finished.stdout)}-a",
        meta / f"{prefix}{int(finished.stdout)}-b",
    ]
    kept = [folder / f"{prefix}{os.getpid()}-c", folder / ".tmp-00000000-1-d", folder / "x.md"]
    for path in dead + kept:
        path.write_bytes(b"half")
    again = LocalStore(tmp_path / "objects")
    again.put_many(
        [
            NewObject(item_key(8, 1, "b.md"), b"b", "text/markdown"),
            NewObject(item_key(8, 2, "c.md"), b"c", "text/markdown"),
        ]
    )
    assert [path.exists() for path in dead + kept] == [False, False, True, True, True]
