"""The ``court`` command and its subcommands."""
