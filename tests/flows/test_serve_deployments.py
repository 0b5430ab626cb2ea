"""The deployments `copydesk serve` builds from copydesk.toml (no server needed)."""

from __future__ import annotations

from pathlib import Path

from prefect.client.schemas.schedules import CronSchedule

from copydesk.inputs.schedules import load_config
from flows.serve import build_deployments

CONFIG = """
[[schedules]]
name = "products"
content_type = "product_description"
input = "inbox/"
cron = "0 9 * * 1-5"
timezone = "Europe/Berlin"

[regenerate]
cron = "*/10 * * * *"
"""


def test_one_deployment_per_schedule_plus_the_desk_flows(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "copydesk.toml").write_text(CONFIG)

    deployments = {f"{d.flow_name}/{d.name}": d for d in build_deployments(load_config())}

    assert sorted(deployments) == [
        "process-inbox/products",
        "publish-approved/publish-approved",
        "regenerate-requested/regenerate-requested",
    ]
    inbox = deployments["process-inbox/products"]
    (schedule,) = inbox.schedules or []
    assert isinstance(schedule.schedule, CronSchedule)
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 9 * * 1-5", "Europe/Berlin")
    assert inbox.parameters == {"schedule": "products"}
    assert inbox.entrypoint == "flows.inbox.process_inbox"  # importable from any directory
    assert inbox.paused is False
    assert deployments["publish-approved/publish-approved"].schedules == []
    (regenerate,) = deployments["regenerate-requested/regenerate-requested"].schedules or []
    assert isinstance(regenerate.schedule, CronSchedule)
    assert (regenerate.schedule.cron, regenerate.schedule.timezone) == ("*/10 * * * *", "UTC")


def test_a_tune_table_adds_the_tune_model_deployment(tmp_path: Path) -> None:
    (tmp_path / "copydesk.toml").write_text(
        '[tune]\ncron = "0 3 * * 0"\ncontent_type = "restaurant"\nsteps = 30\n'
        "include_template = true\n"
    )

    deployments = {f"{d.flow_name}/{d.name}": d for d in build_deployments(load_config())}

    tune = deployments["tune-model/tune-model"]
    (schedule,) = tune.schedules or []
    assert isinstance(schedule.schedule, CronSchedule) and schedule.schedule.cron == "0 3 * * 0"
    assert tune.parameters == {
        "content_type": "restaurant",
        "only_new_data": True,  # a cron run trains only on new approvals
        "settings": {"steps": 30},
        "include_template": True,
    }
    assert tune.entrypoint == "flows.tune.tune_model"
