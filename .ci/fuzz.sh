#!/usr/bin/env bash
# Builds every fuzz target and runs each for a bounded time.
#
#   .ci/fuzz.sh                  # every target, 30 s each
#   FUZZ_SECONDS=300 .ci/fuzz.sh # longer runs
#   .ci/fuzz.sh resolver xff     # some targets only
#
# cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets a stable toolchain
# accept them. The fuzz crate has its own workspace and target directory
# (fuzz/target), so it never contends with the main build. New corpus
# entries go to fuzz/corpus/<target> (ignored by git); the checked-in seeds
# in fuzz/seeds/<target> are read, never written, and fuzz/headers.dict
# gives libFuzzer the tokens of forwarding headers. A crash leaves its input
# in fuzz/artifacts/<target>/ and makes the script exit non-zero after
# every target has run.
set -euo pipefail

FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
export RUSTC_BOOTSTRAP=1

cd "$(dirname "$0")/../fuzz"

# Pinned: a new cargo-fuzz release cannot change what CI runs unnoticed.
CARGO_FUZZ_VERSION=0.13.2
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    # Captured first, so that a failing `cargo fuzz list` stops the script
    # (inside `mapfile < <(…)` its exit status would be lost).
    listed=$(cargo fuzz list)
    mapfile -t targets <<<"$listed"
fi
# An empty name is what mapfile makes of empty output.
if [ "${#targets[@]}" -eq 0 ] || [ -z "${targets[0]}" ]; then
    echo "fuzzing: no fuzz target found; nothing was fuzzed" >&2
    exit 1
fi

cargo fuzz build

failed=()
for target in "${targets[@]}"; do
    echo "::group::fuzz $target (${FUZZ_SECONDS}s)"
    mkdir -p "corpus/$target"
    seeds=()
    if [ -d "seeds/$target" ]; then
        seeds=("seeds/$target")
    fi
    if ! cargo fuzz run "$target" "corpus/$target" "${seeds[@]}" -- \
        -max_total_time="$FUZZ_SECONDS" -dict=headers.dict -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1; then
        # A crash, or a target that would not run: either fails CI.
        failed+=("$target")
    fi
    echo "::endgroup::"
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing failed for: ${failed[*]} (crash inputs, if any, in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzzing: ${#targets[@]} targets, ${FUZZ_SECONDS}s each, no crash"
