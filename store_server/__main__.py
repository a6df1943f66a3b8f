"""``python -m store_server store-server --db PATH --port N``."""

import sys

from store_server.cli import main

sys.exit(main())
