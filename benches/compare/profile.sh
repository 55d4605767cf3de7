#!/usr/bin/env bash
# Instructions per call, counted by callgrind: independent of the machine's
# load, so the one comparison that holds on a busy machine. Then realip's
# own hot path, function by function, for each timed input.
#
#   bash benches/compare/profile.sh          # ~1-2 minutes
#
# Writes the callgrind profiles to target/callgrind/ (callgrind_annotate
# reads them) and prints two markdown tables.
set -euo pipefail
cd "$(dirname "$0")"
command -v valgrind > /dev/null || { echo "profile.sh: valgrind is missing (apt-get install -y valgrind)" >&2; exit 1; }
cargo build --release --bin instructions 2> >(grep -E '^error' >&2 || true)
target="${CARGO_TARGET_DIR:-target}"
bin="$target/release/instructions"
out="$target/callgrind"
mkdir -p "$out"

inputs="xff_3_hops x_real_ip forwarded_3_elements ipv6_chain xff_60kb_all_trusted spoof_untrusted_peer"
# "floor" is not a crate: a plainly written resolver hard-wired to the IPv4
# X-Forwarded-For inputs (src/lib.rs, `Floor`), for scale.
crates="realip client-ip real-ip trusted-proxies parse-net floor"

# Instructions per call of one contender on one input ("n/a" when it cannot).
count() {
    local crate=$1 input=$2 n=2000 file
    # The 60 KB header costs some contenders ~10^5 instructions a call.
    [ "$input" = xff_60kb_all_trusted ] && n=50
    file="$out/$crate.$input.out"
    if [ "$("$bin" "$crate" "$input" 0)" != "" ]; then
        echo "n/a"
        return
    fi
    valgrind --tool=callgrind --toggle-collect='*timed_calls*' \
        --callgrind-out-file="$file" "$bin" "$crate" "$input" "$n" 2>&1 |
        awk -v n="$n" '/Collected :/ {printf "%.0f\n", $4 / n}'
}

echo "## Instructions per call (callgrind, $(rustc -V | cut -d' ' -f2), realip $(git -C ../.. describe --always --dirty 2>/dev/null || echo '?'))"
echo
printf "| input |"; for c in $crates; do printf " %s |" "$c"; done; echo
printf "|---|"; for _ in $crates; do printf -- "---:|"; done; echo
for input in $inputs; do
    printf "| %s |" "$input"
    for crate in $crates; do printf " %s |" "$(count "$crate" "$input")"; done
    echo
done

echo
echo "## realip: where the instructions go (self cost, top functions per input; totals over 2000 calls, 50 for the 60 KB header)"
for input in $inputs; do
    echo
    echo "### $input"
    echo
    echo '```text'
    callgrind_annotate --threshold=95 "$out/realip.$input.out" 2> /dev/null |
        awk '/file:function/ {on = 1; getline; next} on && NF' |
        sed -E 's#/rustc/[0-9a-f]+/library/#std:#; s#/root/.cargo/registry/src/[^/]+/##; s#/work/main/##; s# \[[^]]*\]$##' |
        awk 'NR <= 15'
    echo '```'
done
