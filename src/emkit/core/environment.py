"""What a result was made with (``emkit --version``): emkit's version and the environment it runs in, read from
installed packages' metadata without importing them, so asking costs milliseconds, not torch's import."""

from __future__ import annotations

import hashlib
import platform
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

#: the packages whose versions change emkit's numbers
PACKAGES: tuple[str, ...] = ("torch", "transformers", "peft")


@dataclass(frozen=True)
class Environment:
    emkit: str
    source: Path  # where emkit is imported from (a checkout's src/, or site-packages)
    python: str
    implementation: str
    executable: str
    platform: str
    packages: dict[str, str | None]  # name -> installed version, None where it is not installed
    #: lock file -> its digest (sha256 of the file, first 12 hex, as ``tools/lockfile.py digest`` prints it),
    #: for a source checkout that carries requirements/*.lock; empty for an installed wheel
    locks: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"emkit": self.emkit, "source": str(self.source), "python": self.python,
                "implementation": self.implementation, "executable": self.executable, "platform": self.platform, "packages": self.packages,
                "locks": self.locks}


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def checkout_locks(package_dir: Path) -> dict[str, str]:
    """The digests of ``requirements/*.lock`` beside the source tree emkit runs from (``<root>/src/emkit``), the
    locks a figure names its environment by; none for an installed package. They say which locks this checkout
    holds, not that the environment was installed from them."""
    root = package_dir.parent.parent
    folder = root / "requirements"
    if package_dir.parent.name != "src" or not (root / "pyproject.toml").is_file() or not folder.is_dir():
        return {}
    return {f"requirements/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()[:12]
            for p in sorted(folder.glob("*.lock"))}


def describe() -> Environment:
    import emkit

    package_dir = Path(emkit.__file__).resolve().parent
    return Environment(emkit.__version__, package_dir, platform.python_version(), platform.python_implementation(),
                       sys.executable, platform.platform(), {p: _version(p) for p in PACKAGES}, checkout_locks(package_dir))

