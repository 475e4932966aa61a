#!/usr/bin/env bash
# Load run of rampart on loopback: the no-op route against signed V1 STS
# AssumeRole (DESIGN.md: AssumeRole >= 50% of the no-op's throughput, p99
# <= 5 ms at that load), printed as Markdown.
#
#   bench/load/run.sh                       # AssumeRole, unpinned then pinned
#   MODE=ram-read bench/load/run.sh         # the signed RAM read stand-in
#   PINNING=none bench/load/run.sh          # one run, no pinning
#   bench/load/run.sh --connections 32 --duration 20   # flags go to rampart-load
#
# Environment:
#   MODE     assume-role (default) or ram-read
#   PINNING  both (default), none, or pinned (server on CPU 0, client on CPU 1)
#   SKIP_BUILD=1  use the binaries already in target/release
#   RAMPART=PATH  the rampart binary to serve with (default target/release/rampart)
#
# For each configuration: a fresh temp data folder, `rampart serve` on a
# free loopback port (port 0; the bound address is read back from
# first-account.json), the harness (which sets up the fixture through the
# RAM API with the root key and deletes its AccessKey afterwards), then
# SIGTERM to the server and the folder removed. Exit status is non-zero
# when any run failed.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
mode=${MODE:-assume-role}
pinning=${PINNING:-both}
case "$mode" in assume-role | ram-read) ;; *) echo "run.sh: MODE must be assume-role or ram-read" >&2; exit 2 ;; esac
case "$pinning" in both | none | pinned) ;; *) echo "run.sh: PINNING must be both, none or pinned" >&2; exit 2 ;; esac

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "run.sh: building (release) rampart and rampart-load" >&2
    (cd "$root" && cargo build --release -p rampart -p rampart-load >&2)
fi
target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null ||
    echo "$root/target")
rampart=${RAMPART:-$target_dir/release/rampart}
load="$target_dir/release/rampart-load"
for bin in "$rampart" "$load"; do
    [ -x "$bin" ] || { echo "run.sh: $bin is missing" >&2; exit 2; }
done

cpus=$(nproc)
if [ "$pinning" != none ] && { [ "$cpus" -lt 2 ] || ! command -v taskset >/dev/null; }; then
    echo "run.sh: pinning needs 2 CPUs and taskset; running unpinned only" >&2
    pinning=none
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/rampart-load.XXXXXX")
server_pid=
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run LABEL SERVER_CPUS CLIENT_CPUS [rampart-load flags...]
# (empty CPU lists: no pinning)
run() {
    local label=$1 server_cpus=$2 client_cpus=$3
    shift 3
    local data="$work/$label"
    local -a server_cmd=("$rampart" serve --data-dir "$data" --listen 127.0.0.1:0)
    local -a load_cmd=("$load")
    [ -n "$server_cpus" ] && server_cmd=(taskset -c "$server_cpus" "${server_cmd[@]}")
    [ -n "$client_cpus" ] && load_cmd=(taskset -c "$client_cpus" "${load_cmd[@]}")

    mkdir -p "$data"
    # The server's log (one audit line per signed request) goes to a file.
    "${server_cmd[@]}" >"$work/$label.out" 2>"$work/$label.log" &
    server_pid=$!
    local account="$data/first-account.json" waited=0
    until [ -s "$account" ] && grep -q '"Endpoint"' "$account"; do
        if ! kill -0 "$server_pid" 2>/dev/null || [ "$waited" -ge 200 ]; then
            echo "run.sh: rampart serve did not start; its log:" >&2
            cat "$work/$label.log" >&2
            return 1
        fi
        sleep 0.05
        waited=$((waited + 1))
    done
    local endpoint
    endpoint=$(sed -n 's/.*"Endpoint": *"\([^"]*\)".*/\1/p' "$account")
    echo "run.sh: $label: rampart serve (pid $server_pid) on $endpoint${server_cpus:+, CPU $server_cpus}${client_cpus:+; client on CPU $client_cpus}" >&2

    local status=0
    "${load_cmd[@]}" --target "$endpoint" --account-file "$account" --mode "$mode" \
        --server-pid "$server_pid" --label "$label" "$@" || status=$?
    echo
    stop_server
    return "$status"
}

echo "## rampart load run ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
echo
echo "Machine: $cpus CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), load average $(cut -d' ' -f1-3 /proc/loadavg) before the run."
echo "Server (\`rampart serve\`, release build, SQLite store in a temp folder, default logging to a file) and client run on this machine: unpinned they share every CPU, pinned each has one."
echo

failed=0
if [ "$pinning" = none ] || [ "$pinning" = both ]; then
    run unpinned "" "" "$@" || failed=1
fi
if [ "$pinning" = pinned ] || [ "$pinning" = both ]; then
    run pinned 0 1 "$@" || failed=1
fi
exit "$failed"
