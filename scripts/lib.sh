# Shared by scripts/run.sh and scripts/test.sh: check the host, install the
# Debian packages vmbench needs, build the static binary into bin/vmbench.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# What vmbench needs from Debian: OCI runtimes, QEMU (with its firmware and
# qboot for microvm), a guest kernel with its modules, iproute2 for the net
# workload's bridge, the reference tools and mmdebstrap for the tools rootfs.
PACKAGES=(runc crun runsc qemu-system-x86 qemu-system-data linux-image-cloud-amd64 iproute2
  fio sysbench stress-ng iperf3 redis-server redis-tools mmdebstrap e2fsprogs nftables
  golang-github-containers-common)
# What only the tests need: xmllint for the JUnit schema, and chromium to
# load the report.
TEST_PACKAGES=(libxml2-utils chromium)

die() { echo "vmbench: $*" >&2; exit 2; }

require_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and creates containers and guests): sudo $0"
}

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get: install them by hand"
    echo "vmbench: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

build() {
  command -v go >/dev/null || [ -x /usr/local/go/bin/go ] || die "Go is not installed: install Go 1.26 or newer (https://go.dev/dl)"
  command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
  local rev
  rev=$(git rev-parse --short HEAD 2>/dev/null || echo "")
  mkdir -p bin
  CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=0.1.0-dev -X main.revision=$rev" -o bin/vmbench ./cmd/vmbench
}
