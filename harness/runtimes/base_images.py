"""Python base images built here from Debian, for engines that cannot reach a registry.

    python -m harness.runtimes.base_images [--suites bullseye,bookworm,trixie] [--mirror URL] [--force]

Each suite is bootstrapped with ``debootstrap --variant=minbase`` plus Python, venv, pip
and CA certificates, trimmed, and imported with ``docker import`` under the tag the
Dockerfiles use by default (``python:3.X-slim``), labelled as built locally. Needs root,
debootstrap and a reachable Debian mirror; a suite whose image exists is skipped.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.console import console
from harness.errors import BackendError, HarnessError
from harness.runtimes import docker_seam, seam

# Debian suite -> the Python 3 it ships.
SUITES = {"bullseye": "3.9", "bookworm": "3.11", "trixie": "3.13"}
# libgomp1: Paddle's wheels load OpenMP without shipping it; having it here means the
# Dockerfiles need no package mirror on these bases.
PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates", "libgomp1")
MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
LABEL = "paddle-harness.base-image"
DEBOOTSTRAP_TIMEOUT_S = 1800


def tag_for(suite: str) -> str:
    return f"python:{SUITES[suite]}-slim"


def debootstrap_argv(suite: str, root: Path, mirror: str) -> list[str]:
    return ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", suite, str(root), mirror]


def import_changes(suite: str, mirror: str) -> list[str]:
    """Dockerfile instructions applied by ``docker import``: what python:3.X-slim sets."""
    return [
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV LANG=C.UTF-8",
        f'LABEL {LABEL}="debootstrap --variant=minbase {suite} {mirror}"',
        'CMD ["python3"]',
    ]


def has_image(client: object, tag: str) -> bool:
    try:
        client.images.get(tag)  # type: ignore[attr-defined]
    except docker_seam.errors().ImageNotFound:
        return False
    return True


def trim(root: Path) -> None:
    """Package caches and index lists: megabytes no runtime needs."""
    for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*_*"):
        for path in root.glob(pattern):
            path.unlink()


def bootstrap(suite: str, root: Path, mirror: str) -> None:
    res = seam.run(debootstrap_argv(suite, root, mirror), timeout=DEBOOTSTRAP_TIMEOUT_S)
    if not res.ok:
        log = root / "debootstrap" / "debootstrap.log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else (res.stderr or res.stdout)[-2000:]
        raise BackendError(
            f"debootstrap {suite} failed{' (timed out)' if res.timed_out else ''}:\n{detail}",
            f"check that {mirror} is reachable (set DEBIAN_MIRROR or --mirror to a mirror that is)",
        )
    trim(root)


def build_one(suite: str, mirror: str, scratch: Path, force: bool) -> str:
    """Build and import one suite's image; a line saying what happened."""
    client = docker_seam.client()
    tag = tag_for(suite)
    if not force and has_image(client, tag):
        return f"{tag}: already on this engine, kept (--force rebuilds it)"
    started = time.monotonic()
    root, tar = scratch / suite, scratch / f"{suite}.tar"
    try:
        bootstrap(suite, root, mirror)
        res = seam.run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(tar), "."], timeout=600)
        if not res.ok:
            raise BackendError(f"could not pack the {suite} root file system: {res.stderr.strip()}")
        shutil.rmtree(root)
        repository, version = tag.split(":")
        client.api.import_image_from_file(
            str(tar), repository=repository, tag=version, changes=import_changes(suite, mirror)
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
        tar.unlink(missing_ok=True)
    return f"{tag}: built from Debian {suite} in {time.monotonic() - started:.0f} s"


def check_host() -> None:
    if not shutil.which("debootstrap"):
        raise BackendError("debootstrap is not installed", "apt-get install debootstrap")
    if os.geteuid() != 0:
        raise BackendError("debootstrap needs root", "run it as root, e.g. sudo python -m harness.runtimes.base_images")


def build_all(suites: list[str], mirror: str, force: bool, jobs: int) -> list[str]:
    """Build the suites in parallel (debootstrap mostly waits on the network)."""
    scratch = Path(tempfile.mkdtemp(prefix="harness-base-images-"))
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(build_one, suite, mirror, scratch, force) for suite in suites]
            return [future.result() for future in futures]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m harness.runtimes.base_images", description=__doc__.split("\n\n")[0])
    top.add_argument("--suites", default=",".join(SUITES), help="Debian suites (default: %(default)s)")
    top.add_argument("--mirror", default=MIRROR, help="Debian mirror (default: $DEBIAN_MIRROR or %(default)s)")
    top.add_argument("--force", action="store_true", help="rebuild images that exist")
    top.add_argument("--jobs", type=int, default=len(SUITES), help="suites built at once (default: %(default)s)")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    try:
        unknown = [s for s in suites if s not in SUITES]
        if unknown:
            raise BackendError(f"unknown suite(s) {', '.join(unknown)}", f"choose from {', '.join(SUITES)}")
        docker_seam.client().ping()
        missing = [s for s in suites if args.force or not has_image(docker_seam.client(), tag_for(s))]
        if missing:
            check_host()
        for line in build_all(suites, args.mirror, args.force, args.jobs):
            console.say(line)
    except docker_seam.EngineUnavailable as exc:
        console.error(f"error: no Docker engine answers: {exc}\n  TIP: start dockerd first")
        return BackendError.exit_code
    except HarnessError as exc:
        console.error(f"error: {exc}")
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
