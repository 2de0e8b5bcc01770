"""Python base images built here from Debian, for engines that cannot reach a registry.

    python -m harness.runtimes.base_images [--suites bullseye,bookworm,trixie] [--mirror URL] [--force]

Each suite is bootstrapped with ``debootstrap --variant=minbase`` plus Python, venv, pip
and CA certificates, trimmed, and imported with ``docker import`` under the tag the
Dockerfiles use by default (``python:3.X-slim``), labelled as built locally. Needs root,
debootstrap and a reachable Debian mirror; a suite whose image exists is skipped.

``provide`` is the one way images get onto the engine: this command calls it, and so does
``python -m harness matrix`` on the Docker backend for the base images its runtimes build on
(there it first tries a registry pull). Besides ``python:3.X-slim``, a runtime may name
``paddle-harness-base:<suite>[-<anything>]`` as its ``base_image``: always built here from
that Debian suite, never pulled.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

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
# Images only this harness makes (never pulled): paddle-harness-base:<suite>[-<suffix>].
LOCAL_REPOSITORY = "paddle-harness-base"
DEBOOTSTRAP_TIMEOUT_S = 1800


def tag_for(suite: str) -> str:
    return f"python:{SUITES[suite]}-slim"


def suite_for(tag: str) -> str | None:
    """The Debian suite an image can be built from here, or None when it cannot be:
    ``python:3.X-slim`` for the Pythons of SUITES, ``paddle-harness-base:<suite>[-...]``."""
    repository, _, version = tag.rpartition(":")
    if repository == "python":
        return next((s for s in SUITES if tag_for(s) == tag), None)
    if repository == LOCAL_REPOSITORY:
        return next((s for s in SUITES if version == s or version.startswith(f"{s}-")), None)
    return None


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


def build_one(tag: str, mirror: str, scratch: Path) -> str:
    """Bootstrap the tag's Debian suite and import it under the tag; a line saying so."""
    suite = suite_for(tag)
    if suite is None:
        raise BackendError(f"{tag} cannot be built here", f"use python:3.X-slim ({', '.join(SUITES.values())})")
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f"{suite}-", dir=scratch))
    root, tar = work / "root", work / "rootfs.tar"
    try:
        bootstrap(suite, root, mirror)
        res = seam.run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(tar), "."], timeout=600)
        if not res.ok:
            raise BackendError(f"could not pack the {suite} root file system: {res.stderr.strip()}")
        shutil.rmtree(root)
        repository, version = tag.rsplit(":", 1)
        docker_seam.client().api.import_image_from_file(
            str(tar), repository=repository, tag=version, changes=import_changes(suite, mirror)
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return f"{tag}: built from Debian {suite} in {time.monotonic() - started:.0f} s"


def check_host() -> None:
    if not shutil.which("debootstrap"):
        raise BackendError("debootstrap is not installed", "apt-get install debootstrap")
    if os.geteuid() != 0:
        raise BackendError("debootstrap needs root", "run it as root, e.g. sudo python -m harness.runtimes.base_images")


def pull(tag: str) -> str:
    """Pull one image from its registry; '' when it came, otherwise the engine's error."""
    repository, _, version = tag.rpartition(":")
    if not repository or "/" in version:  # no tag given: the reference is the repository
        repository, version = tag, "latest"
    try:
        docker_seam.client().images.pull(repository, tag=version)
    except (docker_seam.errors().DockerException, *docker_seam.timeout_errors()) as exc:
        return " ".join(str(exc).split())
    return ""


@dataclass
class Provided:
    """What ``provide`` did: the images that were there, a line per image pulled or built,
    and why each image still missing is."""

    kept: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)


def provide(
    tags: Sequence[str], *, mirror: str = MIRROR, force: bool = False, pull_first: bool = False, jobs: int = 0
) -> Provided:
    """Get every image onto the engine: kept when it is there (unless ``force``), else pulled
    (``pull_first``; never ``paddle-harness-base:*``), else built from Debian where ``suite_for``
    knows how (root and debootstrap). Builds run in parallel: debootstrap mostly waits on
    the network. Never raises for an image it cannot get: ``missing`` says why."""
    done = Provided()
    client = docker_seam.client()
    wanted: list[str] = []
    for tag in dict.fromkeys(tags):
        if not force and has_image(client, tag):
            done.kept.append(tag)
        else:
            wanted.append(tag)
    pull_errors: dict[str, str] = {}
    if pull_first:
        wanted = [tag for tag in wanted if not _pulled(tag, done, pull_errors)]
    buildable = [t for t in wanted if suite_for(t)]
    for tag in wanted:
        if not suite_for(tag):
            done.missing[tag] = _why(pull_errors.get(tag), "the harness has no recipe to build it here")
    if buildable:
        try:
            check_host()
        except BackendError as exc:
            cannot = f"it cannot be built from Debian here: {exc.message}" + (f" ({exc.remedy})" if exc.remedy else "")
            for tag in buildable:
                done.missing[tag] = _why(pull_errors.get(tag), cannot)
            return done
        for tag in buildable:
            console.say(f"[base-images] {tag}: building it from Debian {suite_for(tag)} (debootstrap, {mirror})")
        _build_all(buildable, mirror, jobs or len(buildable), done, pull_errors)
    return done


def _pulled(tag: str, done: Provided, pull_errors: dict[str, str]) -> bool:
    if tag.startswith(f"{LOCAL_REPOSITORY}:"):
        return False  # made here only: no registry has it
    console.say(f"[base-images] {tag}: not on this engine; pulling it")
    error = pull(tag)
    if error:
        pull_errors[tag] = error
        return False
    done.lines.append(f"{tag}: pulled")
    return True


def _why(pull_error: str | None, then: str) -> str:
    return f"pulling it failed ({pull_error}), and {then}" if pull_error else then


def _build_all(tags: list[str], mirror: str, jobs: int, done: Provided, pull_errors: dict[str, str]) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="harness-base-images-"))
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {tag: pool.submit(build_one, tag, mirror, scratch) for tag in tags}
            for tag, future in futures.items():
                try:
                    done.lines.append(future.result())
                except (HarnessError, docker_seam.errors().DockerException) as exc:
                    done.missing[tag] = _why(pull_errors.get(tag), f"building it from Debian failed: {exc}")
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
        done = provide([tag_for(s) for s in suites], mirror=args.mirror, force=args.force, jobs=args.jobs)
    except docker_seam.EngineUnavailable as exc:
        console.error(f"error: no Docker engine answers: {exc}\n  TIP: start dockerd first")
        return BackendError.exit_code
    except HarnessError as exc:
        console.error(f"error: {exc}")
        return exc.exit_code
    for tag in done.kept:
        console.say(f"{tag}: already on this engine, kept (--force rebuilds it)")
    for line in done.lines:
        console.say(line)
    for tag, why in done.missing.items():
        console.error(f"error: {tag}: {why}")
    return BackendError.exit_code if done.missing else 0


if __name__ == "__main__":
    sys.exit(main())
