"""Where the factory keeps its state: `$FACTORY_HOME`, read without importing any engine."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["factory_home"]


def factory_home() -> Path:
    """`$FACTORY_HOME`, or `./.factory`: the folder that holds all of the factory's state."""
    return Path(os.environ.get("FACTORY_HOME") or ".factory").resolve()
