"""``python -m scale.sim``: run the scale simulator without the cart application."""

import sys

from scale.sim.cli import main

# Guarded: tools that import every module of the package (the import-boundary test) must not
# start the simulator.
if __name__ == "__main__":
    sys.exit(main())
