"""Publishing approved items: keys, rows, manifest, statuses; redone safely, never twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from copydesk.desk import decisions
from copydesk.desk import publish as publishing
from copydesk.desk.editors import EditorInfo
from copydesk.desk.publish import item_slugs, publish_approved, slugify
from copydesk.hashing import sha256_bytes
from copydesk.storage import LocalStore, ObjectStore
from db.models import Item, ItemStatus, Publication, Review, Revision
from db.session import session_scope
from tests.support.desk import editor, reviewable_batch

# The restaurant sample's rows: 1 Alimentum, 2 Browns Cambridge, 3 Cocum, 4 Fitzbillies,
# 5 Taste of Cambridge, 6 and 7 The Eagle (two different restaurants), 8 The Phoenix.
COCUM_EDIT = (
    "Cocum is an English coffee shop in the moderate price range, with a customer rating "
    "of 3 out of 5. It is not family-friendly."
)
EXTENSIONS = {"markdown": "md", "html": "html", "json": "json"}


def version(url: str, item_id: int) -> int:
    with session_scope(url, readonly=True) as session:
        return session.get_one(Item, item_id).version


def approve(url: str, who: EditorInfo, item_id: int) -> None:
    decisions.approve(url, who, item_id, version(url, item_id))


def statuses(url: str, ids: list[int]) -> list[str]:
    with session_scope(url, readonly=True) as session:
        return [session.get_one(Item, i).status for i in ids]


def publications(url: str) -> list[Publication]:
    with session_scope(url, readonly=True) as session:
        return list(session.scalars(select(Publication).order_by(Publication.id)))


def published_keys(store: ObjectStore) -> dict[str, str]:
    return {obj.key: obj.sha256 for obj in store.list("published/")}


def test_publishes_approved_items_once_with_their_lineage(
    database_url: str, store: ObjectStore
) -> None:
    url = database_url
    batch_id, ids = reviewable_batch(url, store)
    alice, _ = editor(url, "alice")
    bob, _ = editor(url, "bob")
    browns, cocum, fitzbillies, eagle, other_eagle = ids[1], ids[2], ids[3], ids[5], ids[6]
    approve(url, alice, browns)
    edited = decisions.edit(
        url, alice, cocum, version(url, cocum), {"description": COCUM_EDIT}, store
    )
    decisions.approve(url, bob, cocum, edited.version)
    decisions.reject(url, alice, fitzbillies, version(url, fitzbillies), "Too flat.")
    approve(url, alice, eagle)
    approve(url, bob, other_eagle)

    result = publish_approved(url, store, batch_id=batch_id, flow_run_id="flow-publish")

    assert (result.items, result.documents, result.skipped) == (4, 12, {})
    assert list(result.manifests) == ["restaurant"]
    published = [browns, cocum, eagle, other_eagle]
    expected_status = {i: ItemStatus.PENDING_REVIEW for i in ids}
    expected_status |= {i: ItemStatus.PUBLISHED for i in published}
    expected_status[fitzbillies] = ItemStatus.REJECTED
    assert dict(zip(ids, statuses(url, ids), strict=True)) == expected_status

    rows = publications(url)
    slugs = {
        browns: "browns-cambridge",
        cocum: "cocum",
        eagle: "the-eagle",
        other_eagle: f"the-eagle-{other_eagle}",  # the second Eagle finds the key taken
    }
    with session_scope(url, readonly=True) as session:
        for item_id in published:
            review = session.scalars(
                select(Review).where(Review.item_id == item_id, Review.decision == "approve")
            ).one()
            revision = session.get_one(Revision, review.revision_id)
            if item_id == cocum:
                assert revision.author_kind == "editor" and COCUM_EDIT in revision.text
            mine = {row.format: row for row in rows if row.item_id == item_id}
            assert set(mine) == set(revision.outputs) == {"markdown", "html", "json"}
            for fmt, row in mine.items():
                key = f"published/restaurant/{slugs[item_id]}.{EXTENSIONS[fmt]}"
                assert (row.object_key, row.slug, row.content_type) == (
                    key,
                    slugs[item_id],
                    "restaurant",
                )
                assert (row.revision_id, row.review_id) == (revision.id, review.id)
                assert row.prefect_flow_run_id == "flow-publish"
                assert row.manifest_key == result.manifests["restaurant"]
                data = store.get(key)
                assert data == store.get(revision.outputs[fmt]["key"])
                assert row.sha256 == sha256_bytes(data) == revision.outputs[fmt]["sha256"]
                assert store.stat(key).sha256 == row.sha256  # type: ignore[union-attr]
        assert COCUM_EDIT in store.get("published/restaurant/cocum.md").decode()

        manifest_key = result.manifests["restaurant"]
        assert manifest_key.startswith("published/restaurant/manifests/")
        manifest = json.loads(store.get(manifest_key))
        assert manifest["content_type"] == "restaurant"
        assert (manifest["item_count"], manifest["document_count"]) == (4, 12)
        entries = {entry["item_id"]: entry for entry in manifest["items"]}
        assert list(entries) == published
        cocum_item = session.get_one(Item, cocum)
        assert entries[cocum]["batch_id"] == batch_id
        assert entries[cocum]["slug"] == "cocum"
        assert entries[cocum]["approved_by"] == "bob"
        assert entries[browns]["approved_by"] == "alice"
        assert entries[cocum]["approved_at"] and entries[cocum]["published_at"]
        assert (entries[cocum]["source"], entries[cocum]["row_number"]) == (
            cocum_item.source,
            cocum_item.row_number,
        )
        assert entries[cocum]["input_sha256"] == cocum_item.input_sha256
        for item_id, entry in entries.items():
            objects = {
                row.format: {"key": row.object_key, "sha256": row.sha256}
                for row in rows
                if row.item_id == item_id
            }
            assert entry["objects"] == objects
            assert {row.revision_id for row in rows if row.item_id == item_id} == {
                entry["revision_id"]
            }

    # Again: nothing to publish, no new manifest, no new rows, no new objects.
    before = published_keys(store)
    again = publish_approved(url, store, batch_id=batch_id)
    assert (again.items, again.documents, again.manifests, again.skipped) == (0, 0, {}, {})
    assert len(publications(url)) == 12
    assert published_keys(store) == before


def test_a_later_run_lists_only_its_items_and_avoids_taken_keys(tmp_path: Path) -> None:
    url, store = f"sqlite:///{tmp_path / 'desk.db'}", LocalStore(tmp_path / "objects")
    _, ids = reviewable_batch(url, store)
    alice, _ = editor(url)
    eagle, other_eagle, browns = ids[5], ids[6], ids[1]
    approve(url, alice, eagle)
    first = publish_approved(url, store)
    # Someone else's document already sits where Browns Cambridge would go.
    store.put("published/restaurant/browns-cambridge.md", b"# not ours\n", "text/markdown")
    approve(url, alice, other_eagle)
    approve(url, alice, browns)

    second = publish_approved(url, store)

    assert (first.items, second.items) == (1, 2)
    assert first.manifests["restaurant"] != second.manifests["restaurant"]
    listed = json.loads(store.get(second.manifests["restaurant"]))
    assert sorted(e["item_id"] for e in listed["items"]) == sorted([browns, other_eagle])
    slugs = {row.item_id: row.slug for row in publications(url)}
    assert slugs == {
        eagle: "the-eagle",
        other_eagle: f"the-eagle-{other_eagle}",
        browns: f"browns-cambridge-{browns}",  # every format moves with the Markdown
    }
    assert store.get("published/restaurant/browns-cambridge.md") == b"# not ours\n"
    assert store.stat("published/restaurant/browns-cambridge.html") is None


def test_a_crash_after_the_copies_or_the_rows_is_completed_by_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, store = f"sqlite:///{tmp_path / 'desk.db'}", LocalStore(tmp_path / "objects")
    _, ids = reviewable_batch(url, store)
    alice, _ = editor(url)
    for item_id in ids[:3]:
        approve(url, alice, item_id)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed")

    # 1. Killed after the copies, before the rows: objects exist, the items are approved.
    with monkeypatch.context() as patch:
        patch.setattr(publishing, "_record", crash)
        with pytest.raises(RuntimeError):
            publish_approved(url, store)
    copied = published_keys(store)
    assert len(copied) == 9 and publications(url) == []
    assert statuses(url, ids[:3]) == [ItemStatus.APPROVED] * 3

    # 2. Killed after the rows, before the manifest: the redo reuses the keys (same bytes).
    with monkeypatch.context() as patch:
        patch.setattr(publishing, "write_manifest", crash)
        with pytest.raises(RuntimeError):
            publish_approved(url, store)
    assert published_keys(store) == copied
    rows = publications(url)
    assert len(rows) == 9 and {row.manifest_key for row in rows} == {None}
    assert statuses(url, ids[:3]) == [ItemStatus.PUBLISHED] * 3

    # 3. The next run publishes nothing new but lists the unlisted publications.
    result = publish_approved(url, store)
    assert (result.items, result.documents) == (0, 0)
    key = result.manifests["restaurant"]
    assert {row.manifest_key for row in publications(url)} == {key}
    assert len(json.loads(store.get(key))["items"]) == 3
    assert publish_approved(url, store).manifests == {}


def test_items_that_cannot_be_published_stay_approved_and_say_why(tmp_path: Path) -> None:
    url, store = f"sqlite:///{tmp_path / 'desk.db'}", LocalStore(tmp_path / "objects")
    batch_id, ids = reviewable_batch(url, store)
    other_batch, other_ids = reviewable_batch(url, store)
    alice, _ = editor(url)
    for item_id in [ids[0], ids[1], other_ids[0]]:
        approve(url, alice, item_id)
    with session_scope(url, readonly=True) as session:
        outputs = session.scalars(
            select(Revision.outputs).where(Revision.item_id == ids[1], Revision.outputs != {})
        ).one()
    store.delete(outputs["html"]["key"])

    result = publish_approved(url, store, batch_id=batch_id)

    assert result.items == 1 and list(result.skipped) == [ids[1]]
    assert "no document" in result.skipped[ids[1]]
    assert statuses(url, [ids[0], ids[1], other_ids[0]]) == [
        ItemStatus.PUBLISHED,
        ItemStatus.APPROVED,  # its HTML is gone
        ItemStatus.APPROVED,  # another batch
    ]
    with session_scope(url, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Publication)) == 3
    assert publish_approved(url, store, batch_id=other_batch).items == 1


def test_slugs_are_ascii_lowercase_and_short() -> None:
    assert slugify("Café Rouge & Bar -- Cambridge!") == "cafe-rouge-bar-cambridge"
    assert slugify("  The   Eagle ") == "the-eagle"
    assert slugify("東京") == ""
    long = slugify("word " * 40)
    assert len(long) <= 80 and not long.endswith("-")
    assert item_slugs("東京", 7) == ("item-7", "item-7")
    base, suffixed = item_slugs("word " * 40, 123456)
    assert len(suffixed) <= 80 and suffixed.endswith("-123456") and "--" not in suffixed
    assert base == long
