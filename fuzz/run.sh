#!/usr/bin/env bash
# Fuzzes the policy crate with cargo-fuzz (libFuzzer) on the stable toolchain.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# Runs each target (default: all three) for SECONDS (default 20), starting
# from the committed seeds in fuzz/seeds/TARGET and growing a scratch corpus
# in fuzz/corpus/TARGET (ignored by git). Exits non-zero if any target finds
# a crash, a failed assertion or a hang; the input is saved under
# fuzz/artifacts/TARGET/.
#
# Environment:
#   FUZZ_SANITIZER  none (default) or address. The policy crate forbids
#                   unsafe code, so AddressSanitizer finds little there and
#                   costs about six times the executions; use it when
#                   unsafe code or a C dependency appears.
set -euo pipefail

seconds="${1:-20}"
shift || true
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    targets=(policy_parse arn_parse pattern_match sealed_and_signed)
fi
case "$seconds" in
    '' | *[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac
sanitizer="${FUZZ_SANITIZER:-none}"

cd "$(dirname "$0")"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz (about half a minute)"
    cargo install cargo-fuzz --locked
fi

# cargo-fuzz passes -Z flags to rustc, which only nightly accepts; only the
# stable toolchain exists here, and RUSTC_BOOTSTRAP=1 lets it take them.
export RUSTC_BOOTSTRAP=1
# -a: debug assertions and overflow checks, as the release profile has.
fuzz_flags=(-a -s "$sanitizer")

echo "== building (${sanitizer} sanitizer)"
cargo fuzz build "${fuzz_flags[@]}"

status=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    # Policies may be 6144 characters; let inputs cross that limit.
    max_len=4096
    [ "$target" = policy_parse ] && max_len=8192
    log="$(mktemp)"
    echo "== $target for ${seconds}s"
    if cargo fuzz run "${fuzz_flags[@]}" "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
        -print_final_stats=1 >"$log" 2>&1; then
        runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
        echo "   ok: ${runs:-?} executions, corpus $(find "corpus/$target" -type f | wc -l) inputs"
    else
        status=1
        mkdir -p "artifacts/$target"
        cp "$log" "artifacts/$target/last-run.log"
        echo "   FAILED (full log: fuzz/artifacts/$target/last-run.log)"
        grep -m1 -A8 -E 'panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer' "$log" | sed 's/^/   | /' || true
        grep -A2 -E '^Failing input:|^Reproduce with:' "$log" | sed 's/^/   | /' || true
        echo "   (reproducing needs RUSTC_BOOTSTRAP=1 in front of that command)"
    fi
    rm -f "$log"
done
exit "$status"
