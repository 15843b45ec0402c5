"""``python -m cli ...`` is the ``sicot`` command."""

import sys

from cli.main import main

sys.exit(main())
