"""The Docker backend's images: what goes into one (Dockerfile, requirements, base image,
index settings, the CA bundle for the builder stage only, the in-runtime code) and the
content-hashed tag ``paddle-harness:<runtime>-<hash>`` that names it.

One image per runtime, Paddle runtime or deployment consumer alike: the requirements are
the runtime's own list (``Runtime.requirements`` / ``Deployment.requirements``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any, Mapping

import harness
from harness.config.deployments import Buildable
from harness.config.matrix import PYPI
from harness.errors import BackendError
from harness.runtimes import inside_code

REPOSITORY = "paddle-harness"
GPU_BASE = "nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04"
# Passed to the build as they are; the engine keeps these predefined build args out of
# the image history.
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
CA_VARS = ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
CA_IN_CONTAINER = "/tmp/harness/ca-bundle.crt"  # where the build puts it too


def dockerfiles_dir() -> Path:
    """dockerfiles/ of the checkout (the package is run from it or installed from it)."""
    candidates = [Path(os.environ.get("HARNESS_DOCKERFILES", "")), Path(harness.__file__).parents[1] / "dockerfiles"]
    candidates.append(Path.cwd() / "dockerfiles")
    for path in candidates:
        if str(path) not in ("", ".") and (path / "cpu.Dockerfile").is_file():
            return path
    raise BackendError(
        "the Docker backend cannot find dockerfiles/cpu.Dockerfile",
        "run from the repository checkout, or set HARNESS_DOCKERFILES to its dockerfiles/ directory",
    )


def dockerfile(rt: Buildable) -> Path:
    return dockerfiles_dir() / f"{rt.device}.Dockerfile"


def base_image(rt: Buildable) -> str:
    if rt.base_image:
        return rt.base_image
    return GPU_BASE if rt.device == "gpu" else f"python:{rt.python}-slim"


def requirements(rt: Buildable) -> list[str]:
    return rt.requirements


def image_spec(rt: Buildable) -> dict[str, Any]:
    """Everything that decides an image's content; the tag is its hash. Host index and
    proxy settings are left out on purpose: a mirror serves the same wheels."""
    return {
        "dockerfile": dockerfile(rt).read_text(encoding="utf-8"),
        "requirements": requirements(rt),
        "index_url": rt.index_url,
        "base_image": base_image(rt),
        "python": rt.python,
        "device": rt.device,
        "code": inside_code.code_hash(),
    }


def image_tag(rt: Buildable) -> str:
    digest = hashlib.sha256(json.dumps(image_spec(rt), sort_keys=True).encode()).hexdigest()[:12]
    return f"{REPOSITORY}:{rt.id}-{digest}"


def pip_build_args(rt: Buildable, environ: Mapping[str, str]) -> dict[str, str]:
    """pip's index settings for the build: matrix.yaml's index_url for Paddle, and the
    host's PIP_INDEX_URL (a PyPI mirror), PIP_EXTRA_INDEX_URL and PIP_TRUSTED_HOST.
    file:// indexes are dropped: a container cannot see the host's paths."""

    def reachable(urls: str) -> list[str]:
        return [u for u in urls.split() if not u.startswith("file:")]

    pypi = (reachable(environ.get("PIP_INDEX_URL", "")) or [PYPI])[0]
    extras = reachable(environ.get("PIP_EXTRA_INDEX_URL", ""))
    index = pypi
    if rt.index_url != PYPI:  # Paddle's index first, PyPI (or its mirror) for the rest
        index, extras = rt.index_url, [pypi, *extras]
    args = {"PIP_INDEX_URL": index}
    if extras:
        args["PIP_EXTRA_INDEX_URL"] = " ".join(dict.fromkeys(extras))
    if environ.get("PIP_TRUSTED_HOST"):
        args["PIP_TRUSTED_HOST"] = environ["PIP_TRUSTED_HOST"]
    args.update({k: environ[k] for k in PROXY_VARS if environ.get(k)})
    return args


def ca_bundle(environ: Mapping[str, str]) -> Path | None:
    """The host's CA bundle for the build (a corporate proxy that re-signs TLS needs it)."""
    for var in CA_VARS:
        path = Path(environ.get(var, ""))
        if environ.get(var) and path.is_file():
            return path
    return None


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # Readable by the unprivileged user the consumers run as, whatever the host's umask.
    info.mode = 0o755 if info.isdir() else 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = _normalise(tarfile.TarInfo(name))
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def build_context(rt: Buildable, work: Path, environ: Mapping[str, str]) -> io.BytesIO:
    """The build context as a tar: Dockerfile, requirements.txt, the CA bundle (empty when
    none), and the staged in-runtime code. Nothing else of the host goes in."""
    ca = ca_bundle(environ)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add_bytes(tar, "Dockerfile", dockerfile(rt).read_bytes())
        _add_bytes(tar, "requirements.txt", ("\n".join(requirements(rt)) + "\n").encode())
        _add_bytes(tar, "ca-bundle.crt", ca.read_bytes() if ca else b"")
        tar.add(str(inside_code.stage(work)), arcname="harness-code", filter=_normalise)
    buf.seek(0)
    return buf


def image_size(client: Any, tag: str) -> int | None:
    """The image's size in bytes, as `docker images` shows it."""
    size = client.images.get(tag).attrs.get("Size")
    return int(size) if size is not None else None


def megabytes(size: int | None) -> str:
    return "size unknown" if size is None else f"{size / 1e6:.0f} MB"
