import sys

from ganjax.cli import main

sys.exit(main())
