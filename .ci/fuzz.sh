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

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
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
        failed+=("$target")
    fi
    echo "::endgroup::"
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzzing: ${#targets[@]} targets, ${FUZZ_SECONDS}s each, no crash"
