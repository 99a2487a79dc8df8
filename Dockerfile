# syntax=docker/dockerfile:1
# The one image behind every project service in docker-compose.yml (topics-init, db-migrate,
# worker, webhooks, sink, api): `cobranca <command>` is chosen by the service's `command`.
#
#   docker build -t cobranca:0.1.0 .
#
# PyTorch from PyPI brings CUDA libraries (several GB). On CPU-only hosts pass the CPU wheel index:
#   docker build --build-arg TORCH_INDEX_URL=<PyTorch CPU wheel index URL> -t cobranca:0.1.0 .

FROM python:3.11-slim AS build
ARG TORCH_INDEX_URL=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . .
RUN python -m venv /opt/cobranca \
 && /opt/cobranca/bin/pip install --upgrade pip \
 && /opt/cobranca/bin/pip install ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} .

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
