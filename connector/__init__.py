"""braze-export: write the rows of a query result into Braze through its REST API."""

__version__ = "0.1.0"
