"""Stage functions outside Prefect: batch identity across retries of one flow run."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from copydesk.pipeline.batch import attach_flow_run, start_batch
from db import migrate
from db.models import Batch
from db.session import session_scope

SOURCE = Path("products.csv")


def test_a_retried_flow_run_gets_its_batch_back(database_url: str) -> None:
    migrate.upgrade(database_url)
    first = start_batch(
        database_url,
        content_type="product_description",
        source=SOURCE,
        options={},
        flow_run_id="run-1",
    )
    again = start_batch(
        database_url,
        content_type="product_description",
        source=SOURCE,
        options={},
        flow_run_id="run-1",
    )
    other = start_batch(
        database_url,
        content_type="product_description",
        source=SOURCE,
        options={},
        flow_run_id="run-2",
    )
    plain = start_batch(database_url, content_type="product_description", source=SOURCE, options={})

    assert first == again and len({first, other, plain}) == 3
    attach_flow_run(database_url, plain, "run-3")  # a resume records the run now working on it
    with session_scope(database_url) as session:
        assert session.scalar(select(func.count()).select_from(Batch)) == 3
        assert session.get_one(Batch, plain).prefect_flow_run_id == "run-3"
