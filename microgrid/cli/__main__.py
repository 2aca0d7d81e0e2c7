"""`python -m microgrid.cli`, the same as the `microgrid` script."""

import sys

from microgrid.cli.main import main

sys.exit(main())
