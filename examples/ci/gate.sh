#!/usr/bin/env bash
# A CI step: run the gated scenario, evaluate its gates against the
# committed baseline, and keep the run as an artifact.
#
#   examples/ci/gate.sh [SCENARIO [RUN-FLAGS...]]   # default scenarios/ci.yaml
#
# RUN-FLAGS go to vmbench run: --label commit=3fa2c1d, --only, --set.
#
# Paths are relative to the repository root. Environment:
#   BASELINE   baseline file or run directory (default ci/baseline.json); when
#              it does not exist the regression gates are skipped, visibly
#   ARTIFACTS  where the run directory is copied (default artifacts/)
#   RETRY      retry rounds for inconclusive gates (default 1)
#
# Exit code: 0 every gate passed, 3 a gate failed (a regression), 2 bad
# input (scenario, baseline), 1 the tool or a platform broke, 4 interrupted.
source "$(dirname "$0")/../../scripts/lib.sh" # cds to the repository root
require_root
install_packages
build

scenario=${1:-scenarios/ci.yaml}
shift || true
baseline=${BASELINE:-ci/baseline.json}
artifacts=${ARTIFACTS:-artifacts}

set +e
bin/vmbench run "$scenario" --results results "$@"
rc=$?
if [ "$rc" -eq 0 ]; then
  args=(--retry "${RETRY:-1}")
  if [ -e "$baseline" ]; then
    args+=(--baseline "$baseline")
  else
    echo "vmbench: no baseline at $baseline: the regression gates are skipped." \
      "Make one from a good run: bin/vmbench baseline save results/latest $baseline" >&2
  fi
  bin/vmbench gate results/latest "${args[@]}"
  rc=$?
fi
if [ -e results/latest ]; then
  mkdir -p "$artifacts"
  rm -rf "$artifacts/run"
  cp -rL results/latest "$artifacts/run"
  echo "vmbench: artifacts in $artifacts/run (report.html, gates.xml, gates.md, gates.json)" >&2
fi
exit "$rc"
