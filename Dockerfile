# syntax=docker/dockerfile:1
# The one image behind every project service in docker-compose.yml (topics-init, db-migrate,
# worker, webhooks, sink, api): `cobranca <command>` is chosen by the service's `command`.
#
#   docker build -t cobranca:0.1.0 .
#
# Everything is installed at the versions pinned in requirements-runtime.lock, then the project
# itself without resolving anything again. That lock is the runtime's part of requirements.lock,
# without the dev tools (`uv pip compile pyproject.toml -c requirements.lock ... -o
# requirements-runtime.lock`, its first lines say how); tests/unit/test_locks.py keeps the two in
# step.
#
# PyTorch from PyPI brings CUDA libraries (several GB). On CPU-only hosts pass the CPU wheel index:
#   docker build --build-arg TORCH_INDEX_URL=<PyTorch CPU wheel index URL> -t cobranca:0.1.0 .
# (`torch==X` in the lock accepts the index's `X+cpu` build: a local version label does not count.)

FROM python:3.11-slim AS build
ARG TORCH_INDEX_URL=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The lock alone first: its layer (the slow one) is reused until the lock changes.
COPY requirements-runtime.lock .
RUN python -m venv /opt/cobranca \
 && /opt/cobranca/bin/pip install --upgrade pip \
 && /opt/cobranca/bin/pip install ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} \
      -r requirements-runtime.lock
COPY . .
RUN /opt/cobranca/bin/pip install --no-deps .

FROM python:3.11-slim
ENV PATH=/opt/cobranca/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    COBRANCA_DATA_DIR=/var/lib/cobranca \
    COBRANCA_LOG_FORMAT=json \
    HF_HOME=/var/lib/cobranca/huggingface
RUN groupadd --system --gid 10001 cobranca \
 && useradd --system --uid 10001 --gid cobranca --home-dir /var/lib/cobranca --shell /usr/sbin/nologin cobranca \
 && mkdir -p /var/lib/cobranca \
 && chown cobranca:cobranca /var/lib/cobranca
COPY --from=build /opt/cobranca /opt/cobranca
USER cobranca:cobranca
WORKDIR /var/lib/cobranca
# docker-compose.yml mounts named volumes here for the stateful services; a new named volume
# takes this directory's owner (cobranca), so state stays writable without root.
EXPOSE 8080 9100
CMD ["cobranca", "--help"]
