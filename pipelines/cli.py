"""The `minewatch` command: one subcommand per stage, each with --help."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from pipelines import __version__

# subcommand -> (module under pipelines/, one-line help); the module is the dvc.yaml stage of the same name
STAGES = {
    "simulate": ("pipelines.simulate", "Generate a realistic data set of mines, anomalies and inspections."),
    "ingest": ("pipelines.ingest", "Load canonical tables and source files into the DuckDB warehouse."),
    "build-features": ("pipelines.build_features", "Build the point-in-time feature and evidence tables."),
    "train": ("pipelines.train", "Train the per-family rankers on findings before a cutoff; gate; register."),
    "evaluate": ("pipelines.evaluate", "Evaluate on fresh simulator seeds against ground truth."),
    "score": ("pipelines.score", "Score every mine as of a date with the champions; write targets.csv."),
    "run": ("pipelines.run", "Ingest, features, train, score and targets.csv for one data directory."),
    "targets": ("pipelines.targets", "Pull a ranked, filtered inspection target list."),
    "report": ("pipelines.report", "Write the case-ready explanation report of each mine (HTML, PDF)."),
}


def _chosen(argv: list[str]) -> str | None:
    """The subcommand named on the command line, if any (options before it may take a value)."""
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token == "--params":
            skip = True
        elif token in STAGES:
            return token
        elif not token.startswith("-"):
            return None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The CLI; only the chosen stage's module is imported (the others would cost seconds of imports)."""
    parser = argparse.ArgumentParser(
        prog="minewatch",
        description="Score coal mines for hidden workfaces, overproduction, falsified alarm handling "
        "and concealed accidents.",
    )
    parser.add_argument("--version", action="version", version=f"minewatch {__version__}")
    parser.add_argument("--params", default=None, help="params.yaml to read (default: ./params.yaml if present)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at debug level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = _chosen(sys.argv[1:] if argv is None else argv)
    for name, (module_name, summary) in STAGES.items():
        stage = sub.add_parser(name, help=summary, description=summary)
        if name == chosen:
            module = importlib.import_module(module_name)
            stage.description = (module.__doc__ or summary).strip().splitlines()[0]
            module.add_arguments(stage)
            stage.set_defaults(handler=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser(argv).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return int(args.handler(args) or 0)
