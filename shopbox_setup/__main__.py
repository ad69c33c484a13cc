import sys

from shopbox_setup.cli import main

sys.exit(main())
