#!/usr/bin/env bash
# `make images`: builds the source-convex and destination-convex images with podman, on a local
# stand-in for Airbyte's Python connector base image (no image registry is reachable here).
# Idempotent: host tools are installed only when missing, the base only when its recipe changed,
# and podman's layer cache makes an unchanged connector rebuild in seconds (IMAGES_NO_CACHE=1
# rebuilds the connector layers anyway, e.g. to pick up new releases of the dependencies).
# The two connectors build in parallel. Prints each image's size and what the connector adds
# over the base.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root
mkdir -p "$WORK_DIR"
started=$SECONDS

ensure_host_tools

base=$(stand_in_image)
if podman image exists "$base"; then
    log "stand-in base $base: already built"
else
    log "stand-in base $base: building (debootstrap, about a minute)"
    bash "$STAND_IN_RECIPE" "$base"
fi

# The two Dockerfiles must stay the same file apart from the connector's name.
if ! diff -u <(sed -e 's/source-convex/destination-convex/g' -e 's/Dockerfile\.source /Dockerfile.destination /g' \
    "$REPO_ROOT/Dockerfile.source") "$REPO_ROOT/Dockerfile.destination" >"$WORK_DIR/dockerfiles.diff"; then
    cat "$WORK_DIR/dockerfiles.diff" >&2
    die "Dockerfile.destination differs from Dockerfile.source by more than the connector's name"
fi

ca_mount=()
if [[ -f $HOST_CA_BUNDLE ]]; then
    ca_mount=(--volume "$HOST_CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro")
else
    log "no CA bundle at $HOST_CA_BUNDLE: pip in the build uses the image's own certificate authorities"
fi

cache_flags=(--layers)
[[ ${IMAGES_NO_CACHE:-0} == 1 ]] && cache_flags=(--no-cache)

build_connector() {
    local connector=$1 version image previous current
    version=$(connector_version "$connector")
    image=$(connector_image "$connector")
    previous=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
    # --network host: the build reaches PyPI like the host does. The host's CA bundle is mounted
    # over the image's for the build steps only (pip trusts the system bundle); it is never
    # written into a layer.
    LOG_FILE="$WORK_DIR/build-$connector.log" bounded 900 "build $image ($connector $version)" \
        podman build --pull=never "${cache_flags[@]}" --network host \
        --file "$REPO_ROOT/${DOCKERFILES[$connector]}" \
        --build-arg "BASE_IMAGE=$base" \
        --build-arg "CONNECTOR_VERSION=$version" \
        "${ca_mount[@]}" \
        --tag "$image" \
        --tag "localhost/airbyte/$connector:$version" \
        "$REPO_ROOT"
    current=$(podman image inspect --format '{{.Id}}' "$image")
    # A rebuild leaves the replaced image untagged; drop it so disk use does not grow per build.
    if [[ -n $previous && $previous != "$current" ]]; then
        podman rmi "$previous" >/dev/null 2>&1 || log "kept the replaced image ${previous:0:12} (still in use)"
    fi
}

# In parallel: each build is mostly one single-threaded pip install.
build_pids=()
for connector in "${CONNECTORS[@]}"; do
    build_connector "$connector" &
    build_pids+=($!)
done
failed=0
for pid in "${build_pids[@]}"; do
    wait "$pid" || failed=1
done
((failed == 0)) || die "an image build failed (its error is above)"

# Stand-in bases of earlier recipes are no longer used once both connectors are rebuilt.
for old in $(podman images --format '{{.Repository}}:{{.Tag}}' "$STAND_IN_REPO"); do
    [[ $old == "$base" ]] && continue
    podman rmi "$old" >/dev/null 2>&1 && log "removed the outdated stand-in base $old" ||
        log "kept the outdated stand-in base $old (still in use)"
done

base_size=$(image_size "$base")
log "sizes (uncompressed):"
printf '  %-60s %10s\n' "$base" "$(human_mb "$base_size")" >&2
for connector in "${CONNECTORS[@]}"; do
    image=$(connector_image "$connector")
    size=$(image_size "$image")
    printf '  %-60s %10s  (%s over the base)\n' "$image" "$(human_mb "$size")" \
        "$(human_mb $((size - base_size)))" >&2
done
log "images built in $((SECONDS - started))s"
