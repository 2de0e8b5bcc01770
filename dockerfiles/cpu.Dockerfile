# One Paddle runtime (CPU). Built by harness/backends/docker.py; every ARG comes from
# matrix.yaml or the host environment, and the image tag is a hash of this file plus them.
#
# Works on the official python:3.X-slim images and on the ones `nox -s base-images`
# builds from Debian with debootstrap (same tags): both have `python3.X` on PATH.
ARG BASE_IMAGE=python:3.11-slim

# ---- the base plus what Paddle's wheels load but do not ship ---------------------------
# libgomp (OpenMP) is not in python:3.X-slim; the images `nox -s base-images` builds have
# it already, so they need no package mirror here.
FROM ${BASE_IMAGE} AS runtime-base
RUN set -eu; \
    if ! ldconfig -p | grep -q 'libgomp\.so\.1'; then \
        apt-get update; \
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libgomp1; \
        rm -rf /var/lib/apt/lists/*; \
    fi

# ---- builder: the only stage that sees the index settings and the CA bundle -----------
FROM runtime-base AS builder
ARG PYTHON=3.11
# Read by pip from the environment. Build args are recorded in this stage's history only;
# the final stage below never declares them, so credentials in an index URL stay out of it.
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_TRUSTED_HOST
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_DEFAULT_TIMEOUT=180
# An empty file when the host gave no CA bundle.
COPY ca-bundle.crt /tmp/harness/ca-bundle.crt
COPY requirements.txt /tmp/harness/requirements.txt
RUN set -eu; \
    if [ -s /tmp/harness/ca-bundle.crt ]; then \
        export PIP_CERT=/tmp/harness/ca-bundle.crt SSL_CERT_FILE=/tmp/harness/ca-bundle.crt; \
    fi; \
    "python${PYTHON}" -m venv /opt/venv; \
    /opt/venv/bin/python -m pip install --quiet --upgrade pip; \
    /opt/venv/bin/python -m pip install -r /tmp/harness/requirements.txt

# ---- the runtime: the base image, the venv, the in-runtime code; nothing else ---------
FROM runtime-base
COPY --from=builder /opt/venv /opt/venv
# The in-runtime code (harness/inside) is part of the image and of its tag, so an image
# is a complete runtime that can be pushed and run elsewhere without the host's checkout.
COPY harness-code /opt/harness-code
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/opt/harness-code \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp
LABEL org.opencontainers.image.title="paddle-export-harness runtime"
CMD ["python", "-m", "harness.inside", "probe"]
