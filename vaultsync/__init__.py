"""vaultsync: keep AI-agent memory files safe in a git vault."""

from __future__ import annotations

__version__ = "0.1.0"
