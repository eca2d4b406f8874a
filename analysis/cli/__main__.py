"""``python -m analysis.cli``: the same command line as ``python -m analysis``."""

import sys

from analysis.cli import main

sys.exit(main())
