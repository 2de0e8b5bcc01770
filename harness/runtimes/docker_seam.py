"""The one seam through which the harness talks to a Docker engine.

Everything Docker goes through ``client()`` here: unit tests patch that one name with a
fake and assert the exact calls (image tag, mounts, network, user, environment). The
``docker`` package is imported lazily so that the venv backend works without it.
"""

from __future__ import annotations

import socket
from typing import Any

# How long one API call may take. Builds stream for many minutes with long silences
# (pip downloading a 200 MB wheel prints nothing), so the default is generous; a ping
# uses a short one.
API_TIMEOUT_S = 3600


class EngineUnavailable(Exception):
    """The docker package is missing or no engine answers; ``str()`` says which."""


def client(timeout: float = API_TIMEOUT_S) -> Any:
    """A ``docker.DockerClient`` for the engine of DOCKER_HOST (or the local socket)."""
    try:
        import docker
    except ImportError:
        raise EngineUnavailable("the Python package `docker` is not installed (pip install docker)") from None
    try:
        return docker.from_env(timeout=int(timeout))
    except docker.errors.DockerException as exc:
        raise EngineUnavailable(str(exc)) from None


def errors() -> Any:
    """``docker.errors`` (NotFound, ImageNotFound, APIError, BuildError, DockerException)."""
    import docker.errors

    return docker.errors


def timeout_errors() -> tuple[type[BaseException], ...]:
    """What an API call raises when its read timeout passes (requests wraps urllib3)."""
    import requests.exceptions

    return (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError)


def raw_socket(attached: Any) -> socket.socket:
    """The plain socket under what ``attach_socket`` returns (a SocketIO over a unix socket,
    or the socket itself), so that stdin can be written and half-closed."""
    return getattr(attached, "_sock", attached)  # type: ignore[no-any-return]
