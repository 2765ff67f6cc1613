"""The command line's layout (issue 26): one module per command group, assembled in emkit.cli.main, and every
table and --json output rendered by emkit.cli.render alone."""

from __future__ import annotations

import ast
from pathlib import Path

from typer.testing import CliRunner

SRC = Path(__file__).resolve().parents[1] / "src" / "emkit"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_only_the_render_module_builds_tables_or_prints_json() -> None:
    for f in SRC.rglob("*.py"):
        if f == SRC / "cli" / "render.py":
            continue
        imports = _imports(f)
        assert "rich.table" not in imports, f"{f} builds rich tables; they belong in emkit.cli.render"
        if f.parent == SRC / "cli":
            assert "rich.console" not in imports, f"{f} prints through rich; that is emkit.cli.render's"


def test_main_only_assembles_the_groups() -> None:
    tree = ast.parse((SRC / "cli" / "main.py").read_text())
    assert not [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]


def test_the_same_commands_in_the_same_order() -> None:
    from emkit.cli import app
    from emkit.cli.main import app as main_app

    assert app is main_app
    import typer

    root = typer.main.get_command(app)
    assert list(root.commands) == ["run", "view", "interp", "steer", "ablate", "project", "phases", "sweep", "screen",
                                   "runs", "data", "sae", "toy", "directions", "models", "judge"]
    subs = {name: list(root.commands[name].commands) for name in ("runs", "data", "sae", "toy", "directions",
                                                                   "models", "judge")}
    assert subs == {"runs": ["list", "show", "rm"], "data": ["list", "card", "build", "validate", "convert", "inspect"],
                    "sae": ["train", "diff", "causal", "reroute", "info"], "toy": ["build", "truth"],
                    "directions": ["extract", "lora", "compare", "matrix", "scale-adapter", "icl"],
                    "models": ["list"], "judge": ["calibrate", "labels", "distill", "calibration-set", "compare", "score"]}
    assert sum(map(len, subs.values())) + 9 == 38
    out = CliRunner().invoke(app, ["--help"])
    assert out.exit_code == 0 and all(name in out.output for name in root.commands)
    assert CliRunner().invoke(app, []).exit_code == 2  # no_args_is_help


def test_an_error_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    from emkit.cli import app

    out = CliRunner().invoke(app, ["steer", str(tmp_path), "--direction", str(tmp_path / "d"), "--layer", "a,b"])
    assert out.exit_code == 2 and out.output == "error: expected comma-separated numbers, got 'a,b'\n"
    out = CliRunner().invoke(app, ["data", "card", "no-such-set"])
    assert out.exit_code == 2 and out.output.startswith("error: unknown built-in dataset 'no-such-set'")
