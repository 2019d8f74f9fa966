#!/usr/bin/env bash
# Builds a local stand-in for docker.io/airbyte/python-connector-base:4.0.0, which cannot be
# pulled here (no image registry is reachable), and imports it into podman as IMAGE.
#
# Usage: stand-in-base.sh IMAGE
#
# What it mirrors from the upstream base (python:3.11-slim-bookworm plus Airbyte's additions):
# Debian bookworm, CPython 3.11 with pip and venv, `python`/`pip` on PATH, pip allowed to
# install into the system interpreter, UTC time zone, the system user and group `airbyte`
# (uid/gid 1000, no home directory created), /airbyte owned by it, /tmp owned by it, the
# /custom_cache pip cache location, and the working directory /airbyte/integration_code.
# Not mirrored: the file-based CDK extras (tesseract, poppler, nltk data) and socat, which
# these connectors do not use. The Python patch level is Debian's (3.11.2), not upstream's.
#
# This file's digest is part of the image tag (lib.sh), so any change here builds a new base.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

image=${1:?usage: stand-in-base.sh IMAGE}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
rootfs="$WORK_DIR/stand-in-rootfs"

remove_rootfs() {
    [[ -d $rootfs ]] || return 0
    # debootstrap mounts /proc and /sys inside the tree while it runs; an interrupted run can
    # leave them mounted. Never delete through a mount.
    local mounts
    mounts=$(awk -v root="$rootfs/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r)
    if [[ -n $mounts ]]; then
        # shellcheck disable=SC2086
        umount $mounts || die "cannot unmount leftovers under $rootfs: $mounts"
    fi
    rm -rf --one-file-system "$rootfs"
}

trap remove_rootfs EXIT
remove_rootfs
mkdir -p "$rootfs"

LOG_FILE="$WORK_DIR/debootstrap.log" bounded 900 "debootstrap Debian bookworm with Python 3.11" \
    debootstrap --variant=minbase \
    --include=python3,python3-pip,python3-venv,python-is-python3,ca-certificates,tzdata \
    bookworm "$rootfs" "$mirror"

# The same steps as the upstream base, run in the tree before it becomes an image so that the
# image is one layer with nothing left behind.
LOG_FILE="$WORK_DIR/stand-in-setup.log" bounded 120 "airbyte user, paths and clean-up" \
    chroot "$rootfs" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/sh -eu -c '
        ln -snf /usr/share/zoneinfo/Etc/UTC /etc/localtime
        echo Etc/UTC > /etc/timezone
        groupadd --system --gid 1000 airbyte
        useradd --system --uid 1000 --gid airbyte --no-create-home --home-dir /home/airbyte \
            --shell /usr/sbin/nologin airbyte
        mkdir -p --mode 755 /custom_cache /airbyte/integration_code
        chown -R airbyte:airbyte /airbyte /tmp
        # The upstream interpreter is not managed by a distribution, so pip installs into it
        # directly; Debian marks its own as externally managed (PEP 668).
        rm -f /usr/lib/python3*/EXTERNALLY-MANAGED
        python --version
        pip --version
        apt-get clean
        rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/log/* \
            /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/*
    '

LOG_FILE="$WORK_DIR/stand-in-import.log" bounded 300 "import the stand-in base as $image" \
    bash -c 'set -o pipefail; tar -C "$1" --numeric-owner --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* -cf - . |
        podman import \
            --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
            --change "ENV LANG=C.UTF-8" \
            --change "ENV PIP_CACHE_DIR=/custom_cache/pip" \
            --change "WORKDIR /airbyte/integration_code" \
            --change "CMD [\"python\"]" \
            --change "LABEL io.airbyte.stand_in_for=docker.io/airbyte/python-connector-base:4.0.0" \
            - "$2"' _ "$rootfs" "$image"
