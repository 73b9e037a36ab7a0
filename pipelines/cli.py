"""The `minewatch` command: one subcommand per stage, each with --help."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from pipelines import __version__

# subcommand -> module under pipelines/ (same name as the dvc.yaml stage, with - for _)
STAGES = {
    "simulate": "pipelines.simulate",
    "ingest": "pipelines.ingest",
    "build-features": "pipelines.build_features",
    "train": "pipelines.train",
    "evaluate": "pipelines.evaluate",
    "score": "pipelines.score",
    "run": "pipelines.run",
    "targets": "pipelines.targets",
    "report": "pipelines.report",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minewatch",
        description="Score coal mines for hidden workfaces, overproduction, falsified alarm handling "
        "and concealed accidents.",
    )
    parser.add_argument("--version", action="version", version=f"minewatch {__version__}")
    parser.add_argument("--params", default=None, help="params.yaml to read (default: ./params.yaml if present)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at debug level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in STAGES.items():
        module = importlib.import_module(module_name)
        doc = (module.__doc__ or "").strip().splitlines()[0]
        stage = sub.add_parser(name, help=doc, description=doc)
        module.add_arguments(stage)
        stage.set_defaults(handler=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return int(args.handler(args) or 0)
