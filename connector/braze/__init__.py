"""The Braze HTTP client: endpoints, auth, and the one place where answers are classified."""

from connector.braze.client import BrazeClient, Endpoint, ENDPOINTS
from connector.braze.outcome import Kind, ObjectError, Outcome, Phase, classify_failure, classify_response

__all__ = [
    "BrazeClient", "Endpoint", "ENDPOINTS", "Kind", "ObjectError", "Outcome",
    "Phase", "classify_failure", "classify_response",
]
