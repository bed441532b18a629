"""`python -m connector.sandbox [options | show ...]`: the sandbox command without the main CLI."""

import sys

from .command import main

sys.exit(main())
