#!/usr/bin/env bash
# `make image-test`: runs the connector images the way Airbyte does (`docker run <image> <verb>`,
# config/catalog/state as mounted files) against local Convex-compatible servers on this host:
#   source:      spec, check, check with a wrong key, discover, read, read again from its state
#   destination: spec, check, write (the source's records and states), then the documents are
#                counted on the server
# and then the CDK's image tests (`pytest -m image_tests --connector-image ...`) through podman's
# docker-compatible socket, for each connector that has acceptance-test-config.yml/metadata.yaml.
# Needs the images of `make images`. Everything it starts is stopped on exit.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root
PY="$REPO_ROOT/.venv/bin/python"
[[ -x $PY ]] || die "no $REPO_ROOT/.venv: run 'make install' first"
for connector in "${CONNECTORS[@]}"; do
    podman image exists "$(connector_image "$connector")" ||
        die "no image $(connector_image "$connector"): run 'make images' first"
done
SOURCE_IMAGE=$(connector_image source-convex)
DESTINATION_IMAGE=$(connector_image destination-convex)
STEP_LIMIT_S=300
started=$SECONDS

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/convex-image-test.XXXXXX")
io="$run_dir/io"   # mounted read-only at /airbyte/io in every connector container
mkdir -m 755 "$io"
run_label="convex-image-test=$$"   # on every container this run starts, so cleanup finds them
server_pids=()
service_pid=

stop() {   # stop PID: SIGTERM, then SIGKILL if it is still there after 10 s
    local pid=$1 waited=0
    kill "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null && ((waited < 50)); do sleep 0.2; waited=$((waited + 1)); done
    kill -9 "$pid" 2>/dev/null || true
}

cleanup() {
    local pid id
    for id in $(podman ps --all --format '{{.ID}}' --filter "label=$run_label" 2>/dev/null); do
        podman rm --force "$id" >/dev/null 2>&1 || true
    done
    [[ -n $service_pid ]] && stop "$service_pid"
    for pid in "${server_pids[@]}"; do stop "$pid"; done
    rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Secrets never reach a log: output holding one is not shown, and assert_messages.py fails on it.
WRONG_KEY="convex-self-hosted|01ab$(printf '%040x' 7)cafe"   # realistic, so masking cannot hide a leak
IMAGE_TEST_SECRETS=$WRONG_KEY
export IMAGE_TEST_SECRETS

show_output() {   # show_output STEP: the tail of a step's output, unless it holds a secret
    local file secret
    for file in "$run_dir/$1.out" "$run_dir/$1.err"; do
        [[ -s $file ]] || continue
        while IFS= read -r secret; do
            if [[ -n $secret ]] && grep -qF -- "$secret" "$file"; then
                log "$(basename "$file") holds an access key: not shown"
                continue 2
            fi
        done <<<"$IMAGE_TEST_SECRETS"
        log "last lines of $(basename "$file"):"
        tail -n 30 "$file" >&2
    done
}

assert() {   # assert STEP CHECK ARGS...: assert_messages.py CHECK on STEP's output
    local step=$1
    shift
    local summary
    if ! "$PY" "$IMAGES_DIR/assert_messages.py" "$@" >"$run_dir/$step.assert" 2>&1; then
        show_output "$step"
        die "$step: $(tail -n 1 "$run_dir/$step.assert")"
    fi
    summary=$(head -n 1 "$run_dir/$step.assert")
    log "$step: ok${summary:+ ($summary)}"
}

# start_server NAME [serve options]: sets server_url and server_key
start_server() {
    local name=$1 out="$run_dir/server-$1.out" deadline=$((SECONDS + 30)) pid
    shift
    "$PY" -m convex_local serve --port 0 --data :memory: "$@" >"$out" 2>"$run_dir/server-$name.err" &
    pid=$!
    server_pids+=("$pid")
    until [[ -s $out && $(wc -l <"$out") -ge 1 ]]; do
        kill -0 "$pid" 2>/dev/null || { tail -n 20 "$run_dir/server-$name.err" >&2; die "the $name server exited before it was ready"; }
        ((SECONDS < deadline)) || die "the $name server printed no address within 30s"
        sleep 0.2
    done
    read -r server_url server_key < <(head -n 1 "$out" | "$PY" -c \
        'import json, sys; info = json.loads(sys.stdin.readline()); print(info["url"], info["admin_key"])') ||
        die "the $name server's first line is not the JSON {url, admin_key, ...} it should print"
    IMAGE_TEST_SECRETS+=$'\n'"$server_key"
    log "$name server: $server_url"
}

write_config() {   # write_config FILE URL KEY: a connector config, readable by the airbyte user only
    CONVEX_URL=$2 CONVEX_ACCESS_KEY=$3 "$PY" "$IMAGES_DIR/assert_messages.py" config "$1"
    own "$1"
}

own() { chown 1000:1000 "$1" && chmod 600 "$1"; }   # the images run as airbyte (uid 1000)

# run_step STEP EXIT STDIN IMAGE ARGS...: runs IMAGE with ARGS as Airbyte does; EXIT is 0 or "any"
run_step() {
    local step=$1 expect_exit=$2 stdin=$3 image=$4 rc=0 step_started=$SECONDS
    shift 4
    timeout --kill-after=15 "$STEP_LIMIT_S" podman run --rm -i --label "$run_label" \
        --network host --volume "$io:/airbyte/io:ro" "$image" "$@" \
        <"$stdin" >"$run_dir/$step.out" 2>"$run_dir/$step.err" || rc=$?
    ((rc == 124 || rc == 137)) && die "$step: still running after ${STEP_LIMIT_S}s, stopped"
    if [[ $expect_exit == 0 ]] && ((rc != 0)); then
        show_output "$step"
        die "$step: '${image##*/} $1' exited with $rc"
    fi
    log "$step: ran in $((SECONDS - step_started))s"
}

# --- the connectors in containers -------------------------------------------------------------

start_server source --seed-demo
source_url=$server_url source_key=$server_key
start_server destination
destination_url=$server_url destination_key=$server_key

write_config "$io/source.json" "$source_url" "$source_key"
write_config "$io/source-wrong-key.json" "$source_url" "$WRONG_KEY"
write_config "$io/destination.json" "$destination_url" "$destination_key"
cfg=/airbyte/io

run_step source-spec 0 /dev/null "$SOURCE_IMAGE" spec
assert source-spec spec "$run_dir/source-spec.out"
run_step source-check 0 /dev/null "$SOURCE_IMAGE" check --config $cfg/source.json
assert source-check check "$run_dir/source-check.out"
run_step source-check-wrong-key any /dev/null "$SOURCE_IMAGE" check --config $cfg/source-wrong-key.json
assert source-check-wrong-key check --expect FAILED "$run_dir/source-check-wrong-key.out"
run_step source-discover 0 /dev/null "$SOURCE_IMAGE" discover --config $cfg/source.json
assert source-discover discover "$run_dir/source-discover.out" "$io/catalog.json" && own "$io/catalog.json"
run_step source-read 0 /dev/null "$SOURCE_IMAGE" read --config $cfg/source.json --catalog $cfg/catalog.json
assert source-read read --min-records 1 --state "$io/state.json" "$run_dir/source-read.out" && own "$io/state.json"
run_step source-read-from-state 0 /dev/null "$SOURCE_IMAGE" read --config $cfg/source.json \
    --catalog $cfg/catalog.json --state $cfg/state.json
assert source-read-from-state read "$run_dir/source-read-from-state.out"

run_step destination-spec 0 /dev/null "$DESTINATION_IMAGE" spec
assert destination-spec spec "$run_dir/destination-spec.out"
run_step destination-check 0 /dev/null "$DESTINATION_IMAGE" check --config $cfg/destination.json
assert destination-check check "$run_dir/destination-check.out"
assert destination-input write-input "$run_dir/source-read.out" "$run_dir/records.jsonl"
run_step destination-write 0 "$run_dir/records.jsonl" "$DESTINATION_IMAGE" write \
    --config $cfg/destination.json --catalog $cfg/catalog.json
assert destination-write write "$run_dir/destination-write.out" "$run_dir/records.jsonl"
CONVEX_URL=$destination_url CONVEX_ACCESS_KEY=$destination_key \
    assert destination-documents documents "$run_dir/records.jsonl"

# --- the CDK's image tests, through podman's docker-compatible socket -------------------------

start_podman_service() {
    [[ -n $service_pid ]] && return 0
    local sock="$run_dir/podman.sock" deadline=$((SECONDS + 30))
    podman system service --time=0 "unix://$sock" >"$run_dir/podman-service.log" 2>&1 &
    service_pid=$!
    export DOCKER_HOST="unix://$sock"
    until docker version >/dev/null 2>&1; do
        kill -0 "$service_pid" 2>/dev/null || { tail -n 20 "$run_dir/podman-service.log" >&2; die "podman system service exited"; }
        ((SECONDS < deadline)) || die "podman's docker-compatible socket did not answer within 30s"
        sleep 0.3
    done
    # The CDK runs `docker run` with the default network, which podman's socket maps to a bridge
    # whatever containers.conf says; the local servers listen on 127.0.0.1 only. This shim, first
    # on PATH for the tests, adds --network host (and this run's label, for cleanup) to
    # `docker run` and passes everything else on unchanged.
    mkdir -p "$run_dir/bin"
    cat >"$run_dir/bin/docker" <<EOF
#!/bin/sh
if [ "\$1" = run ]; then shift; exec $(command -v docker) run --network host --label "$run_label" "\$@"; fi
exec $(command -v docker) "\$@"
EOF
    chmod +x "$run_dir/bin/docker"
}

cdk_summary=()
for connector in "${CONNECTORS[@]}"; do
    dir="$REPO_ROOT/$connector"
    if [[ ! -f $dir/acceptance-test-config.yml && ! -f $dir/metadata.yaml ]]; then
        cdk_summary+=("$connector: SKIPPED (no acceptance-test-config.yml or metadata.yaml in $connector/ yet)")
        continue
    fi
    if ! command -v docker >/dev/null 2>&1; then
        cdk_summary+=("$connector: SKIPPED (no docker CLI on this machine to drive podman's socket)")
        continue
    fi
    start_podman_service
    log "CDK image tests for $connector (image $(connector_image "$connector"))"
    # In a scratch copy of the connector folder: its conftest generates secrets/*.json for the
    # session and deletes them at the end, which would collide with a `make test` running at the
    # same time in the same folder.
    mkdir -p "$run_dir/cdk"
    tar -C "$REPO_ROOT" --exclude='.*' --exclude=__pycache__ --exclude='*.egg-info' \
        --exclude="$connector/secrets" -cf - "$connector" | tar -C "$run_dir/cdk" -xf -
    rc=0
    (cd "$run_dir/cdk/$connector" && PATH="$run_dir/bin:$PATH" timeout --kill-after=15 900 "$PY" -m pytest . -m image_tests \
        -p airbyte_cdk.test.standard_tests.pytest_hooks --connector-image "$(connector_image "$connector")" \
        --read-from-streams=all -q -p no:cacheprovider) || rc=$?
    case $rc in
        0) cdk_summary+=("$connector: passed") ;;
        5) die "CDK image tests for $connector: none collected, though $connector/ has acceptance-test-config.yml or metadata.yaml (is there a SourceTestSuiteBase/DestinationTestSuiteBase subclass?)" ;;
        124 | 137) die "CDK image tests for $connector: still running after 900s, stopped" ;;
        *) die "CDK image tests for $connector failed (pytest exit $rc)" ;;
    esac
done

log "CDK image tests:"
printf '  %s\n' "${cdk_summary[@]}" >&2
log "image tests passed in $((SECONDS - started))s"
