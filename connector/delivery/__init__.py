"""Delivery: batching, each user's rows in order, sender threads, pacing, retries, and each row's outcome."""

from connector.delivery.attempts import DeliveryPolicy, Journal, Stop, Tally, Transport
from connector.delivery.dispatch import Delivery

__all__ = ["Delivery", "DeliveryPolicy", "Journal", "Stop", "Tally", "Transport"]
