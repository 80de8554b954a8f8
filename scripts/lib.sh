# Shared by scripts/run.sh and scripts/test.sh: check the host, install the
# Debian packages vmbench needs, build the static binary into bin/vmbench.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# What vmbench needs from Debian, one list for this script and the fleet
# playbook: scripts/packages.txt.
mapfile -t PACKAGES < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' scripts/packages.txt)
# What only the tests need: gcc for a plain (dynamic) go build, xmllint
# for the JUnit schema, promtool and node_exporter for the metrics export,
# chromium to load the report, the container engines the engine platforms drive, and
# Ansible with sshd for the fleet test.
# libvirtd for the libvirt guests' tests (which boot the test cloud image
# scripts/cloud-image.sh builds).
TEST_PACKAGES=(gcc libxml2-utils prometheus prometheus-node-exporter chromium docker.io podman ansible-core openssh-server openssh-client libvirt-daemon-system postgresql)

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
    # The servers vmbench runs as workloads (redis, nginx) must not start as
    # the host's services: policy-rc.d tells the packages not to, unless
    # the host already has a policy of its own.
    local policy=/usr/sbin/policy-rc.d ours=""
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && ours=1
    fi
    local rc=0
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || rc=$?
    [ -z "$ours" ] || rm -f "$policy"
    [ "$rc" -eq 0 ] || die "apt-get could not install ${missing[*]} (exit $rc)"
  fi
}

# fresh_apt_lists updates APT's package lists when they are older than a
# day: vmbench downloads the guest kernel's package by name (apt-get
# download), and a list that names a version the mirror no longer has
# fails it.
fresh_apt_lists() {
  command -v apt-get >/dev/null || return 0
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
    echo "vmbench: updating APT's package lists (older than a day)" >&2
    apt-get update -qq || die "apt-get update failed"
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

# start_dockerd starts a Docker daemon for the engine tests when none
# answers (these machines run no service manager), with gVisor registered as
# runtime runsc, and arranges for stop_dockerd to stop it. A daemon that
# already runs is used as it is, and left running.
DOCKERD_PID=""
start_dockerd() {
  if docker info >/dev/null 2>&1; then
    return
  fi
  local dir
  dir=$(mktemp -d /tmp/dockerd-for-vmbench-tests.XXXXXX)
  # gVisor's own network stack refuses the namespaces engines give it on
  # some hosts (this one: "cannot run with network enabled in root network
  # namespace"); --network=host passes the container namespace's sockets
  # through.
  printf '{"runtimes": {"runsc": {"path": "%s", "runtimeArgs": ["--network=host"]}}}\n' "$(command -v runsc)" >"$dir/daemon.json"
  dockerd --config-file "$dir/daemon.json" --pidfile "$dir/dockerd.pid" >"$dir/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  DOCKERD_DIR=$dir
  for _ in $(seq 100); do
    docker info >/dev/null 2>&1 && return
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 0.2
  done
  tail -20 "$dir/dockerd.log" >&2
  die "dockerd did not start (its log is above)"
}

stop_dockerd() {
  [ -n "$DOCKERD_PID" ] || return 0
  kill "$DOCKERD_PID" 2>/dev/null || true
  # dockerd stops its containerd before it exits.
  for _ in $(seq 150); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$DOCKERD_PID" 2>/dev/null || true
  rm -rf "$DOCKERD_DIR"
  DOCKERD_PID=""
}

# start_libvirtd starts virtlogd and libvirtd for the libvirt tests when
# libvirtd does not answer (these machines run no service manager), and
# arranges for stop_libvirtd to stop what it started. Daemons that already
# run are used as they are, and left running.
LIBVIRT_STARTED=()
start_libvirtd() {
  if virsh -c qemu:///system version >/dev/null 2>&1; then
    return
  fi
  if ! pgrep -x virtlogd >/dev/null; then
    virtlogd -d --pid-file /run/vmbench-test-virtlogd.pid || die "virtlogd did not start"
    LIBVIRT_STARTED+=(/run/vmbench-test-virtlogd.pid)
  fi
  libvirtd -d --pid-file /run/vmbench-test-libvirtd.pid || die "libvirtd did not start"
  LIBVIRT_STARTED=(/run/vmbench-test-libvirtd.pid "${LIBVIRT_STARTED[@]}")
  for _ in $(seq 100); do
    virsh -c qemu:///system version >/dev/null 2>&1 && return
    sleep 0.2
  done
  die "libvirtd does not answer on qemu:///system"
}

stop_libvirtd() {
  local pidfile pid
  for pidfile in "${LIBVIRT_STARTED[@]}"; do
    pid=$(cat "$pidfile" 2>/dev/null) || continue
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
  LIBVIRT_STARTED=()
}
