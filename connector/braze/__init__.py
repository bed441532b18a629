"""The Braze HTTP client: one connection's transport, and the one place where answers are classified."""

from connector.braze.client import BrazeClient
from connector.braze.outcome import Kind, ObjectError, Outcome, Phase, classify_failure, classify_response

__all__ = ["BrazeClient", "Kind", "ObjectError", "Outcome", "Phase", "classify_failure", "classify_response"]
