"""`python -m tracker` is the same as the `trio-tracker` command."""

from tracker.cli import main

raise SystemExit(main())
