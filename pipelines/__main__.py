"""`python -m pipelines` runs the `minewatch` command."""

from pipelines.cli import main

raise SystemExit(main())
