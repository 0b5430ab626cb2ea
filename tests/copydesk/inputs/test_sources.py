"""Batch input from a local file or the object store, run against both stores."""

from __future__ import annotations

import logging
import tracemalloc
from contextlib import closing
from itertools import islice
from pathlib import Path

import pytest

from copydesk.content.types import ContentType, load_content_type
from copydesk.errors import ConfigurationError
from copydesk.inputs.readers import IngestError
from copydesk.inputs.sources import (
    LocalSource,
    StoreSource,
    describe_source,
    ingest_source,
    iter_store_files,
    list_source,
    parse_source,
)
from copydesk.settings import Settings
from copydesk.storage import ObjectStore
from db.models import ItemStatus
from tests.copydesk.cli.test_main import copydesk
from tests.support.services import free_port

HEADER = "name,brand,price,currency\n"


@pytest.fixture(scope="module")
def product() -> ContentType:
    return load_content_type("product_description")


def put_inbox(store: ObjectStore) -> None:
    """Two CSV files (one with a bad price on row 2), a JSONL file, a note, a sibling prefix."""
    store.put(
        "inbox/x/a.csv",
        f"{HEADER}Desk Lamp,Lumo,45.00,USD\nShelf,Oakline,60,EUR\n".encode(),
        "text/csv",
    )
    store.put(  # another dialect: the reader sniffs each file on its own
        "inbox/x/b.csv",
        b"name;brand;price;currency\nChair;Sitwell;abc;USD\nStool;Sitwell;30;USD\n",
        "text/csv",
    )
    store.put(
        "inbox/x/c.jsonl",
        b'{"name": "Mug", "brand": "Clay", "price": "9", "currency": "USD"}\n',
        "application/x-ndjson",
    )
    store.put("inbox/x/notes.txt", b"prices are in the currency column\n", "text/plain")
    store.put("inbox/xy/other.csv", f"{HEADER}Rug,Weave,80,USD\n".encode(), "text/csv")


# --- parsing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("products.csv", LocalSource(Path("products.csv"))),
        ("/data/in/products.jsonl", LocalSource(Path("/data/in/products.jsonl"))),
        ("store:inbox/products/", StoreSource("inbox/products/")),
        ("store:inbox/products/a.csv", StoreSource("inbox/products/a.csv")),
        ("s3://copydesk/inbox/products/", StoreSource("inbox/products/")),
    ],
)
def test_parse_source(text: str, expected: object) -> None:
    source = parse_source(text, Settings(store="s3", s3_bucket="copydesk"))
    assert source == expected
    assert str(source) == text.replace("s3://copydesk/", "store:")  # as the batch records it


def test_s3_address_must_name_the_configured_bucket() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_source("s3://elsewhere/inbox/x/", Settings(store="s3", s3_bucket="copydesk"))
    assert "'elsewhere'" in str(caught.value) and "'copydesk'" in str(caught.value)
    with pytest.raises(ConfigurationError, match="COPYDESK_STORE=s3"):
        parse_source("s3://copydesk/inbox/x/", Settings(store="local"))


@pytest.mark.parametrize(
    "text",
    ["store:", "store:/", "store:x/y", "store:inbox/../etc", "store:/inbox/x", "s3://copydesk/"],
)
def test_bad_store_addresses_are_refused(text: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^'?(store|s3):"):
        parse_source(text, Settings(store="s3", s3_bucket="copydesk"))


def test_describe_source_names_runs() -> None:
    assert describe_source("/data/in/products.csv") == "products.csv"
    assert describe_source("store:inbox/products/") == "store:inbox/products/"


# --- listing and ingesting -----------------------------------------------------------


def test_prefix_ingests_every_input_file_in_key_order(
    store: ObjectStore, product: ContentType, caplog: pytest.LogCaptureFixture
) -> None:
    put_inbox(store)
    with caplog.at_level(logging.WARNING, logger="copydesk.inputs.sources"):
        items = list(ingest_source(parse_source("store:inbox/x/"), product, store))

    assert [(i.source, i.row_number, i.status) for i in items] == [
        ("store:inbox/x/a.csv", 2, ItemStatus.INGESTED),
        ("store:inbox/x/a.csv", 3, ItemStatus.INGESTED),
        ("store:inbox/x/b.csv", 2, ItemStatus.QUARANTINED),
        ("store:inbox/x/b.csv", 3, ItemStatus.INGESTED),
        ("store:inbox/x/c.jsonl", 1, ItemStatus.INGESTED),
    ]
    bad = items[2]
    assert bad.error is not None and bad.error.startswith("store:inbox/x/b.csv:2: price: ")
    assert bad.error_field == "price"
    assert "skipped inbox/x/notes.txt" in caplog.text


def test_a_key_is_one_file_and_a_bare_prefix_is_its_folder(store: ObjectStore) -> None:
    put_inbox(store)
    single = list_source(StoreSource("inbox/x/c.jsonl"), store)
    assert single.keys == ("inbox/x/c.jsonl",) and single.skipped == ()
    folder = list_source(StoreSource("inbox/x"), store)  # not inbox/xy/
    assert folder.keys == ("inbox/x/a.csv", "inbox/x/b.csv", "inbox/x/c.jsonl")
    assert folder.skipped == ("inbox/x/notes.txt",)


def test_a_prefix_without_input_files_is_an_error(store: ObjectStore) -> None:
    with pytest.raises(IngestError, match=r"^store:inbox/empty/: no input files \(\.csv"):
        list_source(StoreSource("inbox/empty/"), store)
    store.put("inbox/notes/readme.txt", b"x", "text/plain")
    with pytest.raises(IngestError, match=r"found only inbox/notes/readme\.txt"):
        list_source(StoreSource("inbox/notes/"), store)
    with pytest.raises(IngestError, match="no input files"):
        list_source(StoreSource("inbox/notes/readme.txt"), store)


def test_each_temporary_copy_is_deleted_when_the_next_is_read(store: ObjectStore) -> None:
    put_inbox(store)
    seen: list[Path] = []
    for _key, path in iter_store_files(StoreSource("inbox/x/"), store):
        assert path.is_file() and all(not earlier.exists() for earlier in seen)
        seen.append(path)
    assert len(seen) == 3 and not any(path.exists() for path in seen)
    assert not seen[0].parent.exists()

    with closing(iter_store_files(StoreSource("inbox/x/"), store)) as files:  # stopped early
        (_key, first), *_ = islice(files, 1)
        assert first.is_file()
    assert not first.exists() and not first.parent.exists()


def test_a_large_object_is_streamed_not_read_whole(
    store: ObjectStore, product: ContentType, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = "Desk Lamp,Lumo,45.00,USD\n"
    data = (HEADER + row * (16 * 1024 * 1024 // len(row))).encode()  # 16 MiB
    store.put("inbox/big/products.csv", data, "text/csv")
    size = len(data)
    del data

    def refuse(key: str) -> bytes:
        raise AssertionError(f"read {key} whole into memory")

    monkeypatch.setattr(store, "get", refuse)
    tracemalloc.start()
    try:
        with closing(iter_store_files(StoreSource("inbox/big/"), store)) as files:
            for _key, path in files:
                assert path.stat().st_size == size
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < size / 4, f"peak {peak} bytes for a {size}-byte object"

    with closing(ingest_source(StoreSource("inbox/big/products.csv"), product, store)) as items:
        first = next(items)
    assert (first.source, first.row_number) == ("store:inbox/big/products.csv", 2)


# --- `copydesk run` on a store source -----------------------------------------------


def test_run_on_an_empty_prefix_is_one_line(isolated_settings: Path) -> None:
    result = copydesk("run", "store:inbox/x/", "--type", "product_description")
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("error: store:inbox/x/: no input files (.csv")
    )
    assert "Traceback" not in result.stderr


def test_run_on_an_unreachable_store_is_one_line() -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    env = {
        "COPYDESK_STORE": "s3",
        "COPYDESK_S3_ENDPOINT": endpoint,
        "COPYDESK_S3_ACCESS_KEY": "copydesk-test",
        "COPYDESK_S3_SECRET_KEY": "copydesk-test-secret",
    }
    result = copydesk("run", "store:inbox/x/", "--type", "product_description", env=env)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot reach S3 server http://{endpoint}")
    assert "connection refused" in last and "Traceback" not in result.stderr
