# Shared by build.sh and test.sh (sourced, not run): names and paths, logging, time-bounded
# steps, the host tools podman needs, and podman configured for these machines.
# shellcheck shell=bash

set -euo pipefail

IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$IMAGES_DIR/../.." && pwd)
WORK_DIR="$REPO_ROOT/.work/images"   # git-ignored; `make clean` removes it

# debootstrap, runc and chroot live in sbin, which a non-login root shell may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
export CONTAINERS_CONF="$IMAGES_DIR/containers.conf"

# The host's certificate authorities: HTTPS from inside a build (pip) must trust the same ones.
HOST_CA_BUNDLE=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}

# The local stand-in for airbyte/python-connector-base:4.0.0. Its tag carries a digest of its
# recipe, so changing the recipe builds a new base instead of reusing a stale one.
STAND_IN_RECIPE="$IMAGES_DIR/stand-in-base.sh"
STAND_IN_REPO="localhost/python-connector-base-stand-in"
stand_in_image() {
    local digest
    digest=$(sha256sum "$STAND_IN_RECIPE" | cut -c1-12)
    printf '%s:4.0.0-%s\n' "$STAND_IN_REPO" "$digest"
}

# connector name -> Dockerfile (relative to the repository root, which is the build context)
declare -A DOCKERFILES=([source-convex]=Dockerfile.source [destination-convex]=Dockerfile.destination)
CONNECTORS=(source-convex destination-convex)
DEV_TAG=dev

connector_image() {   # the image `make images` builds for a connector; test.sh runs this one
    printf 'localhost/airbyte/%s:%s\n' "$1" "$DEV_TAG"
}

connector_version() {   # the [project] version of a connector's pyproject.toml
    local pyproject="$REPO_ROOT/$1/pyproject.toml" version
    version=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$pyproject" | head -n 1)
    [[ -n $version ]] || die "no version = \"...\" line in $1/pyproject.toml"
    printf '%s\n' "$version"
}

log() { printf '[images] %s\n' "$*" >&2; }
die() { printf '[images] ERROR: %s\n' "$*" >&2; exit 1; }

# bounded SECONDS WHAT COMMAND...
# Runs COMMAND (an executable, not a shell function); fails with a message naming WHAT when it
# exits non-zero or is still running after SECONDS. With LOG_FILE set, output goes there and its
# tail is shown on failure.
bounded() {
    local limit=$1 what=$2 started=$SECONDS rc=0
    shift 2
    if [[ -n ${LOG_FILE:-} ]]; then
        timeout --kill-after=15 "$limit" "$@" >"$LOG_FILE" 2>&1 || rc=$?
    else
        timeout --kill-after=15 "$limit" "$@" || rc=$?
    fi
    if ((rc != 0)); then
        if [[ -n ${LOG_FILE:-} ]]; then
            log "last lines of $LOG_FILE:"
            tail -n 40 "$LOG_FILE" >&2 || true
        fi
        ((rc == 124 || rc == 137)) && die "$what: still running after ${limit}s, stopped"
        die "$what: failed (exit $rc)"
    fi
    log "$what: done in $((SECONDS - started))s"
}

# Installs podman, buildah, runc and debootstrap with apt-get when any is missing.
ensure_host_tools() {
    local missing=() tool
    for tool in podman buildah runc debootstrap; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    ((${#missing[@]} == 0)) && return 0
    ((EUID == 0)) || die "missing ${missing[*]}; install them (apt-get install podman buildah runc debootstrap) or run as root"
    command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them: this needs a Debian-like host"
    log "installing ${missing[*]} with apt-get"
    LOG_FILE="$WORK_DIR/apt-get.log" bounded 300 "apt-get update" apt-get update
    LOG_FILE="$WORK_DIR/apt-get.log" bounded 600 "apt-get install podman buildah runc debootstrap" \
        env DEBIAN_FRONTEND=noninteractive apt-get install -y podman buildah runc debootstrap
}

# podman as root is what works here (rootless needs subuid ranges and a user session).
require_root() {
    ((EUID == 0)) || die "the image scripts run podman as root; run them as root (e.g. in CI)"
}

image_size() {   # bytes
    podman image inspect --format '{{.Size}}' "$1"
}

human_mb() {   # bytes -> "123.4 MB" (decimal, as podman prints sizes)
    awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1000000 }'
}
