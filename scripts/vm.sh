#!/usr/bin/env bash
# A second test host in a virtual machine: Debian 12 with systemd as PID 1,
# pure cgroup v2, Debian's stock kernel and docker.io with its systemd cgroup
# driver, booted with qemu (software emulation when there is no usable KVM).
#
#   scripts/vm.sh build                 build the guest image (cached)
#   scripts/vm.sh provision TAR...      the image with these `docker save`
#                                       tars loaded into the guest's Docker
#                                       (cached by the tars' names); prints
#                                       the disk's path
#   scripts/vm.sh run SHARE [DISK]      boot a throwaway copy-on-write copy
#                                       of DISK (default: the built image),
#                                       run SHARE/job.sh in the guest, power off
#
# The image is built from Debian packages only (debootstrap minbase, the
# kernel from linux-image-amd64 with a small initrd) and cached in
# /var/cache/sysbox-ts/vm/<recipe hash>/ (SYSBOX_VM_CACHE), like the test
# images. `run` shares SHARE with the guest over 9p: a oneshot unit in the
# guest runs SHARE/job.sh after docker.service, writes its output to
# SHARE/job.log and its exit code to SHARE/job.rc, and powers off. The whole
# run is bounded by SYSBOX_VM_TIMEOUT seconds (default 1800); the guest's
# console goes to SHARE/console.log. The guest has no network.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LOG_NAME=vm
# Only for pick_target, pick_mirror, use_apt_proxy and umount_under.
. "$(dirname "${BASH_SOURCE[0]}")/images.sh"
LOG_NAME=vm

VM_SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")
VM_CACHE=${SYSBOX_VM_CACHE:-/var/cache/sysbox-ts/vm}
VM_TIMEOUT=${SYSBOX_VM_TIMEOUT:-1800}
VM_MEM_MB=${SYSBOX_VM_MEM_MB:-4096}
VM_CPUS=${SYSBOX_VM_CPUS:-2}
# Downloaded .debs, shared with scripts/images.sh.
VM_DEB_CACHE=${SYSBOX_VM_DEB_CACHE:-$DEB_CACHE}

# ---- vm recipe begin (everything up to "vm recipe end" is hashed) ----
VM_RECIPE_REVISION=1
VM_SUITE=bookworm
VM_PACKAGES=systemd,systemd-sysv,dbus,udev,docker.io,apparmor,iproute2,procps,kmod,iptables,ca-certificates,initramfs-tools,linux-base,zstd
VM_KERNEL_PACKAGE=linux-image-amd64
VM_DISK_SIZE=10G
# The initrd only has to find an ext4 root on a virtio disk; everything else
# loads from the root filesystem. MODULES=list keeps it small and quick.
VM_INITRD_MODULES=(virtio_pci virtio_blk ext4 crc32c_generic)
VM_MODULES_LOAD=(9p 9pnet_virtio fuse overlay)
# Timers and services with nothing to do on a throwaway test host.
VM_MASK=(apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service
  fstrim.timer systemd-timesyncd.service getty@tty1.service)
VM_KERNEL_CMDLINE="root=/dev/vda rw console=ttyS0 systemd.unified_cgroup_hierarchy=1 quiet loglevel=4 systemd.show_status=0"

# The unit that runs the host's job from the 9p share, then powers off.
vm_job_unit() {
  cat <<'EOF'
[Unit]
Description=run the host's job from /mnt/host/job.sh, then power off
Wants=docker.service
After=docker.service mnt-host.mount multi-user.target
ConditionPathExists=/mnt/host/job.sh

[Service]
Type=oneshot
StandardOutput=journal+console
ExecStart=/bin/bash -c 'cd /mnt/host && bash /mnt/host/job.sh >/mnt/host/job.log 2>&1; echo $? >/mnt/host/job.rc; sync'
ExecStartPost=/bin/systemctl poweroff --no-block
TimeoutStartSec=infinity

[Install]
WantedBy=default.target
EOF
}

# vm_customize DIR: settings of the guest's root filesystem.
vm_customize() {
  local dir=$1
  echo sysbox-vm >"$dir/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 sysbox-vm\n' >"$dir/etc/hosts"
  printf 'host0 /mnt/host 9p trans=virtio,version=9p2000.L,msize=262144,nofail 0 0\n' >"$dir/etc/fstab"
  mkdir -p "$dir/mnt/host"
  printf '%s\n' "${VM_MODULES_LOAD[@]}" >"$dir/etc/modules-load.d/sysbox-vm.conf"
  # A root login on the serial console without a password, for debugging.
  chroot "$dir" passwd -d root >/dev/null
  vm_job_unit >"$dir/etc/systemd/system/sysbox-vm-job.service"
  chroot "$dir" systemctl enable sysbox-vm-job.service >/dev/null 2>&1
  chroot "$dir" systemctl mask "${VM_MASK[@]}" >/dev/null 2>&1
  mkdir -p "$dir/etc/systemd/journald.conf.d"
  printf '[Journal]\nStorage=volatile\n' >"$dir/etc/systemd/journald.conf.d/vm.conf"
  chroot "$dir" apt-get clean
  find "$dir/var/lib/apt/lists" -maxdepth 1 -type f -delete
  : >"$dir/etc/machine-id"
}
# ---- vm recipe end ----

vm_recipe_hash() {
  sed -n '/^# ---- vm recipe begin/,/^# ---- vm recipe end/p' "$VM_SELF" | sha256sum | cut -c1-16
}

# The directory of the current recipe's image (it may not exist yet).
vm_image_dir() { echo "$VM_CACHE/$(vm_recipe_hash)"; }

vm_workdir_cleanup() {
  [ -n "${VM_WORKDIR:-}" ] && [ -d "$VM_WORKDIR" ] || return 0
  umount_under "$VM_WORKDIR"
  rm -rf --one-file-system "$VM_WORKDIR"
}

# vm_install_kernel ROOTFS: the kernel package (fetched by the host's apt,
# which knows the mirror and any proxy) installed into the guest with dpkg,
# after the initrd is set up to be small.
vm_install_kernel() {
  local dir=$1 debs=$VM_WORKDIR/kernel-debs pkg
  mkdir -p "$debs"
  pkg=$(apt-cache depends "$VM_KERNEL_PACKAGE" 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
  if [ -z "$pkg" ]; then
    apt_update_once
    pkg=$(apt-cache depends "$VM_KERNEL_PACKAGE" | awk '/Depends: linux-image-/ { print $2; exit }')
  fi
  [ -n "$pkg" ] || die "apt-cache depends $VM_KERNEL_PACKAGE names no linux-image package"
  log "kernel: $pkg"
  (cd "$debs" && apt-get -o APT::Sandbox::User=root download "$VM_KERNEL_PACKAGE" "$pkg" >/dev/null) \
    || die "apt-get download $VM_KERNEL_PACKAGE $pkg failed"
  printf 'MODULES=list\nCOMPRESS=zstd\n' >"$dir/etc/initramfs-tools/conf.d/sysbox-vm.conf"
  printf '%s\n' "${VM_INITRD_MODULES[@]}" >"$dir/etc/initramfs-tools/modules"
  mkdir -p "$dir/tmp/kernel-debs"
  cp "$debs"/*.deb "$dir/tmp/kernel-debs/"
  mount -t proc proc "$dir/proc"
  mount --bind /dev "$dir/dev"
  mount --bind /sys "$dir/sys"
  local rc=0
  chroot "$dir" sh -c 'DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/kernel-debs/*.deb' >"$VM_WORKDIR/kernel.log" 2>&1 || rc=$?
  umount "$dir/sys" "$dir/dev" "$dir/proc"
  if [ "$rc" -ne 0 ]; then
    tail -n 20 "$VM_WORKDIR/kernel.log" >&2
    die "dpkg -i of the kernel failed in the guest's root filesystem (exit $rc)"
  fi
  rm -rf "$dir/tmp/kernel-debs"
}

vm_build() {
  local dir hash t0
  hash=$(vm_recipe_hash)
  dir=$VM_CACHE/$hash
  if [ -f "$dir/rootfs.img" ]; then
    log "guest image is up to date (recipe $hash): $dir"
    return 0
  fi
  require_root
  mkdir -p "$VM_CACHE"
  exec 8>"$VM_CACHE/.lock"
  flock -n 8 || { log "another vm.sh build is running; waiting for it"; flock 8; }
  if [ -f "$dir/rootfs.img" ]; then return 0; fi
  t0=$(now_s)
  command -v debootstrap >/dev/null || apt_install_missing debootstrap
  command -v mkfs.ext4 >/dev/null || apt_install_missing e2fsprogs
  pick_target
  [ "$DISTRO" = debian ] || die "the guest is Debian $VM_SUITE; building it needs a Debian host's apt sources (this is $DISTRO)"
  pick_mirror
  use_apt_proxy
  VM_WORKDIR=$(mktemp -d "$VM_CACHE/.build-$hash.XXXXXX")
  trap vm_workdir_cleanup EXIT
  local root=$VM_WORKDIR/rootfs
  log "building the guest image (recipe $hash); debootstrap --variant=minbase $VM_SUITE from $MIRROR"
  mkdir -p "$VM_DEB_CACHE"
  if ! debootstrap --variant=minbase --components=main --cache-dir="$VM_DEB_CACHE" --include="$VM_PACKAGES" \
    "$VM_SUITE" "$root" "$MIRROR" 2>&1 | tee "$VM_WORKDIR/debootstrap.out" | debootstrap_progress; then
    tail -n 20 "$root/debootstrap/debootstrap.log" 2>/dev/null >&2 || true
    die "debootstrap failed (output: $VM_WORKDIR/debootstrap.out)"
  fi
  log "rootfs in $(elapsed_since "$t0")s; installing the kernel"
  vm_install_kernel "$root"
  vm_customize "$root"
  mkdir -p "$VM_WORKDIR/out"
  cp "$root/boot/vmlinuz-"* "$VM_WORKDIR/out/vmlinuz"
  cp "$root/boot/initrd.img-"* "$VM_WORKDIR/out/initrd.img"
  log "kernel and initrd ($(du -h "$VM_WORKDIR/out/initrd.img" | cut -f1)) in $(elapsed_since "$t0")s; making the ext4 image"
  truncate -s "$VM_DISK_SIZE" "$VM_WORKDIR/out/rootfs.img"
  mkfs.ext4 -q -L sysbox-vm -d "$root" "$VM_WORKDIR/out/rootfs.img" \
    || die "mkfs.ext4 -d $root failed"
  printf 'recipe %s\nbuilt %s\nseconds %s\n' "$hash" "$(date -u +%FT%TZ)" "$(elapsed_since "$t0")" >"$VM_WORKDIR/out/build.txt"
  rm -rf "$dir"
  mv "$VM_WORKDIR/out" "$dir"
  vm_workdir_cleanup
  VM_WORKDIR=
  trap - EXIT
  # Images of older recipes are never used again.
  find "$VM_CACHE" -mindepth 1 -maxdepth 1 -type d ! -name "$hash" ! -name '.*' -exec rm -rf {} +
  log "guest image built in $(elapsed_since "$t0")s: $dir"
}

# The qemu acceleration to use: KVM when /dev/kvm really works, else TCG.
vm_accel() {
  if [ -z "${SYSBOX_VM_NO_KVM:-}" ] && [ -c /dev/kvm ] && grep -qE '^flags.* (vmx|svm)( |$)' /proc/cpuinfo; then
    echo kvm
  else
    echo tcg,thread=multi
  fi
}

# vm_run SHARE [DISK]: boot once with SHARE over 9p and a throwaway overlay
# of DISK; returns the job's exit code (124 on timeout, 125 if it never ran).
vm_run() {
  local share=$1 disk=${2:-} image overlay rc=0 t0 pid
  image=$(vm_image_dir)
  [ -f "$image/rootfs.img" ] || die "no guest image for recipe $(vm_recipe_hash); run: scripts/vm.sh build"
  [ -n "$disk" ] || disk=$image/rootfs.img
  [ -f "$share/job.sh" ] || die "$share/job.sh does not exist"
  vm_ensure_qemu
  rm -f "$share/job.log" "$share/job.rc" "$share/console.log"
  if [ "${VM_NO_OVERLAY:-0}" = 1 ]; then
    overlay=$disk
  else
    overlay=$(mktemp "$VM_CACHE/.run.XXXXXX.qcow2")
    qemu-img create -q -f qcow2 -F "$(vm_disk_format "$disk")" -b "$disk" "$overlay" >/dev/null
  fi
  log "booting the guest ($(vm_accel), ${VM_CPUS} vCPUs, ${VM_MEM_MB} MB, timeout ${VM_TIMEOUT}s)"
  t0=$(now_s)
  timeout --kill-after=10 "$VM_TIMEOUT" qemu-system-x86_64 \
    -accel "$(vm_accel)" -cpu max -m "$VM_MEM_MB" -smp "$VM_CPUS" \
    -nographic -nic none -no-reboot \
    -kernel "$image/vmlinuz" -initrd "$image/initrd.img" -append "$VM_KERNEL_CMDLINE" \
    -drive "file=$overlay,format=qcow2,if=virtio,cache=unsafe" \
    -virtfs "local,path=$share,mount_tag=host0,security_model=none,id=host0" \
    </dev/null >"$share/console.log" 2>&1 &
  pid=$!
  wait "$pid" || rc=$?
  [ "$overlay" = "$disk" ] || rm -f "$overlay"
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    warn "the guest did not power off within ${VM_TIMEOUT}s; killed (console: $share/console.log)"
    tail -n 20 "$share/console.log" >&2 || true
    return 124
  fi
  [ "$rc" -eq 0 ] || { tail -n 20 "$share/console.log" >&2; die "qemu-system-x86_64 exited with $rc"; }
  if [ ! -f "$share/job.rc" ]; then
    warn "the guest powered off without running job.sh (console: $share/console.log)"
    tail -n 30 "$share/console.log" >&2 || true
    return 125
  fi
  log "guest ran job.sh and powered off in $(elapsed_since "$t0")s (exit $(cat "$share/job.rc"))"
  return "$(cat "$share/job.rc")"
}

vm_ensure_qemu() {
  command -v qemu-system-x86_64 >/dev/null && command -v qemu-img >/dev/null && return 0
  apt_update_once
  log "apt-get install --no-install-recommends qemu-system-x86 qemu-utils"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-system-x86 qemu-utils >&2 \
    || die "apt-get install qemu-system-x86 qemu-utils failed"
}

vm_disk_format() {
  case $1 in
    *.qcow2) echo qcow2 ;;
    *) echo raw ;;
  esac
}

# vm_provision TAR...: a qcow2 layer over the built image in which the
# guest's Docker has loaded TARs; cached by the image's recipe and the tars'
# base names (name them after the image IDs). Prints the layer's path.
vm_provision() {
  local image key layer share rc=0 t
  image=$(vm_image_dir)
  [ -f "$image/rootfs.img" ] || die "no guest image for recipe $(vm_recipe_hash); run: scripts/vm.sh build"
  key=$(for t in "$@"; do basename "$t"; done | sort | sha256sum | cut -c1-16)
  layer=$image/provisioned-$key.qcow2
  if [ -f "$layer" ]; then
    log "provisioned disk is up to date: $layer"
    echo "$layer"
    return 0
  fi
  # qemu-img makes the layer before the first boot installs anything.
  vm_ensure_qemu
  share=$(mktemp -d "$VM_CACHE/.provision.XXXXXX")
  for t in "$@"; do ln "$t" "$share/" 2>/dev/null || cp "$t" "$share/"; done
  cat >"$share/job.sh" <<'EOF'
set -eu
for t in /mnt/host/*.tar; do
  echo "docker load < $t"
  docker load <"$t"
done
docker image ls
EOF
  qemu-img create -q -f qcow2 -F raw -b "$image/rootfs.img" "$share/disk.qcow2" >/dev/null
  log "provisioning: loading $# image tar(s) into the guest's Docker"
  # Boot the layer itself (not a throwaway overlay of it): its writes are the point.
  vm_run_layer "$share" "$share/disk.qcow2" || rc=$?
  if [ "$rc" -ne 0 ]; then
    cat "$share/job.log" >&2 2>/dev/null || true
    rm -rf "$share"
    die "provisioning failed (exit $rc)"
  fi
  sed 's/^/    /' "$share/job.log" >&2
  mv "$share/disk.qcow2" "$layer"
  rm -rf "$share"
  # Layers of older images are never used again.
  find "$image" -maxdepth 1 -name 'provisioned-*.qcow2' ! -name "${layer##*/}" -delete
  echo "$layer"
}

# vm_run_layer SHARE DISK: like vm_run, but DISK itself takes the writes.
vm_run_layer() {
  VM_NO_OVERLAY=1 vm_run "$@"
}

main() {
  case ${1:-} in
    build) vm_build ;;
    provision) shift; vm_provision "$@" ;;
    run) shift; [ $# -ge 1 ] || die "usage: $0 run SHARE [DISK]"; vm_run "$@" ;;
    -h | --help | "") sed -n '2,22p' "$VM_SELF" | sed 's/^# \{0,1\}//' ;;
    *) echo "usage: $0 build|provision TAR...|run SHARE [DISK]" >&2; return 2 ;;
  esac
}

[ "${BASH_SOURCE[0]}" != "$0" ] || main "$@"
