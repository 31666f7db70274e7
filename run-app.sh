#!/usr/bin/env bash
# Fresh machine -> running app: set up everything, then open PneumoDesktop (extra args are
# image files or folders to open, or CLI subcommands).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/pneumo-desktop "$@"
