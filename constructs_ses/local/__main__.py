"""``python -m constructs_ses.local serve|send``."""

import sys

from constructs_ses.local.cli import main

sys.exit(main())
