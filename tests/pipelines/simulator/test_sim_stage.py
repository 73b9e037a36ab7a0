"""The `minewatch simulate` stage: options, params.yaml, and the call to the national-file writer."""

from __future__ import annotations

import argparse
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines import simulate as stage
from pipelines.simulator.config import SimulateParams, load_params

ROOT = Path(__file__).resolve().parents[3]


def main(argv: list[str]) -> int:
    """The stage as `minewatch simulate` runs it (without importing every other stage)."""
    parser = argparse.ArgumentParser(prog="minewatch simulate")
    parser.add_argument("--params", default=None)
    sub = parser.add_subparsers(dest="command", required=True)
    stage.add_arguments(sub.add_parser("simulate"))
    return stage.main(parser.parse_args(argv))


def test_params_yaml_section_matches_the_defaults() -> None:
    assert load_params(ROOT / "params.yaml") == SimulateParams()


def test_help_lists_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    out = capsys.readouterr().out
    for opt in ("--out", "--mines", "--days", "--seed", "--start", "--format", "--national"):
        assert opt in out


def test_stage_writes_tables_truth_and_national_files(tmp_path: Path) -> None:
    out = tmp_path / "data"
    assert main(["simulate", "--out", str(out), "--mines", "2", "--days", "2", "--seed", "3",
                 "--start", "2025-08-01", "--national", "1"]) == 0
    mines = pq.read_table(out / "mines.parquet").column("mine_code").to_pylist()
    assert len(mines) == 2
    nat = sorted((out / "national").iterdir())
    assert nat and {p.name[:12] for p in nat} == {mines[0]}
    assert (out / "_truth" / "mine_truth.csv").is_file()
    days = pq.read_table(out / "production").column("period_start").to_pylist()
    assert min(days).isoformat() == "2025-08-01T00:00:00"


def test_bad_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--national"):
        main(["simulate", "--out", str(tmp_path), "--mines", "1", "--days", "2", "--national", "2"])
