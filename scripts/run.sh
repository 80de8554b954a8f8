#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build, run a scenario (the
# default one unless given) and print where the report is.
#   scripts/run.sh                       # the default scenario
#   scripts/run.sh scenarios/default.yaml --results /var/lib/vmbench/results
source "$(dirname "$0")/lib.sh"
require_root
install_packages
fresh_apt_lists
build
exec bin/vmbench run "$@"
