#!/usr/bin/env bash
# Registry benchmark on loopback, all peers in one run on the same data
# (DESIGN.md, Performance):
#   - 100 MiB blob GET, sequential and 8 in parallel: rampart vs CNCF
#     Distribution (Debian docker-registry) vs nginx serving the same file;
#   - manifest GET requests/s with token auth, 8 connections: rampart vs
#     Distribution (its `auth: token:` with a certificate made here);
#   - pushes of fresh 100 MiB layers (digest verified): rampart vs Distribution.
# Prints one Markdown table with the ratios against the targets.
#
#   bench/registry/run.sh                    # everything (about 1.5 minutes on 2 cores)
#   bench/registry/run.sh --duration 5       # flags go to every `rampart-bench-registry run`
#
# Environment:
#   RAMPART_BIN=PATH   rampart binary (default: TARGET_DIR/release/rampart); rampart is
#                      measured only when it has `registry instance create` (setup_rampart)
#   SKIP_RAMPART=1     do not try rampart at all
#   SKIP_BUILD=1       use the harness binary already built
#   BLOB_MIB=100       size of the GET blob and of each pushed blob
#   REPEAT=3           rounds; each measures every peer in turn, the report gives medians
#   DIST_LOG=info      Distribution's log level (access log on, as shipped); `error`
#                      turns the access log off too
#   NGINX_WORKERS=auto nginx worker_processes
#   PIN=1              servers on CPU 0, the client on CPU 1 (taskset)
#   KEEP=1             keep the temp folder (configs, logs, JSON results)
#
# Needs: docker-registry, nginx, openssl (Debian: apt-get install
# docker-registry nginx openssl). Every process started here is stopped on
# exit, and the temp folder is removed (unless KEEP=1).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
blob_mib=${BLOB_MIB:-100}
dist_log=${DIST_LOG:-info}
nginx_workers=${NGINX_WORKERS:-auto}
repeat=${REPEAT:-3}
case "$repeat" in '' | *[!0-9]* | 0) echo "run.sh: REPEAT must be a positive number" >&2; exit 2 ;; esac

say() { echo "run.sh: $*" >&2; }

for tool in docker-registry nginx openssl; do
    command -v "$tool" >/dev/null || { say "$tool is missing (apt-get install docker-registry nginx openssl)"; exit 2; }
done

# The harness: built from its own manifest (a workspace member or, until
# then, a standalone workspace); the target folder is whatever cargo uses.
manifest="$here/Cargo.toml"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    say "building rampart-bench-registry (release)"
    cargo build --release --manifest-path "$manifest" >&2
fi
target_dir=$(cargo metadata --manifest-path "$manifest" --format-version 1 --no-deps 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null ||
    echo "$here/target")
bench="$target_dir/release/rampart-bench-registry"
[ -x "$bench" ] || { say "$bench is missing"; exit 2; }
root_target=$(cargo metadata --manifest-path "$root/Cargo.toml" --format-version 1 --no-deps 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null ||
    echo "$root/target")
rampart_bin=${RAMPART_BIN:-$root_target/release/rampart}

server_cpu=() client_cpu=()
if [ "${PIN:-0}" = 1 ]; then
    if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
        server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
    else
        say "PIN=1 needs 2 CPUs and taskset; running unpinned"
    fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/rampart-bench-registry.XXXXXX")
chmod 755 "$work"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ "${KEEP:-0}" = 1 ]; then
        say "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_up NAME PID URL LOG: until URL answers, or fail showing LOG.
wait_up() {
    local name=$1 pid=$2 url=$3 log=$4
    if ! "$bench" wait-http --url "$url" --timeout-seconds 15 || ! kill -0 "$pid" 2>/dev/null; then
        say "$name did not start; its log:"
        tail -n 30 "$log" >&2 || true
        return 1
    fi
}

# ---- the shared data: one random blob, served by nginx and pushed to the registries
mkdir -p "$work/www"
blob="$work/www/blob.bin"
digest=$("$bench" gen-blob --size-mib "$blob_mib" --out "$blob")
chmod 644 "$blob"
say "blob: $blob_mib MiB, $digest"

# ---- the token certificate Distribution trusts (ES256, self-signed)
service=rampart-bench-registry
issuer=rampart-bench-issuer
repo=bench/blob
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$work/token-key.pem" -out "$work/token-cert.pem" -days 2 \
    -subj "/CN=$issuer" >/dev/null 2>&1

# ---- CNCF Distribution: filesystem storage in the temp folder, token auth
dist_port=$("$bench" free-port)
accesslog_disabled=false
[ "$dist_log" = info ] || [ "$dist_log" = debug ] || accesslog_disabled=true
cat >"$work/distribution.yml" <<EOF
version: 0.1
log:
  level: $dist_log
  accesslog:
    disabled: $accesslog_disabled
storage:
  filesystem:
    rootdirectory: $work/distribution
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$dist_port
  secret: rampart-bench-registry-not-a-secret
auth:
  token:
    realm: http://127.0.0.1:$dist_port/no-token-server
    service: $service
    issuer: $issuer
    rootcertbundle: $work/token-cert.pem
EOF
"${server_cpu[@]}" docker-registry serve "$work/distribution.yml" >"$work/distribution.log" 2>&1 &
pids+=($!)
wait_up Distribution "${pids[-1]}" "http://127.0.0.1:$dist_port/v2/" "$work/distribution.log"
dist_token=$("$bench" mint-token --key "$work/token-key.pem" --cert "$work/token-cert.pem" \
    --issuer "$issuer" --service "$service" --scope "repository:$repo:pull,push" --ttl-seconds 7200)
say "Distribution $(docker-registry --version | awk '{print $3}') on 127.0.0.1:$dist_port (log level $dist_log)"

# ---- nginx serving the same blob file (sendfile), as this user, everything in the temp folder
nginx_port=$("$bench" free-port)
mkdir -p "$work/nginx/tmp"
user_line=
[ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"
cat >"$work/nginx/nginx.conf" <<EOF
$user_line
worker_processes $nginx_workers;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    default_type application/octet-stream;
    client_body_temp_path $work/nginx/tmp/body;
    proxy_temp_path $work/nginx/tmp/proxy;
    fastcgi_temp_path $work/nginx/tmp/fastcgi;
    uwsgi_temp_path $work/nginx/tmp/uwsgi;
    scgi_temp_path $work/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/www;
    }
}
EOF
"${server_cpu[@]}" nginx -e "$work/nginx/error.log" -p "$work/nginx" -c "$work/nginx/nginx.conf" \
    >"$work/nginx/stdout.log" 2>&1 &
pids+=($!)
wait_up nginx "${pids[-1]}" "http://127.0.0.1:$nginx_port/" "$work/nginx/error.log"
say "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') on 127.0.0.1:$nginx_port (worker_processes $nginx_workers)"

# ---- rampart
rampart_url=
rampart_basic=

# setup_rampart: starts `rampart serve` with its registry and sets
# rampart_url (the registry's base URL) and rampart_basic (USER:PASSWORD
# for its token realm). Returns non-zero to skip rampart.
#
# >>> TO BE FINISHED BY THE LEAD once the registry's HTTP side and token
# >>> realm exist. What is assumed (see README.md, "What rampart must provide"):
# >>>  - `rampart serve --data-dir D --listen 127.0.0.1:P1 --registry-listen 127.0.0.1:P2`
# >>>    serves the OCI Distribution API on P2, answering an unauthenticated
# >>>    `GET /v2/` with 401 and `WWW-Authenticate: Bearer realm="http://127.0.0.1:P2/token",service="…"`;
# >>>  - the realm answers `GET ?service=…&scope=repository:bench/blob:pull,push` with HTTP
# >>>    Basic credentials by JSON {token, access_token, expires_in, issued_at};
# >>>  - `rampart registry instance create --data-dir D --account ID --name N --region R
# >>>    --output json` prints {"InstanceId": …}.
# >>> Open: which Basic credentials the realm takes (assumed here: the root
# >>> AccessKeyId:AccessKeySecret from first-account.json; override with
# >>> RAMPART_BASIC=USER:PASSWORD), and whether the repository must exist or
# >>> the instance be named in the repository path (RAMPART_REPO overrides
# >>> the repository name).
setup_rampart() {
    if [ "${SKIP_RAMPART:-0}" = 1 ]; then
        say "SKIP_RAMPART=1: rampart not measured"
        return 1
    fi
    if [ ! -x "$rampart_bin" ]; then
        say "no rampart binary at $rampart_bin (set RAMPART_BIN, or cargo build --release -p rampart): rampart not measured"
        return 1
    fi
    if ! "$rampart_bin" registry instance login-password --help >/dev/null 2>&1; then
        say "$rampart_bin has no 'registry instance login-password': rampart not measured"
        return 1
    fi
    local data="$work/rampart" api_port reg_port
    api_port=$("$bench" free-port)
    reg_port=$("$bench" free-port)
    mkdir -p "$data"
    "${server_cpu[@]}" "$rampart_bin" serve --data-dir "$data" --listen "127.0.0.1:$api_port" \
        --registry-listen "127.0.0.1:$reg_port" >"$work/rampart.out" 2>"$work/rampart.log" &
    pids+=($!)
    wait_up rampart "${pids[-1]}" "http://127.0.0.1:$reg_port/v2/" "$work/rampart.log" || return 1
    local account="$data/first-account.json" waited=0
    until [ -s "$account" ] && grep -q '"AccessKeySecret"' "$account"; do
        [ "$waited" -lt 100 ] || { say "rampart wrote no $account"; return 1; }
        sleep 0.05
        waited=$((waited + 1))
    done
    local account_id instance_id password
    account_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["AccountId"])' "$account")
    "$rampart_bin" registry instance create --data-dir "$data" --account "$account_id" \
        --name bench --region cn-hangzhou --output json >"$work/rampart-instance.txt" || return 1
    say "rampart registry instance: $(cat "$work/rampart-instance.txt")"
    instance_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["InstanceId"])' "$work/rampart-instance.txt")
    # The root identity's fixed registry password (what ResetLoginPassword
    # sets); its registry user name is the account id.
    password="Bench-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
    printf '%s\n' "$password" | "$rampart_bin" registry instance login-password --data-dir "$data" \
        --account "$account_id" --instance "$instance_id" || return 1
    rampart_url="http://127.0.0.1:$reg_port"
    rampart_basic=${RAMPART_BASIC:-$account_id:$password}
    say "rampart ($rampart_bin) registry on 127.0.0.1:$reg_port"
}

with_rampart=0
if setup_rampart; then with_rampart=1; fi

# ---- the measurements: REPEAT rounds, each measuring every peer in turn
# (same data, same flags), so that noise from the rest of the machine
# falls on all of them; each figure in the report is a peer's median.
measure() {
    local label=$1 round=$2
    shift 2
    # In the background and waited for, so that a signal to this script
    # stops it at once (cleanup ends it with the servers).
    "${client_cpu[@]}" "$bench" run --label "$label" --blob-file "$blob" \
        --out "$work/$label-$round.json" "$@" >&2 &
    pids+=($!)
    wait "${pids[-1]}"
}

failed=0
for round in $(seq 1 "$repeat"); do
    say "round $round of $repeat"
    if [ "$with_rampart" = 1 ]; then
        measure rampart "$round" --url "$rampart_url" --name "${RAMPART_REPO:-$repo}" \
            --basic "$rampart_basic" "$@" ||
            { say "rampart's run failed; its log:"; tail -n 30 "$work/rampart.log" >&2; failed=1; }
    fi
    measure distribution "$round" --url "http://127.0.0.1:$dist_port" --name "$repo" \
        --auth "Bearer $dist_token" "$@" ||
        { say "Distribution's run failed; its log:"; tail -n 30 "$work/distribution.log" >&2; failed=1; }
    measure nginx "$round" --plain --url "http://127.0.0.1:$nginx_port/blob.bin" "$@" || failed=1
done

# ---- the report
echo "## Registry benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
echo
echo "Machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), load average $(cut -d' ' -f1-3 /proc/loadavg) after the run."
echo "Peers: rampart ($([ "$with_rampart" = 1 ] && echo "$rampart_bin" || echo "not measured")), Distribution $(docker-registry --version | awk '{print $3}') (filesystem storage, token auth, log level $dist_log), nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') (sendfile, $nginx_workers workers). Blob $blob_mib MiB, $digest. Each figure is the median of $repeat interleaved runs. Servers and client ${server_cpu[*]:+pinned (servers CPU 0, client CPU 1)}${server_cpu[*]:-unpinned, sharing every CPU}."
echo
args=(--detail)
for label in rampart distribution nginx; do
    for file in "$work/$label"-*.json; do
        [ -s "$file" ] && args+=("--$label" "$file")
    done
done
"$bench" compare "${args[@]}"
exit "$failed"
