#!/usr/bin/env bash
# Build the static vmbench binary into bin/vmbench. Needs Go only: no root,
# no packages. (CGO_ENABLED=0 go install github.com/vmbench/vmbench/cmd/vmbench@latest
# does the same outside a clone.)
source "$(dirname "$0")/lib.sh"
build
echo "bin/vmbench: $(bin/vmbench --version)"
