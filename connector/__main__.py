"""`python -m connector` is the braze-export command."""

import sys

from connector.workers.guard import hold_signals

hold_signals()      # a signal while the command starts is held for it, not lost or a traceback

from connector.cli import main  # noqa: E402 - after the signals are held

sys.exit(main())
