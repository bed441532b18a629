#!/usr/bin/env bash
# Prepare Docker for braze-export on a machine that reaches no container registry:
# install the engine, start it, build a Debian base image with debootstrap, fetch the wheels on
# the host for the base image's Python, and build the braze-export image offline.
#
# Idempotent: each step is skipped when its result is already there (a running daemon, the base
# image), so a second run only rebuilds the wheels and the image (a few seconds).
#
#   .ci/docker.sh [all|packages|daemon|base|wheels|image]     (default: all)
#
# Environment (all optional):
#   IMAGE=braze-export:local           tag of the image built
#   BASE_IMAGE=braze-export-base:local tag of the base image (built here only if it is missing)
#   BASE_SUITE, DEBIAN_MIRROR          Debian suite and mirror for debootstrap
#                                      (default: the host's suite and its configured mirror)
#   DOCKERD_LOG=/tmp/braze-export-dockerd.log
# Exit codes: 0 done; 1 a step failed; 75 the Docker daemon cannot run in this environment.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/.ci/docker-lib.sh"

IMAGE="${IMAGE:-braze-export:local}"
BASE_IMAGE="${BASE_IMAGE:-braze-export-base:local}"
CACHE="$ROOT/.ci/cache"
WHEELS="$CACHE/wheels"
DOCKERD_LOG="${DOCKERD_LOG:-/tmp/braze-export-dockerd.log}"

step_packages() {
  if command -v dockerd >/dev/null && command -v debootstrap >/dev/null; then
    say "packages: dockerd and debootstrap present"
    return
  fi
  say "packages: installing docker.io and debootstrap from Debian"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get update -q
  timeout 600 apt-get install -y -q docker.io debootstrap >/dev/null
}

step_daemon() {
  if docker info >/dev/null 2>&1; then
    say "daemon: already running"
    return
  fi
  command -v dockerd >/dev/null || die 1 "daemon: dockerd is not installed (run: $0 packages)"
  say "daemon: starting dockerd (no default bridge: containers get no network), log $DOCKERD_LOG"
  # Detached from this shell (own session, no inherited stdio), so that callers that wait for
  # their pipes to close do not wait for the daemon; fd 9 (our lock) is closed for it, or the
  # daemon would hold the lock for its whole life and the next run would wait 30 minutes.
  setsid dockerd --bridge=none --iptables=false --ip-masq=false \
    </dev/null >"$DOCKERD_LOG" 2>&1 9>&- &
  local pid=$!
  local i
  for i in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
      say "daemon: ready after ${i}s (pid $pid)"
      return
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      break
    fi
    sleep 1
  done
  echo "----- last lines of $DOCKERD_LOG -----" >&2
  tail -n 15 "$DOCKERD_LOG" >&2 || true
  die 75 "daemon: the Docker daemon cannot run in this environment (see $DOCKERD_LOG)"
}

step_base() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    say "base: $BASE_IMAGE already exists ($(image_size "$BASE_IMAGE")), debootstrap skipped"
    return
  fi
  local suite mirror rootfs t0
  suite="${BASE_SUITE:-$(host_suite)}"
  mirror="${DEBIAN_MIRROR:-$(host_mirror)}"
  rootfs="$(mktemp -d /var/tmp/braze-export-rootfs.XXXXXX)"
  CLEANUP+=("$rootfs")
  t0=$SECONDS
  say "base: debootstrap --variant=minbase $suite from $mirror (python3, python3-venv)"
  timeout 900 debootstrap --variant=minbase --include=python3,python3-venv \
    "$suite" "$rootfs" "$mirror" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -n 20 "$CACHE/debootstrap.log" >&2; die 1 "base: debootstrap failed (log $CACHE/debootstrap.log)"; }
  # What a container never needs: package caches and lists, docs, man pages, translations.
  rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
    "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old
  say "base: importing $(du -sh "$rootfs" | cut -f1) as $BASE_IMAGE"
  tar -C "$rootfs" -c . | timeout 300 docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  say "base: $BASE_IMAGE built in $((SECONDS - t0))s, $(image_size "$BASE_IMAGE")"
}

step_wheels() {
  local target pyver platforms_line t0
  local -a platforms
  t0=$SECONDS
  # The wheels must match the IMAGE's Python and C library, not the host's: ask the image.
  # It prints its Python version, then every manylinux platform tag its glibc accepts, newest
  # first (pip does not expand manylinux_2_X to older tags by itself).
  target="$(docker run --rm --network none --entrypoint python3 "$BASE_IMAGE" -c '
import platform, sys
libc, ver = platform.libc_ver()
assert libc == "glibc", "base image libc is %r; only glibc (manylinux) bases are supported" % libc
assert sys.version_info >= (3, 11), "base image has Python %s; braze-export needs 3.11+" % sys.version.split()[0]
arch, minor = platform.machine(), int(ver.split(".")[1])
tags = ["manylinux_2_%d_%s" % (m, arch) for m in range(minor, 4, -1)]
legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
tags += ["%s_%s" % (name, arch) for m, name in legacy.items() if m <= minor]
print("%d.%d" % sys.version_info[:2], *tags)
')" || die 1 "wheels: cannot read the Python version of $BASE_IMAGE"
  read -r pyver platforms_line <<<"$target"
  read -r -a platforms <<<"$platforms_line"
  say "wheels: for Python $pyver on ${platforms[0]} (and older manylinux tags) into ${WHEELS#"$ROOT"/}"
  rm -rf "$WHEELS"
  mkdir -p "$WHEELS"
  # 1. The project itself (pure Python), built from a clean copy of the working tree: an in-tree
  #    build would reuse build/lib, where a module deleted from the sources lives on.
  local src
  src="$(mktemp -d /var/tmp/braze-export-src.XXXXXX)"
  CLEANUP+=("$src")
  (cd "$ROOT" && tar -c --exclude=__pycache__ --exclude='*.pyc' \
    pyproject.toml setup.cfg setup.py connector config_schema \
    $(ls README.md LICENSE 2>/dev/null)) | tar -C "$src" -x
  timeout 300 python3 -m pip wheel --quiet --no-deps --wheel-dir "$WHEELS" "$src" \
    || die 1 "wheels: building the braze-export wheel failed"
  rm -rf "$src"
  # 2. Its dependencies as binary wheels for the image's interpreter (rpds-py and PyYAML
  #    have compiled parts): pip resolves them from the project's wheel.
  timeout 600 python3 -m pip download --quiet --dest "$WHEELS" --only-binary=:all: \
    --implementation cp --python-version "$pyver" "${platforms[@]/#/--platform=}" \
    "$WHEELS"/braze_export-*.whl \
    || die 1 "wheels: downloading the dependencies for Python $pyver / ${platforms[0]} failed"
  say "wheels: $(find "$WHEELS" -name '*.whl' | wc -l) wheels in $((SECONDS - t0))s"
}

step_image() {
  local t0=$SECONDS old
  old="$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
  say "image: docker build --build-arg BASE_IMAGE=$BASE_IMAGE --build-arg WHEELS=host -t $IMAGE (no network)"
  timeout 900 docker build --quiet --force-rm --network none \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg WHEELS=host \
    -t "$IMAGE" "$ROOT" >"$CACHE/docker-build.log" 2>&1 \
    || { tail -n 30 "$CACHE/docker-build.log" >&2; die 1 "image: docker build failed (log $CACHE/docker-build.log)"; }
  # The classic builder keeps each build's builder stage as an untagged image, and the image
  # this build replaced loses its tag: drop both, so that rebuilds do not fill the disk.
  docker image prune --force --filter label=braze-export.stage=builder >/dev/null
  if [ -n "$old" ] && [ "$old" != "$(docker image inspect --format '{{.Id}}' "$IMAGE")" ]; then
    docker image rm "$old" >/dev/null 2>&1 || true
  fi
  say "image: $IMAGE built in $((SECONDS - t0))s, $(image_size "$IMAGE")"
}

main() {
  local what="${1:-all}" t0=$SECONDS
  mkdir -p "$CACHE"
  # One run at a time (a test session may call this while .ci/run does): they share the wheels.
  exec 9>"$CACHE/docker.lock"
  if ! flock --nonblock 9; then
    say "waiting for another .ci/docker.sh to finish"
    flock --timeout 1800 9 || die 1 "another .ci/docker.sh held the lock for 30 minutes"
  fi
  case "$what" in
    packages) step_packages ;;
    daemon) step_packages; step_daemon ;;
    base) step_packages; step_daemon; step_base ;;
    wheels) step_daemon; step_base; step_wheels ;;
    image) step_daemon; step_image ;;
    all) step_packages; step_daemon; step_base; step_wheels; step_image ;;
    *) die 1 "unknown step '$what' (all|packages|daemon|base|wheels|image)" ;;
  esac
  say "done ($what) in $((SECONDS - t0))s"
}

main "$@"
