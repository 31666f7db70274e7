"""The entry layer: ``pneumo-desktop`` and ``python -m pneumo_desktop`` start here.

It only dispatches, so that the command line and the desktop app never import each other:

* no arguments, or image files and folders: the desktop app (:mod:`pneumo_desktop.gui.app`);
* ``--self-test``: check the installation and print JSON (:mod:`pneumo_desktop.selftest`);
* anything else (a sub-command, ``--help``, ``--version``): the command line
  (:mod:`pneumo_desktop.cli`).
"""

from __future__ import annotations

import json
import sys

from .cli import SUBCOMMANDS

SELF_TEST_OPTION = "--self-test"


def opens_app(argv: list[str]) -> bool:
    """True when ``argv`` asks for the desktop app: nothing, or paths (and Qt's own options)."""
    return not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-"))


def self_test() -> int:
    """Load the default model, predict a built-in image with a heatmap, open the window
    headless, print JSON; 0 when everything worked."""
    from .process import configure_torch_threads
    from .selftest import run_self_test

    configure_torch_threads()
    result = run_self_test()
    print(json.dumps(result, indent=2))
    return 0 if result.get("ok") else 1


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if opens_app(argv):
        from .gui.app import run_app

        return run_app(argv)
    if argv == [SELF_TEST_OPTION]:
        return self_test()
    from .cli import main as cli_main

    return cli_main(argv)


def entry() -> None:
    """The ``pneumo-desktop`` console script."""
    from .process import exit_process

    exit_process(main())


if __name__ == "__main__":
    entry()
