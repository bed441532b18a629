"""The mode-specific writers: a row (column -> value) in, a Braze object out, or InvalidRow.

Which writer serves which mode is the mode cards' business (connector/modes.py).
"""

from connector.writers.base import Item, PlainWriter, Writer, WriterOptions

__all__ = ["Item", "PlainWriter", "Writer", "WriterOptions"]
