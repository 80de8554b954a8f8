#!/usr/bin/env bash
# Quick start, step 2: install what is missing, build, and run every test,
# the integration tests with the real runc, crun and QEMU included.
source "$(dirname "$0")/lib.sh"
require_root
install_packages
build
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
[ -z "$unformatted" ] || die "gofmt: not formatted: $unformatted"
go vet ./...
go test -count=1 -timeout 30m ./... "$@"
