#!/usr/bin/env bash
# Builds a Debian 12 cloud-style disk image offline, from this host's own
# APT sources: systemd, cloud-init, openssh-server, runc and Debian's cloud
# kernel, an ext4 root on the whole disk (/dev/vda), as a qcow2. Its kernel
# and initramfs are copied out beside it, for direct kernel boot
# (kernel:, initrd:, kernel_args: root=/dev/vda in the scenario): the image
# has no bootloader. The libvirt tests boot it; users pass their own image.
#
# Usage: scripts/cloud-image.sh [CACHE_DIR]
# Prints the directory holding disk.qcow2, vmlinuz and initrd.img. The
# image is kept in CACHE_DIR (default /var/cache/vmbench/images) under the
# hash of this script: an unchanged script reuses it. CACHE_DIR/debian-12-cloud
# links to the newest build (scenarios/ops-vm.yaml boots it from there).
set -euo pipefail
die() { echo "vmbench: $*" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap, mkfs): sudo $0"
for tool in mmdebstrap mkfs.ext4 qemu-img; do
  command -v "$tool" >/dev/null || die "$tool not found: apt-get install -y mmdebstrap e2fsprogs qemu-utils"
done

cache=${1:-/var/cache/vmbench/images}
hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
out="$cache/debian-12-cloud-$hash"
if [ -s "$out/disk.qcow2" ] && [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ]; then
  ln -sfn "$(basename "$out")" "$cache/debian-12-cloud"
  echo "$out"
  exit 0
fi
mkdir -p -m 0755 "$cache"
work=$(mktemp -d "$cache/.build-XXXXXX")
trap 'rm -rf "$work"' EXIT

packages=(systemd-sysv udev dbus cloud-init openssh-server runc linux-image-cloud-amd64
  initramfs-tools ifupdown isc-dhcp-client iproute2 e2fsprogs procps ca-certificates)
echo "vmbench: building the Debian 12 cloud test image (mmdebstrap; about a minute)" >&2
# The kernel's postinst runs update-initramfs inside the new root, never
# on this host. The image's machine-id is empty, as cloud images ship it,
# so that every guest makes its own.
mmdebstrap --quiet --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" \
  --customize-hook='echo "LABEL=root / ext4 defaults 0 1" > "$1/etc/fstab"' \
  --customize-hook='echo debian > "$1/etc/hostname"' \
  --customize-hook='truncate -s 0 "$1/etc/machine-id"' \
  --customize-hook='printf "datasource_list: [ NoCloud, None ]\n" > "$1/etc/cloud/cloud.cfg.d/90-vmbench-datasource.cfg"' \
  bookworm "$work/root" >&2
cp "$(ls "$work"/root/boot/vmlinuz-* | sort -V | tail -1)" "$work/vmlinuz"
cp "$(ls "$work"/root/boot/initrd.img-* | sort -V | tail -1)" "$work/initrd.img"
# The image's path is this script's only output: mke2fs says "Creating
# regular file" on stdout even with -q, so its stdout goes to stderr.
mkfs.ext4 -q -L root -d "$work/root" "$work/disk.raw" 2G >&2
qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/disk.qcow2"
rm -rf "$work/root" "$work/disk.raw"
chmod 0644 "$work/disk.qcow2" "$work/vmlinuz" "$work/initrd.img"
rm -rf "$out"
mv "$work" "$out"
chmod 0755 "$out"
trap - EXIT
ln -sfn "$(basename "$out")" "$cache/debian-12-cloud"
echo "$out"
