"""``python -m analysis``: the book's command line."""

import sys

from analysis.cli import main

sys.exit(main())
