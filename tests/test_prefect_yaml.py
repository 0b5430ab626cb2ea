"""prefect.yaml: the work-pool deployments name real flows, on the pools the docs create."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml
from prefect import Flow

REPO = Path(__file__).resolve().parent.parent


def deployments() -> list[dict[str, Any]]:
    data = yaml.safe_load((REPO / "prefect.yaml").read_text())
    assert data["name"] == "copydesk" and data["prefect-version"].startswith("3.8")
    result: list[dict[str, Any]] = data["deployments"]
    return result


def test_every_entrypoint_is_a_prefect_flow_in_this_repository() -> None:
    for deployment in deployments():
        path, _, name = deployment["entrypoint"].partition(":")
        assert (REPO / path).is_file(), path
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert isinstance(getattr(module, name), Flow), deployment["entrypoint"]


def test_generate_batch_runs_on_the_cpu_and_the_gpu_pool() -> None:
    pools = {d["name"]: d["work_pool"]["name"] for d in deployments()}
    assert pools == {
        "generate-batch": "copydesk",
        "generate-batch-gpu": "copydesk-gpu",
        "publish-approved": "copydesk",
        "regenerate-requested": "copydesk",
        "tune-model-gpu": "copydesk-gpu",
    }
    gpu = next(d for d in deployments() if d["name"] == "generate-batch-gpu")
    assert gpu["work_pool"]["job_variables"]["env"]["COPYDESK_TEXT_DEVICE"] == "cuda"
    assert gpu["concurrency_limit"] == 1


def test_the_compose_deploy_job_creates_the_pools_the_deployments_use() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    script = compose["services"]["deploy"]["command"][0]
    for pool in {d["work_pool"]["name"] for d in deployments()}:
        assert f"prefect work-pool create {pool} --type process" in script
    assert "deploy --all" in script
    worker = compose["services"]["pool-worker"]["command"]
    assert worker[:4] == ["worker", "start", "--pool", "copydesk"]
