#!/usr/bin/env bash
# Try the fleet on this machine: two "hosts" are sshd instances on 127.0.0.2
# and 127.0.0.3 with a key made for the occasion; the playbook runs a
# scenario (default: deploy/ansible/demo.yaml) on both, vmbench merge makes
# the fleet run, and vmbench gate judges it. The hosts' key is pinned in a
# known_hosts file of the occasion, and each sshd must answer before the
# playbook starts: host-key checking stays on, so a local user who took a
# loopback port first cannot pose as a host. The sshd processes, keys and
# inventory go when it ends; the runs stay under results/.
#
#   deploy/ansible/loopback.sh [SCENARIO]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh
require_root
install_packages ansible-core openssh-server openssh-client
build
scenario=$(realpath "${1:-deploy/ansible/demo.yaml}")
work=$(mktemp -d /tmp/fleet-loopback.XXXXXX)
pids=()
made_run_sshd=""
finish() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -z "$made_run_sshd" ] || rmdir /run/sshd 2>/dev/null || true
  rm -rf "$work"
}
trap finish EXIT
ssh-keygen -q -t ed25519 -N "" -f "$work/key"
ssh-keygen -q -t ed25519 -N "" -f "$work/hostkey"
cp "$work/key.pub" "$work/authorized_keys"
if [ ! -d /run/sshd ]; then mkdir -p /run/sshd; made_run_sshd=1; fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
echo "[fleet]" >"$work/inventory.ini"
for n in 2 3; do
  port=$(free_port)
  cat >"$work/sshd-$n.conf" <<CONF
ListenAddress 127.0.0.$n:$port
HostKey $work/hostkey
PidFile $work/sshd-$n.pid
AuthorizedKeysFile $work/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
  /usr/sbin/sshd -D -e -f "$work/sshd-$n.conf" 2>"$work/sshd-$n.log" &
  pids+=($!)
  echo "loopback-$n ansible_host=127.0.0.$n ansible_port=$port" >>"$work/inventory.ini"
  echo "[127.0.0.$n]:$port $(cat "$work/hostkey.pub")" >>"$work/known_hosts"
  for _ in $(seq 50); do
    ssh-keyscan -p "$port" 127.0.0.$n >/dev/null 2>&1 && break
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.2
  done
  kill -0 "${pids[-1]}" 2>/dev/null || die "sshd on 127.0.0.$n:$port did not start: $(tail -5 "$work/sshd-$n.log")"
done
cat >>"$work/inventory.ini" <<INV
[fleet:vars]
ansible_user=root
ansible_ssh_private_key_file=$work/key
ansible_ssh_common_args='-o StrictHostKeyChecking=yes -o UserKnownHostsFile=$work/known_hosts'
ansible_python_interpreter=/usr/bin/python3
INV
results="$PWD/results/fleet-loopback"
rm -rf "$results"
# No SSH connection outlives the playbook (Ansible keeps them 60 s by
# default), and Ansible's files stay in the work directory.
ANSIBLE_SSH_ARGS="-o ControlMaster=no -o ControlPersist=no" \
  ANSIBLE_LOCAL_TEMP="$work/ansible-local" ANSIBLE_REMOTE_TEMP="$work/ansible-remote" \
  ANSIBLE_SSH_CONTROL_PATH_DIR="$work/cp" ANSIBLE_HOME="$work/ansible-home" \
  ansible-playbook -i "$work/inventory.ini" deploy/ansible/fleet.yml \
  -e "vmbench_scenario=$scenario" -e "vmbench_results=$results" -e "vmbench_binary=$PWD/bin/vmbench"
out=$(bin/vmbench merge --results results "$results"/*)
echo "$out"
fleet=$(echo "$out" | sed -n 's/^fleet run: //p')
bin/vmbench gate "$fleet"
