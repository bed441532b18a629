"""Resume and delta: a local SQLite state of what Braze acknowledged, so reruns never resend it."""

from connector.state.session import StateSession, check_settings, writer_columns

__all__ = ["StateSession", "check_settings", "writer_columns"]
