"""`court` subcommands of the bilu feature."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add this feature's subcommands to the `court` parser."""
