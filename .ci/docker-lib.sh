# Helpers for .ci/docker.sh (sourced): messages, the host's Debian suite and mirror, sizes.

CLEANUP=()
cleanup() {
  local d
  for d in "${CLEANUP[@]+"${CLEANUP[@]}"}"; do
    rm -rf "$d"
  done
}
trap cleanup EXIT

say() { printf 'docker.sh: %s\n' "$*"; }

die() {
  local code="$1"
  shift
  printf 'docker.sh: error: %s\n' "$*" >&2
  exit "$code"
}

# The host's Debian suite (bookworm, trixie, ...), or bookworm when the host is not Debian.
host_suite() {
  local id="" codename=""
  if [ -r /etc/os-release ]; then
    id="$(. /etc/os-release && echo "${ID:-}")"
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  fi
  if [ "$id" = debian ] && [ -n "$codename" ]; then
    echo "$codename"
  else
    echo bookworm
  fi
}

# The Debian mirror apt is configured with (deb822 .sources or one-line sources.list), skipping
# the security archive; the public default when none is found.
host_mirror() {
  local uri
  uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | awk '/^URIs:/ {print $2}' | grep -v -- '-security' | grep '/debian/*$' | head -n 1 || true)"
  if [ -z "$uri" ]; then
    uri="$(cat /etc/apt/sources.list 2>/dev/null \
      | awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}}' \
      | grep -v -- '-security' | grep '/debian/*$' | head -n 1 || true)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

# Uncompressed size of an image, in MB.
image_size() {
  docker image inspect --format '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1 / 1000000}'
}
