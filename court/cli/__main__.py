"""``python -m court.cli``: the ``court`` command."""

from court.cli.main import main

raise SystemExit(main())
