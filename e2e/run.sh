#!/usr/bin/env bash
# Runs rampart's end-to-end tests: installs the official SDKs (setup.sh), then
# drives a real `rampart serve` with them.
#
#   RAMPART_BIN=target/release/rampart e2e/run.sh [pytest args...]
#   RAMPART_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
#   RAMPART_BIN=target/release/rampart e2e/run.sh        # + the PostgreSQL pass
#
# Exits non-zero when anything failed, when no test ran, or when RAMPART_BIN
# is missing. Ends with one summary line "e2e: N passed, N failed, N skipped".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ -z "${RAMPART_BIN:-}" ]; then
  cat >&2 <<'MSG'
e2e/run.sh: RAMPART_BIN is not set. Build the server and point the tests at it:
    cargo build --release -p rampart
    RAMPART_BIN=$PWD/target/release/rampart e2e/run.sh
MSG
  exit 2
fi
# Resolve a relative path against the caller's directory, before any cd.
case "$RAMPART_BIN" in /*) ;; *) RAMPART_BIN="$PWD/$RAMPART_BIN" ;; esac
if [ ! -x "$RAMPART_BIN" ] || [ -d "$RAMPART_BIN" ]; then
  echo "e2e/run.sh: RAMPART_BIN=$RAMPART_BIN is not an executable file (build it with: cargo build --release -p rampart)" >&2
  exit 2
fi
export RAMPART_BIN
export RAMPART_TEST_POSTGRES_URL="${RAMPART_TEST_POSTGRES_URL:-}"

"$here/setup.sh"

cd "$here"
if [ -z "$RAMPART_TEST_POSTGRES_URL" ]; then
  echo "e2e/run.sh: PostgreSQL pass SKIPPED (RAMPART_TEST_POSTGRES_URL is unset)."
  echo "            To enable it: RAMPART_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test e2e/run.sh"
else
  echo "e2e/run.sh: PostgreSQL pass enabled (a fresh database on the server of RAMPART_TEST_POSTGRES_URL)"
fi

mkdir -p .results
junit=.results/junit.xml
rm -f "$junit"
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider --junitxml="$junit" "$@"
rc=$?
set -e

# One closing line with the totals, read from the JUnit report.
if [ -f "$junit" ]; then
  .venv/bin/python - "$junit" <<'PY'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
n = lambda k: sum(int(s.get(k, 0)) for s in suites)
tests, failed, errors, skipped = n("tests"), n("failures"), n("errors"), n("skipped")
print("e2e: %d passed, %d failed, %d skipped" % (tests - failed - errors - skipped, failed + errors, skipped))
PY
fi

if [ "$rc" -eq 5 ]; then
  echo "e2e/run.sh: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$rc"
