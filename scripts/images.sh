#!/usr/bin/env bash
# Builds the local test images from distribution packages with debootstrap;
# no image registry is involved.
#
#   scripts/images.sh [debian|syscont|static|all]     (default: all)
#
#   sysbox-test/debian:bookworm    debootstrap --variant=minbase bookworm
#   sysbox-test/syscont:bookworm   minbase + systemd, dbus, docker.io, ...;
#                                  CMD /sbin/init, STOPSIGNAL SIGRTMIN+3
#   sysbox-test/static:busybox     the host distribution's static busybox and
#                                  nothing else: no libc, no libseccomp
#
# Each image carries the label sysbox-test.recipe=<hash of the recipe section
# below and the target distribution>. An image with the current hash is left
# alone; otherwise a cached tarball in /var/cache/sysbox-ts/images is
# imported; otherwise the rootfs is built, saved there, and imported.
#
# The mirror is read at run time from the host's apt configuration (one-line
# *.list and deb822 *.sources), or taken from SYSBOX_IMAGE_MIRROR.
#
# Ubuntu hosts: Debian's bookworm cannot be bootstrapped from an Ubuntu
# mirror, so there the same recipe builds the host's own Ubuntu release from
# the host's mirror and tags it with the same names; the label
# sysbox-test.distro records what is inside (e.g. ubuntu-noble). The tests
# need an image of this shape, not bookworm in particular.
#
# Needs root and a running dockerd (scripts/dockerd.sh start).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")
CACHE_DIR=/var/cache/sysbox-ts/images
# Downloaded .debs, shared between builds so a recipe change re-downloads little.
DEB_CACHE=/var/cache/sysbox-ts/debs

# ---- recipe begin (everything up to "recipe end" is hashed) ----
RECIPE_REVISION=1
DEBIAN_SUITE=bookworm
IMAGE_NAMES=(debian syscont)
declare -A IMAGE_TAG=(
  [debian]=sysbox-test/debian:bookworm
  [syscont]=sysbox-test/syscont:bookworm
)
# systemd as init, Docker inside, and the small tools one expects in a shell.
SYSCONT_PACKAGES=systemd,systemd-sysv,dbus,docker.io,iproute2,procps,kmod,iptables,ca-certificates,iputils-ping,less,netbase,psmisc
# Units that only make sense on a real machine (mirrors the masks in Nestybox's
# systemd images).
SYSCONT_MASK=(
  systemd-udevd.service systemd-udevd-kernel.socket systemd-udevd-control.socket
  systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount
  sys-kernel-tracing.mount e2scrub_reap.service
)
DEFAULT_PATH_ENV=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

image_packages() {
  case $1 in
    debian) echo "" ;;
    syscont) echo "$SYSCONT_PACKAGES" ;;
  esac
}

# docker import --change lines (the recipe label is added by the caller).
image_changes() {
  echo "ENV PATH=$DEFAULT_PATH_ENV"
  case $1 in
    debian) echo 'CMD ["bash"]' ;;
    syscont) echo 'CMD ["/sbin/init"]' ;;
  esac
}

# Dockerfile lines applied on top of the import, for settings that
# `docker import --change` refuses on some Docker versions (20.10 has no
# STOPSIGNAL there). They add image config only, no layer.
image_dockerfile() {
  case $1 in
    syscont) echo 'STOPSIGNAL SIGRTMIN+3' ;;
  esac
}

# customize_rootfs IMAGE DIR: trim and adjust a freshly bootstrapped rootfs.
customize_rootfs() {
  local image=$1 dir=$2
  chroot "$dir" apt-get clean
  find "$dir/var/lib/apt/lists" -maxdepth 1 -type f -delete
  rm -f "$dir"/var/cache/debconf/*-old "$dir"/var/lib/dpkg/*-old
  find "$dir/var/log" -type f -exec truncate -s 0 {} +
  # Docker provides these at run time; do not ship the build host's.
  : >"$dir/etc/resolv.conf"
  echo localhost >"$dir/etc/hostname"
  # Each container gets its own machine id at first boot.
  [ ! -e "$dir/etc/machine-id" ] || : >"$dir/etc/machine-id"
  rm -f "$dir/var/lib/dbus/machine-id"
  if [ "$image" = syscont ]; then
    chroot "$dir" systemctl mask "${SYSCONT_MASK[@]}" >/dev/null 2>&1
    chroot "$dir" systemctl set-default multi-user.target >/dev/null 2>&1
    mkdir -p "$dir/etc/systemd/journald.conf.d"
    printf '[Journal]\nReadKMsg=no\n' >"$dir/etc/systemd/journald.conf.d/container.conf"
  fi
}
# ---- recipe end ----

# The static image is built apart from the recipe: one package, no debootstrap.
STATIC_TAG=sysbox-test/static:busybox
STATIC_REVISION=1
STATIC_APPLETS=(sh echo cat ls sleep mount umount grep mkdir test true id readlink)

ensure_static_image() {
  local label="static-$STATIC_REVISION" deb dir a
  if [ "$(image_label "$STATIC_TAG")" = "$label" ]; then
    log "$STATIC_TAG is up to date"
    return 0
  fi
  mkdir -p "$DEB_CACHE"
  deb=$(find "$DEB_CACHE" -maxdepth 1 -name 'busybox-static_*.deb' | sort | tail -n 1)
  if [ -z "$deb" ]; then
    log "$STATIC_TAG: downloading busybox-static"
    (cd "$DEB_CACHE" && apt-get download busybox-static >/dev/null 2>&1) ||
      { apt-get update -qq >/dev/null 2>&1 && (cd "$DEB_CACHE" && apt-get download busybox-static >/dev/null); } ||
      die "$STATIC_TAG: apt-get download busybox-static failed"
    deb=$(find "$DEB_CACHE" -maxdepth 1 -name 'busybox-static_*.deb' | sort | tail -n 1)
  fi
  dir=$(mktemp -d)
  dpkg-deb -x "$deb" "$dir/pkg"
  mkdir -p "$dir/root/bin" "$dir/root/tmp" "$dir/root/mnt" "$dir/root/proc" "$dir/root/sys" "$dir/root/dev" "$dir/root/etc"
  cp "$dir/pkg/bin/busybox" "$dir/root/bin/busybox"
  for a in "${STATIC_APPLETS[@]}"; do ln -s busybox "$dir/root/bin/$a"; done
  echo 'root:x:0:0:root:/:/bin/sh' >"$dir/root/etc/passwd"
  tar --numeric-owner -C "$dir/root" -c . |
    docker import --change "ENV PATH=/bin" --change 'CMD ["sh"]' --change "LABEL sysbox-test.recipe=$label" - "$STATIC_TAG" >/dev/null
  rm -rf "$dir"
  log "$STATIC_TAG: built from $(basename "$deb")"
}

# --- target distribution and mirror ---------------------------------------

# Sets DISTRO (debian|ubuntu), SUITE, COMPONENTS for this host.
pick_target() {
  local id like codename
  id=$(. /etc/os-release && echo "${ID:-}")
  like=$(. /etc/os-release && echo "${ID_LIKE:-}")
  if [ "$id" = ubuntu ] || [[ " $like " == *" ubuntu "* ]]; then
    codename=$(. /etc/os-release && echo "${UBUNTU_CODENAME:-${VERSION_CODENAME:-}}")
    [ -n "$codename" ] || die "cannot tell this Ubuntu host's release from /etc/os-release"
    DISTRO=ubuntu SUITE=$codename COMPONENTS=main,universe
  elif [ "$id" = debian ] || [[ " $like " == *" debian "* ]]; then
    DISTRO=debian SUITE=$DEBIAN_SUITE COMPONENTS=main
  else
    die "unsupported host distribution '$id': images are built with debootstrap on Debian or Ubuntu"
  fi
}

# The URIs of the host's apt sources for suite $1, best first: one-line
# sources.list entries, then sources.list.d/*.list and *.sources (deb822).
apt_source_uris() {
  local suite=$1 f
  local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
  for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    case $f in
      *.sources)
        awk -v suite="$suite" '
          BEGIN { RS = ""; FS = "\n" }
          {
            types = ""; uris = ""; suites = ""; enabled = "yes"
            for (i = 1; i <= NF; i++) {
              line = $i
              if (line ~ /^[ \t]*#/) continue
              split(line, kv, ":")
              key = tolower(kv[1]); val = substr(line, length(kv[1]) + 2)
              gsub(/^[ \t]+|[ \t]+$/, "", val)
              if (key == "types") types = val
              else if (key == "uris") uris = val
              else if (key == "suites") suites = val
              else if (key == "enabled") enabled = tolower(val)
            }
            if (enabled == "no" || (" " types " ") !~ / deb /) next
            if ((" " suites " ") !~ (" " suite " ")) next
            n = split(uris, u, /[ \t]+/)
            for (j = 1; j <= n; j++) print u[j]
          }' "$f"
        ;;
      *)
        awk -v suite="$suite" '
          $1 == "deb" {
            i = 2
            if ($i ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
            if ($(i + 1) == suite) print $i
          }' "$f"
        ;;
    esac
  done
}

# Resolves apt's "mirror+file:" indirection to the first mirror listed.
resolve_uri() {
  local uri=$1
  case $uri in
    mirror+file:*)
      local list=${uri#mirror+file:}
      grep -Ev '^[[:space:]]*(#|$)' "$list" | awk '{print $1; exit}'
      ;;
    http://* | https://* | file:/*) echo "$uri" ;;
    *) return 1 ;;
  esac
}

# Sets MIRROR for $DISTRO/$SUITE.
pick_mirror() {
  if [ -n "${SYSBOX_IMAGE_MIRROR:-}" ]; then MIRROR=$SYSBOX_IMAGE_MIRROR; return; fi
  local host_codename uri
  host_codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ "$DISTRO" = ubuntu ] && host_codename=$SUITE
  [ -n "$host_codename" ] || die "cannot tell this host's release codename from /etc/os-release"
  while read -r uri; do
    if MIRROR=$(resolve_uri "$uri") && [ -n "$MIRROR" ]; then return; fi
  done < <(apt_source_uris "$host_codename")
  die "no '$host_codename' apt source found in /etc/apt/sources.list{,.d}; set SYSBOX_IMAGE_MIRROR"
}

# debootstrap fetches with wget, which knows nothing of apt's proxy setting.
use_apt_proxy() {
  [ -n "${http_proxy:-}" ] && return 0
  local APT_PROXY=""
  eval "$(apt-config shell APT_PROXY Acquire::http::Proxy 2>/dev/null)" || true
  if [ -n "$APT_PROXY" ]; then
    export http_proxy=$APT_PROXY
    log "using apt's HTTP proxy for debootstrap"
  fi
}

# --- cache and build -----------------------------------------------------

recipe_hash() {
  local image=$1
  {
    sed -n '/^# ---- recipe begin/,/^# ---- recipe end/p' "$SELF"
    echo "image=$image distro=$DISTRO suite=$SUITE components=$COMPONENTS"
    echo "packages=$(image_packages "$image")"
  } | sha256sum | cut -c1-16
}

image_label() {
  docker image inspect --format '{{index .Config.Labels "sysbox-test.recipe"}}' "$1" 2>/dev/null || true
}

import_tarball() {
  local image=$1 tarball=$2 hash=$3 tag=${IMAGE_TAG[$1]} change changes=() old
  old=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null) || old=
  while read -r change; do changes+=(--change "$change"); done < <(image_changes "$image")
  changes+=(--change "LABEL sysbox-test.recipe=$hash sysbox-test.distro=$DISTRO-$SUITE")
  docker import "${changes[@]}" "$tarball" "$tag" >/dev/null
  local extra out
  extra=$(image_dockerfile "$image")
  if [ -z "$extra" ]; then remove_replaced "$tag" "$old"; return 0; fi
  # The legacy builder works on every Docker version without a registry: FROM
  # names the image just imported, so nothing is pulled.
  if ! out=$(printf 'FROM %s\n%s\n' "$tag" "$extra" | DOCKER_BUILDKIT=0 docker build -q -t "$tag" - 2>&1); then
    printf '%s\n' "$out" >&2
    die "$tag: applying '$extra' failed"
  fi
  remove_replaced "$tag" "$old"
}

# Removes the image that an older recipe left untagged, unless it is in use
# or still has a tag.
remove_replaced() {
  local tag=$1 old=$2
  [ -n "$old" ] && [ "$old" != "$(docker image inspect --format '{{.Id}}' "$tag")" ] || return 0
  [ "$(docker image inspect --format '{{len .RepoTags}}' "$old" 2>/dev/null)" = 0 ] || return 0
  docker rmi "$old" >/dev/null 2>&1 || true
}

# Unmounts whatever debootstrap may have left mounted inside DIR, deepest first.
umount_under() {
  local dir=$1 m
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
}

cleanup_workdir() {
  [ -n "${WORKDIR:-}" ] && [ -d "$WORKDIR" ] || return 0
  umount_under "$WORKDIR"
  rm -rf --one-file-system "$WORKDIR"
}

# Prints debootstrap's stage lines as they come and condenses its
# per-package lines into a running count.
debootstrap_progress() {
  awk '
    /^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) [^ ]+( |\.\.\.$)/ &&
    !/ (required|base) packages|the base system|Release|Packages$/ {
      n[$2]++
      if (n[$2] % 25 == 0) { printf "    ... %s %d packages\n", tolower($2), n[$2]; fflush() }
      next
    }
    { print "    " $0; fflush() }'
}

build_rootfs() {
  local image=$1 dir=$2 logfile=$3 packages args
  packages=$(image_packages "$image")
  args=(--variant=minbase --components="$COMPONENTS" --cache-dir="$DEB_CACHE")
  [ -n "$packages" ] && args+=(--include="$packages")
  log "debootstrap ${args[*]} $SUITE <rootfs> $MIRROR"
  mkdir -p "$DEB_CACHE"
  if ! debootstrap "${args[@]}" "$SUITE" "$dir" "$MIRROR" 2>&1 | tee "$logfile" | debootstrap_progress; then
    tail -n 20 "$dir/debootstrap/debootstrap.log" 2>/dev/null >&2 || true
    die "debootstrap failed for $image (output: $logfile)"
  fi
  customize_rootfs "$image" "$dir"
}

ensure_image() {
  local image=$1 tag=${IMAGE_TAG[$1]} hash tarball t0
  hash=$(recipe_hash "$image")
  tarball=$CACHE_DIR/$image-$hash.tar
  t0=$(now_s)
  if [ "$(image_label "$tag")" = "$hash" ]; then
    log "$tag is up to date (recipe $hash)"
    return 0
  fi
  if [ -f "$tarball" ]; then
    log "$tag: importing cached $tarball"
    import_tarball "$image" "$tarball" "$hash"
    log "$tag: imported in $(elapsed_since "$t0")s"
    return 0
  fi

  log "$tag: building ($DISTRO $SUITE, recipe $hash); this takes a few minutes"
  WORKDIR=$(mktemp -d "$CACHE_DIR/.build-$image.XXXXXX")
  build_rootfs "$image" "$WORKDIR/rootfs" "$WORKDIR/debootstrap.out"
  log "$tag: rootfs built in $(elapsed_since "$t0")s ($(du -sh --one-file-system "$WORKDIR/rootfs" | cut -f1)); saving tarball"
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$WORKDIR/rootfs" -cf "$WORKDIR/rootfs.tar" .
  mv "$WORKDIR/rootfs.tar" "$tarball"
  cleanup_workdir
  WORKDIR=
  # Tarballs of older recipes are never used again.
  find "$CACHE_DIR" -maxdepth 1 -name "$image-*.tar" ! -name "$image-$hash.tar" -delete
  import_tarball "$image" "$tarball" "$hash"
  log "$tag: built and imported in $(elapsed_since "$t0")s"
}

main() {
  local which=${1:-all} images=() image
  case $which in
    all) images=("${IMAGE_NAMES[@]}") ;;
    debian | syscont) images=("$which") ;;
    static) ;;
    -h | --help) sed -n '2,11p' "$SELF" | sed 's/^# \{0,1\}//'; return 0 ;;
    *) echo "usage: $0 [debian|syscont|static|all]" >&2; return 2 ;;
  esac
  require_root
  docker info >/dev/null 2>&1 || die "docker is not answering; run scripts/dockerd.sh start first"
  pick_target
  mkdir -p "$CACHE_DIR"
  # One builder at a time; a second caller waits and then finds the images.
  exec 9>"$CACHE_DIR/.lock"
  flock -n 9 || { log "another images.sh is running; waiting for it"; flock 9; }
  trap cleanup_workdir EXIT
  trap 'exit 130' INT TERM

  local need_build=0
  for image in "${images[@]}"; do
    local h
    h=$(recipe_hash "$image")
    if [ "$(image_label "${IMAGE_TAG[$image]}")" != "$h" ] && [ ! -f "$CACHE_DIR/$image-$h.tar" ]; then
      need_build=1
    fi
  done
  if [ "$need_build" = 1 ]; then
    command -v debootstrap >/dev/null || apt_install_missing debootstrap
    pick_mirror
    use_apt_proxy
  fi

  local t0
  t0=$(now_s)
  for image in "${images[@]}"; do ensure_image "$image"; done
  if [ "$which" = all ] || [ "$which" = static ]; then ensure_static_image; fi
  for image in "${images[@]}"; do
    log "$(docker image ls --format '{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' "${IMAGE_TAG[$image]}")"
  done
  log "done in $(elapsed_since "$t0")s"
}

# Sourced (by scripts/vm.sh, for the target and mirror helpers), it runs nothing.
[ "${BASH_SOURCE[0]}" != "$0" ] || main "$@"
