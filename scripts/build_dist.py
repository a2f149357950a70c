"""
Build the sdist and the wheel of this project into OUTDIR, writing nothing into the work tree.

    python scripts/build_dist.py OUTDIR

The project is copied to a temporary directory first (without version control, environments,
caches and earlier build output), then ``python -m build`` (the running interpreter's ``build``)
makes the sdist and, from it, the wheel. scripts/test builds them once a run (the wheel for the
smoke environments, both for tests/packaging, through MI_DIST_DIR); tests/packaging builds them
itself when run without it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Not copied for the build: version control, environments, caches and earlier build output.
COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venvs",
    ".demo",
    "*_cache",
    ".hypothesis",
    "__pycache__",
    "build",
    "dist",
    "*.egg-info",
)


def build(outdir: Path, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
    """Build into ``outdir``; return the finished ``python -m build`` (output captured)."""
    with tempfile.TemporaryDirectory(prefix="mi-build-") as tmp:
        source = Path(tmp) / "project"
        shutil.copytree(ROOT, source, ignore=COPY_IGNORE)
        return subprocess.run(
            [sys.executable, "-m", "build", "--outdir", str(outdir), str(source)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            start_new_session=True,
        )


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    process = build(Path(sys.argv[1]).resolve())
    if process.returncode != 0:
        print(process.stdout + process.stderr, file=sys.stderr)
    return process.returncode


if __name__ == "__main__":
    sys.exit(main())
