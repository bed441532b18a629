"""Resume and delta: a local SQLite state of what Braze acknowledged, so reruns never resend it."""

from connector.state.session import StateSession

__all__ = ["StateSession"]
