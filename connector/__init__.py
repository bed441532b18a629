"""braze-export: write the rows of a query result into Braze through its REST API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connector.version import __version__

__all__ = ["Report", "__version__", "export"]

if TYPE_CHECKING:
    from connector.api import Report, export


def __getattr__(name: str) -> Any:
    """`connector.export` and `connector.Report`, imported on first use so `import connector` stays cheap."""
    if name in ("export", "Report"):
        from connector import api

        return getattr(api, name)
    raise AttributeError(f"module 'connector' has no attribute {name!r}")
