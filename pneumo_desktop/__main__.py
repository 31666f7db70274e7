"""``python -m pneumo_desktop`` runs the same entry point as ``pneumo-desktop``."""

import sys

from pneumo_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
