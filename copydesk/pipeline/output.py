"""The output stage: render each refined item's documents, put them in the object store,
write its revisions (model, then refiner) and send it to review."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from copydesk.content.render import render_markdown, render_outputs
from copydesk.content.types import ContentType
from copydesk.hashing import sha256_text
from copydesk.pipeline.types import REFINER, StageCounts
from copydesk.storage import NewObject, ObjectStore, StoredObject, item_key
from db import repository as repo
from db.models import (
    AuthorKind,
    ItemStatus,
    Revision,
)
from db.repository import GenerationRow
from db.session import session_scope


@dataclass(frozen=True)
class _OutputWork:
    item_id: int
    batch_id: int
    record: dict[str, Any]
    final: dict[str, str]  # section -> the refined text
    model: dict[str, GenerationRow]  # section -> the model attempt it came from (or the best)
    refined: bool  # whether the refiner changed any section
    generation_round: int = 1
    check_errors: int = 0  # error findings on the final text


def _output_snapshot(url: str, item_ids: Sequence[int]) -> list[_OutputWork]:
    with session_scope(url, readonly=True) as session:
        items = repo.item_rows(session=session, ids=item_ids, status=ItemStatus.REFINED)
        ids = [item_id for item_id, *_ in items]
        generations = repo.generations_by_item(session=session, item_ids=ids)
        refinements = repo.refinements_by_item(session=session, item_ids=ids)
        errors, final_errors = repo.item_error_counts(session=session, item_ids=ids)
        work = []
        for item_id, batch_id, _, generation_round, record in items:
            of_item = generations.get(item_id, [])
            best = best_generations(of_item, generation_round, errors)
            by_id = {g.id: g for g in of_item}
            decisions = [
                r for r in refinements.get(item_id, ()) if r.generation_round == generation_round
            ]
            final = {name: g.output for name, g in best.items()}
            final |= {r.section: r.text for r in decisions}
            model = best | {
                r.section: by_id[r.generation_id] for r in decisions if r.generation_id in by_id
            }
            refined = any(r.text != model[r.section].output for r in decisions)
            work.append(
                _OutputWork(
                    item_id,
                    batch_id,
                    record,
                    final,
                    model,
                    refined,
                    generation_round,
                    sum(final_errors.get(r.id, 0) for r in decisions),
                )
            )
    return work


def _revision(
    item_id: int, kind: str, author: str, markdown: str, sections: dict[str, str]
) -> dict[str, Any]:
    """A `revisions` row (column values; `parent_id` is set when it is written)."""
    return {
        "item_id": item_id,
        "author_kind": kind,
        "author": author,
        "text": markdown,
        "text_sha256": sha256_text(markdown),
        "object_key": None,
        "outputs": {},
        "sections": dict(sections),
    }


def render_documents(
    content_type: ContentType,
    record: dict[str, Any],
    sections: dict[str, str],
    batch_id: int,
    item_id: int,
) -> tuple[str, list[tuple[str, NewObject]]]:
    """Render an item's documents from its section texts, each under a content-addressed
    name: the Markdown, and `[(format, object to put)]`."""
    documents = render_outputs(content_type, record, sections)
    objects = []
    for document in documents:
        text_hash = hashlib.sha256(document.data).hexdigest()[:16]
        key = item_key(batch_id, item_id, f"{text_hash}.{document.extension}")
        objects.append((document.format, NewObject(key, document.data, document.media_type)))
    markdown = next(d for d in documents if d.format == "markdown").data.decode()
    return markdown, objects


def _outputs(
    objects: Sequence[tuple[str, NewObject]], stored: Sequence[StoredObject]
) -> dict[str, dict[str, str]]:
    """`{format: {key, sha256}}` of an item's stored documents."""
    return {
        format: {"key": obj.key, "sha256": obj.sha256}
        for (format, _), obj in zip(objects, stored, strict=True)
    }


def store_documents(
    content_type: ContentType,
    record: dict[str, Any],
    sections: dict[str, str],
    store: ObjectStore,
    batch_id: int,
    item_id: int,
) -> tuple[str, dict[str, dict[str, str]]]:
    """Render an item's documents from its section texts and put them in the store under
    content-addressed names; return the Markdown and `{format: {key, sha256}}`."""
    markdown, objects = render_documents(content_type, record, sections, batch_id, item_id)
    stored = store.put_many([obj for _, obj in objects])
    return markdown, _outputs(objects, stored)


def output_chunk(
    url: str, item_ids: Sequence[int], content_type: ContentType, store: ObjectStore
) -> StageCounts:
    """Render each refined item's documents from its refined sections, store them, await review.

    The model's own text is kept as a `model` revision; when the refiner changed it, a
    `refiner` revision (its child) holds the final text. In a regeneration round the new
    revisions are children of the item's latest revision. Rendering and the object-store puts
    (the chunk's documents in one `put_many`) run with no transaction open (puts of the
    same bytes are no-ops, so a redo is safe); revisions and statuses go in one short one.
    """
    snapshot = _output_snapshot(url, item_ids)
    rendered = [
        render_documents(content_type, w.record, w.final, w.batch_id, w.item_id) for w in snapshot
    ]
    stored = iter(store.put_many([obj for _, objects in rendered for _, obj in objects]))
    revisions: dict[int, list[dict[str, Any]]] = {}
    for work, (markdown, objects) in zip(snapshot, rendered, strict=True):
        outputs = _outputs(objects, [next(stored) for _ in objects])
        model_id = next(iter(work.model.values())).model_id
        if work.refined:
            raw = {name: g.output for name, g in work.model.items()}
            raw_markdown = render_markdown(content_type, work.record, raw)
            chain = [
                _revision(work.item_id, AuthorKind.MODEL, model_id, raw_markdown, raw),
                _revision(work.item_id, AuthorKind.REFINER, REFINER, markdown, work.final),
            ]
        else:
            chain = [_revision(work.item_id, AuthorKind.MODEL, model_id, markdown, work.final)]
        chain[-1] |= {"object_key": outputs["markdown"]["key"], "outputs": outputs}
        revisions[work.item_id] = chain
    check_errors = {work.item_id: work.check_errors for work in snapshot}
    return _write_revisions(url, revisions, check_errors)


def _write_revisions(
    url: str, revisions: dict[int, list[dict[str, Any]]], check_errors: dict[int, int]
) -> StageCounts:
    """Put each still-refined item in review and add its revisions (unless a first round
    already has its model revision): a chain, each revision the child of the one before,
    the first a child of the item's latest revision in a regeneration round. A few
    statements for the chunk: revisions are inserted a link of the chains at a time."""
    counts = StageCounts()
    with session_scope(url) as session:
        by_errors: dict[int, list[int]] = {}  # error findings -> the items with as many
        for item_id in revisions:
            by_errors.setdefault(check_errors[item_id], []).append(item_id)
        moved = sorted(
            row
            for errors, same in by_errors.items()
            for row in repo.move_items(
                session=session,
                ids=same,
                status=ItemStatus.REFINED,
                to=ItemStatus.PENDING_REVIEW,
                check_errors=errors,
            )
        )
        first_round = [item_id for item_id, round_ in moved if round_ == 1]
        written = repo.with_model_revision(session=session, item_ids=first_round)
        parents: dict[int, int | None] = {}
        for item_id, round_ in moved:
            if round_ == 1 and item_id not in written:
                parents[item_id] = None
            elif round_ > 1:
                latest = repo.latest_revision(session=session, item_id=item_id)
                parents[item_id] = latest.id if latest is not None else None
        link = 0
        while chains := [(i, revisions[i][link]) for i in parents if link < len(revisions[i])]:
            rows = [row | {"parent_id": parents[item_id]} for item_id, row in chains]
            ids = repo.insert_rows(session=session, model=Revision, rows=rows)
            parents.update(
                (item_id, new_id) for (item_id, _), new_id in zip(chains, ids, strict=True)
            )
            link += 1
        counts.done = len(moved)
    return counts


def best_generations(
    generations: Sequence[GenerationRow], generation_round: int, errors: dict[int, int]
) -> dict[str, GenerationRow]:
    """Per section: the attempt of `generation_round` with the fewest error findings (the
    latest on a tie), from an item's generations in id order and `{generation_id: errors}`."""
    best: dict[str, GenerationRow] = {}
    for generation in generations:  # in id order, so later attempts win ties
        if generation.generation_round != generation_round:
            continue
        current = best.get(generation.section)
        if current is None or errors.get(generation.id, 0) <= errors.get(current.id, 0):
            best[generation.section] = generation
    return best
