"""`python -m exercises.lab`: the same as the `lab` console script."""

import sys

from exercises.lab.cli import main

sys.exit(main())
