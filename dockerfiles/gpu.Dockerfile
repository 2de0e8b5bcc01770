# One Paddle runtime (GPU). Same contract as cpu.Dockerfile, on an NVIDIA CUDA runtime base
# (override per runtime with `base_image:` in matrix.yaml to match the wheel's CUDA/cuDNN).
# It runs only where the engine has the nvidia runtime; elsewhere its cells are skipped.
ARG BASE_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04

# ---- the CUDA base plus Python ------------------------------------------------------------
# A base that already has python3.X (an internal CUDA+Python image) is used as it is;
# otherwise Python comes from Ubuntu, or the deadsnakes PPA for versions Ubuntu lacks.
# libgomp (OpenMP) is loaded by Paddle's wheels and not shipped with them.
FROM ${BASE_IMAGE} AS runtime-base
ARG PYTHON=3.11
ENV DEBIAN_FRONTEND=noninteractive
RUN set -eu; \
    if ! command -v "python${PYTHON}" >/dev/null; then \
        apt-get update; \
        if ! apt-cache show "python${PYTHON}-venv" >/dev/null 2>&1; then \
            apt-get install -y --no-install-recommends software-properties-common gpg-agent; \
            add-apt-repository -y ppa:deadsnakes/ppa; \
            apt-get update; \
        fi; \
        apt-get install -y --no-install-recommends "python${PYTHON}" "python${PYTHON}-venv"; \
        rm -rf /var/lib/apt/lists/*; \
    fi; \
    if ! ldconfig -p | grep -q 'libgomp\.so\.1'; then \
        apt-get update; \
        apt-get install -y --no-install-recommends libgomp1; \
        rm -rf /var/lib/apt/lists/*; \
    fi

# ---- builder: the only stage that sees the index settings and the CA bundle -----------
FROM runtime-base AS builder
ARG PYTHON=3.11
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_TRUSTED_HOST
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_DEFAULT_TIMEOUT=180
COPY ca-bundle.crt /tmp/harness/ca-bundle.crt
COPY requirements.txt /tmp/harness/requirements.txt
RUN set -eu; \
    if [ -s /tmp/harness/ca-bundle.crt ]; then \
        export PIP_CERT=/tmp/harness/ca-bundle.crt SSL_CERT_FILE=/tmp/harness/ca-bundle.crt; \
    fi; \
    "python${PYTHON}" -m venv /opt/venv; \
    /opt/venv/bin/python -m pip install --quiet --upgrade pip; \
    /opt/venv/bin/python -m pip install -r /tmp/harness/requirements.txt

# ---- the runtime ------------------------------------------------------------------------
FROM runtime-base
COPY --from=builder /opt/venv /opt/venv
COPY harness-code /opt/harness-code
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/opt/harness-code \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
LABEL org.opencontainers.image.title="paddle-export-harness runtime (GPU)"
CMD ["python", "-m", "harness.inside", "probe"]
