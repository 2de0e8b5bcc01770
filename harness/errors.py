"""Typed errors with remedies; one top-level handler maps them to exit codes."""

from __future__ import annotations


class HarnessError(Exception):
    """An error a user can act on. ``str()`` says what is wrong and what to do."""

    exit_code = 2

    def __init__(self, message: str, remedy: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy

    def __str__(self) -> str:
        return f"{self.message}\n  TIP: {self.remedy}" if self.remedy else self.message


class ConfigError(HarnessError):
    exit_code = 3

    def __init__(self, source: str, problems: list[str]) -> None:
        bullets = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{source} has {len(problems)} problem(s):\n{bullets}",
            "fix the keys named above; README.md documents every key of matrix.yaml",
        )
        self.problems = problems


class RuntimeUnavailable(HarnessError):
    """A runtime cannot be built here; its cells become `unavailable`, the rest run."""

    exit_code = 4


class BackendError(HarnessError):
    """The backend itself (uv, Docker engine) is missing or broken."""

    exit_code = 5

