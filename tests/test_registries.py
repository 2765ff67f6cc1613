"""Direction methods and report sections are registries: a method or a section registered in-process (here a
dummy of each) joins the direction matrix and the written report in its place, and leaves when unregistered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from pydantic import BaseModel, ConfigDict

from emkit.core.errors import EmkitError
from emkit.core.registry import DIRECTIONS, SECTIONS, DirectionInputs, DirectionMethod, NotApplicable, Section


class DummySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int = 0


def _dummy(inputs: DirectionInputs, cfg: DummySettings) -> Any:
    from emkit.interp.directions import Direction

    d_model = _width(inputs)
    g = torch.Generator().manual_seed(cfg.seed)
    return Direction(f"dummy:{inputs.arm}", torch.randn(2, d_model, generator=g), [0, 1], {"kind": "dummy"})


def _width(inputs: DirectionInputs) -> int:
    from emkit.interp.directions import Direction

    md = inputs.run.run_dir / "interp" / "directions" / f"meandiff-{inputs.arm}.safetensors"
    return Direction.load(md).d_model


def _never(inputs: DirectionInputs, cfg: DummySettings) -> None:
    raise NotApplicable(f"never:{inputs.arm}: nothing to read")


def test_the_report_order_is_the_registered_sections_and_the_toy_section_is_the_toy_plugins() -> None:
    import inspect

    import emkit.report as report

    assert report.ORDER == ("compare", "variants", "icl", "realign", "dosage", "narrow", "toy", "language", "cosines",
                            "matrix", "interp", "steer", "ablate")
    assert report.STUDY_SECTIONS == ("compare", "variants", "icl", "realign", "dosage", "narrow", "toy")
    assert SECTIONS["toy"].readout == "toy" and SECTIONS["toy"].render == "emkit.report.toy:toy_section"
    assert "toy" not in inspect.getsource(report)  # the report package names no world
    assert [DIRECTIONS[n].order for n in ("meandiff", "loraB", "icl", "sae")] == sorted(
        DIRECTIONS[n].order for n in ("meandiff", "loraB", "icl", "sae"))


def test_a_registered_direction_method_and_section_join_the_matrix_and_the_report(
        tmp_path: Path, judge_server) -> None:
    from test_interp import label_half
    from test_run import write_exp

    import emkit.report as report
    from emkit.analyses.matrix import direction_matrix
    from emkit.core.config import load_experiment
    from emkit.pipeline.run import run_experiment

    exp = load_experiment(write_exp(tmp_path, judge_server.base_url))
    report.write_run_report(run_experiment(exp))
    label_half(exp)
    run_dir = exp.run_dir
    DIRECTIONS.add("dummy", DirectionMethod("dummy", DummySettings, _dummy, order=15,
                                            describe=lambda d, cfg: f"random, seed {cfg.seed}"))
    DIRECTIONS.add("never", DirectionMethod("never", DummySettings, _never, order=99))
    SECTIONS.add("dummy", Section("dummy", 75, lambda rec: f"<h2>Dummy section: {rec}</h2>"))
    try:
        dm = direction_matrix(run_dir, icl_k=None, methods={"dummy": {"seed": 3}})
        assert dm.cosines.names == ["meandiff:ft", "meandiff:ft:base-reader", "dummy:ft", "loraB:ft"]
        assert dm.sources["dummy:ft"] == "random, seed 3" and dm.skipped == ["never:ft: nothing to read"]
        assert {p["b"] for p in dm.cosines.pairs() if p["a"] == "meandiff:ft"} >= {"dummy:ft"}
        with pytest.raises(EmkitError, match="direction method dummy: unknown key 'bogus'"):
            direction_matrix(run_dir, icl_k=None, methods={"dummy": {"bogus": 1}})
        with pytest.raises(EmkitError, match="unknown direction method nope"):
            direction_matrix(run_dir, icl_k=None, methods={"nope": {}})
        left_out = direction_matrix(run_dir, icl_k=None, methods={"dummy": None, "never": None})
        assert "dummy:ft" not in left_out.cosines.names and left_out.skipped == []

        assert report.ORDER.index("cosines") < report.ORDER.index("dummy") < report.ORDER.index("matrix")
        report.add_matrix(dm, run_dir)
        report.add(run_dir, "dummy", "hello")
        html = (run_dir / "report.html").read_text()
        assert "Dummy section: hello" in html and "dummy:ft" in html
        assert html.index("Dummy section: hello") < html.index("Misalignment directions compared: ft")
        with pytest.raises(KeyError, match="no report section 'absent'"):
            report.add(run_dir, "absent", None)
    finally:
        DIRECTIONS.remove("dummy")
        DIRECTIONS.remove("never")
        SECTIONS.remove("dummy")
    assert "dummy" not in DIRECTIONS and "dummy" not in report.ORDER
    assert [n for n in DIRECTIONS] == ["meandiff", "loraB", "icl", "sae"]
