"""Tables of the face check (issue 4): enrolled face templates of a case's participants."""

from __future__ import annotations
