#!/usr/bin/env bash
# Quick start, step 2: install what is missing, build, and run every test,
# the integration tests with the real runc, crun and QEMU included.
source "$(dirname "$0")/lib.sh"
require_root
install_packages "${TEST_PACKAGES[@]}"
fresh_apt_lists
build
# The real benchstat, which a test runs on bench.txt: the version of
# golang.org/x/perf that vmbench itself builds with, from the module proxy.
GOBIN="$PWD/bin" go install "golang.org/x/perf/cmd/benchstat@$(go list -m -f '{{.Version}}' golang.org/x/perf)"
export PATH="$PWD/bin:$PATH"
# The engine tests run against a real dockerd (and podman, which has no
# daemon); under VMBENCH_TEST_ENGINES one that does not answer fails them.
start_dockerd
# libvirtd for the libvirt guests, and the Debian 12 cloud image they boot
# (built from this host's APT sources the first time, then cached).
start_libvirtd
# sshd's privilege separation directory, which every test sshd needs for
# each connection: made here, for all the test packages at once, and
# removed afterwards when made here (no test removes it: another
# package's sshd may be serving).
made_run_sshd=""
if [ ! -d /run/sshd ]; then mkdir -p /run/sshd; made_run_sshd=1; fi
trap 'stop_dockerd; stop_libvirtd; [ -z "$made_run_sshd" ] || rmdir /run/sshd 2>/dev/null || true' EXIT
VMBENCH_TEST_CLOUD_IMAGE=$(bash scripts/cloud-image.sh)
export VMBENCH_TEST_ENGINES=1 VMBENCH_TEST_LIBVIRT=1 VMBENCH_TEST_CLOUD_IMAGE
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
[ -z "$unformatted" ] || die "gofmt: not formatted: $unformatted"
go vet ./...
go test -count=1 -timeout 30m -skip '^TestLab$' ./... "$@"
# The nested lab on its own: L1 is a 2-vCPU TCG guest, and beside the other
# packages' guests on a 2-core host every one of them would crawl.
go test -count=1 -timeout 30m -run '^TestLab$' ./internal/lab "$@"
# A short fuzzing budget per target (the seed corpora ran above as tests).
# A finding is an input the fuzzer writes to testdata/fuzz: that fails the
# run. Go's fuzzer can also end with "context deadline exceeded" when its
# time runs out mid-minimization, which finds nothing: that only warns.
# FUZZTIME=0 skips it.
if [ "${FUZZTIME:-5s}" != 0 ]; then
  for target in FuzzLoad:./internal/scenario FuzzParseOutput:./internal/agent FuzzServe:./internal/agent \
    FuzzReaders:./internal/result FuzzLoadBaseline:./internal/gate FuzzApplyLayer:./internal/rootfs FuzzParsers:./workloads; do
    name=${target%%:*} pkg=${target#*:}
    if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "${FUZZTIME:-5s}" -fuzzminimizetime 1s "$pkg"; then
      if [ -n "$(ls "$pkg/testdata/fuzz/$name" 2>/dev/null)" ]; then
        die "fuzzing $name found a failing input: $pkg/testdata/fuzz/$name (go test -run $name $pkg replays it)"
      fi
      echo "vmbench: fuzzing $name ended without a finding (the fuzzer's own timeout); going on" >&2
    fi
  done
fi
