"""Object keys and download links stay inside the bucket's key layout and the store's folder.

`validate_key` is fuzzed with hypothesis (random text, and keys built from traversal
pieces): whatever it accepts is a plain relative path under one of the layout's roots
that a local store resolves inside its folder. The local store refuses keys whose path a
symbolic link leads out of its folder. Publish slugs from any record name are keys. On the
S3 server, a presigned link works at once, not after it expired, and not for another key.
"""

from __future__ import annotations

import posixpath
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copydesk.desk.publish import item_slugs, slugify
from copydesk.errors import InvalidKeyError
from copydesk.storage import (
    KEY_ROOTS,
    LocalStore,
    ObjectStore,
    published_key,
    validate_key,
    validate_prefix,
)

PIECES = [
    "..", ".", "", "...", "%2e%2e", "%2f", "..%2f", "..\\", "\\", "~", "$HOME", "a b",
    "\x00", "\n", "\u202e", "\u2024\u2024", "\uff0e\uff0e", "C:", "//", "inbox", "batches",
    "published", "a", "x.csv", ".hidden", "-", "_",
]  # fmt: skip
keys_from_pieces = st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("/".join)
any_keys = st.one_of(st.text(max_size=60), keys_from_pieces)


def assert_safe(key: str, root: Path) -> None:
    """What an accepted key must be: relative, normalised, under a layout root, inside
    `root` once joined (no `..`, no absolute part, no backslash, no control character)."""
    segments = key.split("/")
    assert segments[0] in KEY_ROOTS
    assert not key.startswith("/") and "\\" not in key
    assert posixpath.normpath(key) == key
    assert all(segment not in ("", ".", "..") for segment in segments)
    assert key.isascii() and key.isprintable()
    assert (root / key).resolve().is_relative_to(root.resolve())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_keys)
def test_every_key_validate_key_accepts_stays_inside(key: str) -> None:
    root = Path("/srv/copydesk-objects")
    try:
        accepted = validate_key(key)
    except InvalidKeyError:
        return
    assert accepted == key
    assert_safe(key, root)


@settings(max_examples=200, deadline=None)
@given(any_keys)
def test_every_prefix_validate_prefix_accepts_stays_inside(prefix: str) -> None:
    try:
        accepted = validate_prefix(prefix)
    except InvalidKeyError:
        return
    assert_safe(accepted.rstrip("/"), Path("/srv/copydesk-objects"))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120), st.integers(min_value=1, max_value=10**9))
def test_a_publish_slug_from_any_record_name_is_a_key(name: str, item_id: int) -> None:
    for slug in item_slugs(name, item_id):
        assert slug and set(slug) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
        for extension in ("md", "html", "json"):
            key = published_key("product_description", slug, extension)
            assert key.startswith("published/product_description/") and key.count("/") == 2


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("../../etc/passwd", "etc-passwd"),
        ("..\\..\\windows\\system32", "windows-system32"),
        ("/etc/shadow", "etc-shadow"),
        ("%2e%2e%2f%2e%2e%2fsecret", "2e-2e-2f-2e-2e-2fsecret"),
        ("....//....//x", "x"),
        ("\U0001f600\U0001f600", ""),
    ],
)
def test_traversal_names_make_plain_slugs(name: str, slug: str) -> None:
    assert slugify(name) == slug
    assert item_slugs(name, 7)[0] == (slug or "item-7")


@pytest.mark.parametrize("content_type", ["../x", "a/b", "", ".."])
def test_a_published_key_refuses_a_content_type_that_is_not_one_segment(
    content_type: str,
) -> None:
    with pytest.raises(InvalidKeyError):
        published_key(content_type, "lamp", "md")


# --- the local store and symbolic links ------------------------------------------------


@pytest.fixture
def escape_routes(tmp_path: Path) -> tuple[LocalStore, Path]:
    """A local store whose folder holds symbolic links out of it: a directory
    (`inbox/out` → outside/) and a file (`inbox/passwd.csv` → outside/secret.csv)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("name,price\nsecret,1\n")
    store = LocalStore(tmp_path / "objects")
    (store.root / "inbox").mkdir(parents=True)
    (store.root / "inbox" / "out").symlink_to(outside, target_is_directory=True)
    (store.root / "inbox" / "passwd.csv").symlink_to(outside / "secret.csv")
    return store, outside


@pytest.mark.parametrize("key", ["inbox/out/secret.csv", "inbox/passwd.csv", "inbox/out/new.md"])
def test_the_local_store_refuses_keys_a_symlink_leads_out_of_its_folder(
    escape_routes: tuple[LocalStore, Path], key: str, tmp_path: Path
) -> None:
    store, outside = escape_routes
    before = sorted(path.name for path in outside.iterdir())
    for action in (
        lambda: store.get(key),
        lambda: store.stat(key),
        lambda: store.put(key, b"overwritten", "text/plain"),
        lambda: store.download(key, tmp_path / "copy"),
        lambda: store.delete(key),
        lambda: store.url(key),
    ):
        with pytest.raises(InvalidKeyError, match="leads outside"):
            action()
    assert sorted(path.name for path in outside.iterdir()) == before
    assert (outside / "secret.csv").read_text() == "name,price\nsecret,1\n"
    assert not (tmp_path / "copy").exists()


def test_a_symlinked_metadata_folder_is_refused_too(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store = LocalStore(tmp_path / "objects")
    store.root.mkdir(parents=True)
    (store.root / ".meta").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidKeyError, match="leads outside"):
        store.put("exports/a.json", b"{}", "application/json")
    assert list(outside.iterdir()) == []


def test_symlinks_inside_the_folder_still_work(tmp_path: Path) -> None:
    """A link that stays inside the store's folder is no escape."""
    store = LocalStore(tmp_path / "objects")
    store.put("exports/a.json", b"{}", "application/json")
    (store.root / "exports" / "b.json").symlink_to(store.root / "exports" / "a.json")
    assert store.get("exports/b.json") == b"{}"


@pytest.mark.parametrize("store", ["local"], indirect=True)
def test_local_links_point_inside_the_folder(store: LocalStore) -> None:
    store.put("exports/a.json", b"{}", "application/json")
    url = store.url("exports/a.json")
    assert url == (store.root / "exports" / "a.json").as_uri()


# --- presigned links on the S3 server --------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("store", ["s3"], indirect=True)
def test_a_presigned_link_expires_and_opens_only_its_key(store: ObjectStore) -> None:
    store.put("exports/secret.json", b'{"a": 1}', "application/json")
    store.put("exports/other.json", b'{"b": 2}', "application/json")
    url = store.url("exports/secret.json", expires=timedelta(seconds=5))
    signed_at = time.monotonic()

    fresh = httpx.get(url, timeout=10)
    assert fresh.status_code == 200 and fresh.content == b'{"a": 1}'
    other = httpx.get(url.replace("exports/secret.json", "exports/other.json"), timeout=10)
    assert other.status_code == 403  # the signature covers the key
    traversal = httpx.get(url.replace("exports/secret.json", "exports/../x"), timeout=10)
    assert traversal.status_code in (400, 403, 404)

    time.sleep(max(0.0, 6.5 - (time.monotonic() - signed_at)))  # past expiry
    expired = httpx.get(url, timeout=10)
    assert expired.status_code == 403, expired.text


@pytest.mark.parametrize("key", ["../x", "exports/../../x", "/exports/x", "exports/x\x00"])
def test_no_link_is_made_for_a_key_outside_the_layout(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidKeyError):
        store.url(key, expires=timedelta(seconds=2))
