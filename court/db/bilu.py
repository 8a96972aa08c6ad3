"""Tables of the 笔录 (issue 7): corrections with their history, locked versions."""

from __future__ import annotations
