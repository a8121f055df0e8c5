"""``python -m loro_c serve [--host H] [--port P] [--db PATH]``: run the sync server."""

import sys

from .sync.cli import main

if __name__ == "__main__":
    sys.exit(main())
