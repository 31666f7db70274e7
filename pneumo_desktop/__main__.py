"""``python -m pneumo_desktop`` runs the same entry point as ``pneumo-desktop``."""

from pneumo_desktop.cli import entry

if __name__ == "__main__":
    entry()
