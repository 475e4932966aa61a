#!/usr/bin/env bash
# Start-up time and idle memory of `rampart serve` (DESIGN.md: ready to
# serve in <= 200 ms; <= 30 MiB RSS idle), printed as Markdown.
#
#   bench/idle/run.sh                 # 5 starts of each kind
#   RUNS=10 bench/idle/run.sh
#   SKIP_BUILD=1 RAMPART=PATH bench/idle/run.sh
#
# Three kinds of start, each on loopback with a port picked by the system:
#   first    a new data folder: keys made, schema migrated, first account
#   restart  the same folder again (what a restart or a new node does)
#   registry a restart that also serves the registry (--registry-listen)
# "Ready" is the first 200 from GET /healthz (polled every 2 ms from the
# moment the process is started); the server's own startup_ms log field
# is reported beside it. RSS is VmRSS from /proc after 2 s with no
# requests, then after 1,000 GET /healthz and 2 s idle again.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${RUNS:-5}
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "run.sh: building (release) rampart" >&2
    (cd "$root" && cargo build --release -p rampart >&2)
fi
rampart=${RAMPART:-$root/target/release/rampart}
[ -x "$rampart" ] || { echo "run.sh: $rampart is missing" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/rampart-idle.XXXXXX")
trap 'rm -rf "$work"' EXIT

python3 - "$rampart" "$work" "$runs" <<'PY'
import http.client, os, re, signal, socket, statistics, subprocess, sys, time

rampart, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def healthz(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status
    finally:
        conn.close()

def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")

def start(data, registry):
    port = free_port()
    cmd = [rampart, "serve", "--data-dir", data, "--listen", "127.0.0.1:%d" % port]
    if registry:
        cmd += ["--registry-listen", "127.0.0.1:%d" % free_port()]
    log = open(os.path.join(work, "serve.log"), "wb")
    began = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
    while True:
        if proc.poll() is not None:
            raise RuntimeError("rampart serve exited with %s; see %s" % (proc.returncode, log.name))
        try:
            if healthz(port) == 200:
                break
        except OSError:
            pass
        if time.monotonic() - began > 10:
            proc.kill()
            raise RuntimeError("not ready within 10 s")
        time.sleep(0.002)
    ready_ms = (time.monotonic() - began) * 1000
    return proc, port, ready_ms, log

def stop(proc, log):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    log.close()
    text = open(log.name, errors="replace").read()
    found = re.findall(r"startup_ms=(\d+)", text)
    return int(found[-1]) if found else None

rows = {"first": [], "restart": [], "registry": []}
for i in range(runs):
    data = os.path.join(work, "data-%d" % i)
    os.mkdir(data)
    for kind in ("first", "restart", "registry"):
        proc, port, ready_ms, log = start(data, registry=(kind == "registry"))
        time.sleep(2)
        idle = rss_kib(proc.pid)
        for _ in range(1000):
            healthz(port)
        time.sleep(2)
        after = rss_kib(proc.pid)
        own = stop(proc, log)
        rows[kind].append((ready_ms, own, idle, after))

def med(values):
    return statistics.median(values)

print("## rampart start-up and idle memory (%s)" % time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
print()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print("Machine: %d CPUs (%s), load average %s. %d starts of each kind; medians, with the worst in brackets." % (
    os.cpu_count(), cpu, " ".join(open("/proc/loadavg").read().split()[:3]), runs))
print()
print("| start | ready (first 200 from /healthz) | server's startup_ms | RSS idle | RSS after 1,000 requests |")
print("|---|---:|---:|---:|---:|")
for kind, label in (("first", "new data folder"), ("restart", "restart"), ("registry", "restart + registry")):
    r = rows[kind]
    ready = [x[0] for x in r]
    own = [x[1] for x in r if x[1] is not None]
    idle = [x[2] / 1024 for x in r]
    after = [x[3] / 1024 for x in r]
    print("| %s | %.0f ms (%.0f) | %s | %.1f MiB (%.1f) | %.1f MiB (%.1f) |" % (
        label, med(ready), max(ready),
        ("%d ms (%d)" % (med(own), max(own))) if own else "-",
        med(idle), max(idle), med(after), max(after)))
print()
worst_ready = max(x[0] for r in rows.values() for x in r)
worst_rss = max(max(x[2], x[3]) / 1024 for r in rows.values() for x in r)
print("- Ready to serve: worst %.0f ms (target <= 200 ms: %s)" % (worst_ready, "met" if worst_ready <= 200 else "missed"))
print("- RSS: worst %.1f MiB (target <= 30 MiB: %s)" % (worst_rss, "met" if worst_rss <= 30 else "missed"))
PY
