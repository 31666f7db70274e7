#!/usr/bin/env bash
# Fresh machine -> test results: set up everything, then run the whole suite headless.
# PNEUMO_SKIP_PACKAGING=1 skips the (slow) PyInstaller bundle test.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
