"""Stage the in-runtime code into the work directory.

Runtimes get a PYTHONPATH holding only this copy: pointing them at the host's
site-packages would leak the host's numpy/pandas into every runtime.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

import harness

PACKAGE_DIR = Path(harness.__file__).parent
INSIDE_FILES = sorted(p for p in (PACKAGE_DIR / "inside").glob("*.py"))


def code_hash() -> str:
    digest = hashlib.sha256()
    for path in [PACKAGE_DIR / "__init__.py", *INSIDE_FILES]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def stage(work: Path) -> Path:
    """Copy harness/__init__.py + harness/inside/*.py to work/code/<hash>/; return the root."""
    root = work / "code" / code_hash()
    if root.exists():
        return root
    # Copy to a private directory and rename: phases running in parallel threads
    # must never see a half-copied tree.
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".stage-", dir=root.parent))
    (tmp / "harness" / "inside").mkdir(parents=True)
    shutil.copy2(PACKAGE_DIR / "__init__.py", tmp / "harness" / "__init__.py")
    for path in INSIDE_FILES:
        shutil.copy2(path, tmp / "harness" / "inside" / path.name)
    try:
        tmp.rename(root)
    except OSError:  # another thread won the race; its copy is identical
        shutil.rmtree(tmp, ignore_errors=True)
    return root
