"""The commands behind the CLI: run, check and preview (spec and sandbox are one-liners in cli.py)."""
