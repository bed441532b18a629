"""`python -m connector` is the braze-export command."""

import sys

from connector.cli import main

sys.exit(main())
