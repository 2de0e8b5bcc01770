"""Containers that always clean up, and a long-lived container that looks like a Popen.

A container is created from a spec (the keyword arguments of ``containers.create``), has
a unique name, and is removed on every way out: normal exit, exception, Ctrl-C, and
interpreter exit for the long-lived ones. ``HARNESS_KEEP_CONTAINERS=1`` keeps them for
debugging (``docker ps -a --filter label=paddle-harness.runtime``).
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import socket
import threading
from typing import IO, Any, Callable, Iterator

from harness.console import console
from harness.errors import BackendError
from harness.runtimes import docker_seam, seam

KEEP_ENV = "HARNESS_KEEP_CONTAINERS"
# Containers started by DockerProcess and not yet removed; removed at interpreter exit
# so an interrupted run leaves nothing behind.
_LIVE: dict[str, Any] = {}
_LIVE_LOCK = threading.Lock()


def keep_containers() -> bool:
    return os.environ.get(KEEP_ENV, "") not in ("", "0")


def remove(box: Any) -> None:
    """Force-remove a container (kills it if it still runs), unless asked to keep it."""
    with _LIVE_LOCK:
        _LIVE.pop(box.id, None)
    if keep_containers():
        console.warn(f"kept container {box.name} ({KEEP_ENV} is set)")
        return
    with contextlib.suppress(docker_seam.errors().NotFound, docker_seam.errors().APIError):
        box.remove(force=True)


def _remove_all_live() -> None:
    for box in list(_LIVE.values()):
        remove(box)


atexit.register(_remove_all_live)
seam.on_interrupt(_remove_all_live)  # Ctrl-C: running containers are killed and removed at once


def create(client: Any, spec: dict[str, Any]) -> Any:
    seam.refuse_when_interrupted(f"container {spec.get('name', '')}")
    try:
        box = client.containers.create(**spec)
        with _LIVE_LOCK:
            _LIVE[box.id] = box
        return box
    except docker_seam.errors().ImageNotFound:
        runtime = spec.get("labels", {}).get("paddle-harness.runtime", "?")
        raise BackendError(
            f"image {spec['image']} is not on this Docker engine",
            f"build it first: python -m harness build {runtime} --backend docker",
        ) from None


@contextlib.contextmanager
def container(client: Any, spec: dict[str, Any]) -> Iterator[Any]:
    """A created (not started) container, removed on every way out of the block."""
    box = create(client, spec)
    try:
        yield box
    finally:
        remove(box)


def kill(box: Any) -> None:
    """SIGKILL; a container that already exited (409) or is gone is fine."""
    with contextlib.suppress(docker_seam.errors().NotFound, docker_seam.errors().APIError):
        box.kill()


def wait(box: Any, timeout: float) -> int | None:
    """The exit code, or None after killing a container that ran past ``timeout``."""
    try:
        return int(box.wait(timeout=timeout)["StatusCode"])
    except docker_seam.timeout_errors():
        kill(box)
        box.wait(timeout=60)
        return None


# ---------------------------------------------------------------- the attach stream
STDOUT, STDERR = 1, 2


def read_exactly(recv: Callable[[int], bytes], size: int) -> bytes:
    """``size`` bytes, or fewer only at end of stream."""
    chunks: list[bytes] = []
    while size > 0:
        chunk = recv(min(size, 65536))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def demultiplex(recv: Callable[[int], bytes], stdout_fd: int, stderr: IO[bytes]) -> None:
    """Split the attach stream of a container without a TTY: each frame is an 8-byte
    header (stream id, 3 zero bytes, big-endian length) and its payload. stdout frames
    go to ``stdout_fd`` (a pipe the host reads lines from), stderr frames to ``stderr``.
    Closes ``stdout_fd`` at end of stream, which the reader sees as EOF."""
    try:
        while True:
            header = read_exactly(recv, 8)
            if len(header) < 8:
                return
            payload = read_exactly(recv, int.from_bytes(header[4:8], "big"))
            if header[0] == STDERR:
                stderr.write(payload)
                stderr.flush()
            else:
                _write_all(stdout_fd, payload)
    except OSError:
        return  # the socket was closed under us: the container is gone
    finally:
        os.close(stdout_fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class SocketStdin(io.RawIOBase):
    """The container's stdin: writes go straight to the attach socket; ``close()``
    half-closes it, which the engine passes on as EOF (the container has StdinOnce)."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.sock.sendall(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_WR)
        super().close()


class DockerProcess:
    """A started container with stdin/stdout attached, shaped like ``subprocess.Popen``
    (``stdin``, ``stdout``, ``poll``, ``wait``, ``kill``) for the worker protocol.

    Exit codes are the container's: with ``init: True`` a child killed by signal N
    exits 128+N, which ``seam.signal_name`` reads as that signal. The container is
    removed once ``wait`` has its exit code."""

    ATTACH = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}

    def __init__(self, client: Any, spec: dict[str, Any], stderr: IO[bytes]) -> None:
        self.box = create(client, spec)
        self.returncode: int | None = None
        try:
            # Attach before start, so not a byte of output is missed.
            self._attached = self.box.attach_socket(params=dict(self.ATTACH))
            sock = docker_seam.raw_socket(self._attached)
            read_fd, write_fd = os.pipe()
            self.stdout: IO[bytes] = os.fdopen(read_fd, "rb")
            self.stdin: IO[bytes] = SocketStdin(sock)  # type: ignore[assignment]
            self._pump = threading.Thread(target=demultiplex, args=(sock.recv, write_fd, stderr), daemon=True)
            self._pump.start()
            self.box.start()
        except BaseException:
            remove(self.box)
            raise

    @property
    def name(self) -> str:
        return str(self.box.name)

    def poll(self) -> int | None:
        # The attach stream ends when the container exits.
        if self.returncode is None and not self._pump.is_alive():
            return self.wait(timeout=30)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                status = self.box.wait(timeout=timeout if timeout is not None else docker_seam.API_TIMEOUT_S)
            except docker_seam.timeout_errors():
                raise TimeoutError(f"container {self.name} still runs after {timeout} s") from None
            self._pump.join(timeout=30)  # the last stderr frames reach the log first
            self.returncode = int(status["StatusCode"])
            remove(self.box)
        return self.returncode

    def kill(self) -> None:
        kill(self.box)
