#!/usr/bin/env bash
# realip and the other client-IP crates on the same inputs: every answer is
# judged first, then each call is timed (criterion, ~2 s per benchmark,
# 2-3 minutes in all), and one table is printed.
#
#   bash benches/compare/run.sh              # everything
#   bash benches/compare/run.sh xff_3_hops   # the benchmarks whose id contains a word
#   COMPARE_ANSWERS_ONLY=1 bash benches/compare/run.sh   # answers only, no timing
#
# The full criterion output is kept in target/compare.log (in this crate's
# own target directory, or $CARGO_TARGET_DIR).
set -euo pipefail
cd "$(dirname "$0")"
target="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target"
log="$target/compare.log"
cargo bench --bench compare -- "$@" > "$log"
echo "# realip $(git -C ../.. describe --always --dirty 2>/dev/null || echo '?'), $(rustc -V), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo
sed -n '/^## Correct answers/,$p' "$log"
