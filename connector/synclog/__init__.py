"""The sync log: every row's outcome of every run in a table of the user's database (docs/sync-log.md)."""
