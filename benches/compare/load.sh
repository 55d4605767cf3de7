#!/usr/bin/env bash
# Load test of the whole stack: the same one-route axum server without
# realip, with realip's ClientIpLayer added by Router::layer ("with"), and
# with the same layer wrapped once around the whole Router ("outer"),
# under wrk, on loopback only.
#
#   bash benches/compare/load.sh                   # 3 rounds x 3 servers x 10 s (~2.5 min)
#   RUNS=6 DURATION=20s bash benches/compare/load.sh
#   INSTRUCTIONS=0 bash benches/compare/load.sh    # skip the callgrind part
#   RUNS=0 bash benches/compare/load.sh            # the callgrind part only
#   RUNS=60 DURATION=3s INSTRUCTIONS=0 bash benches/compare/load.sh
#                                                  # many short paired rounds (~10 min):
#                                                  # the tightest wall-clock interval
#
# Each server runs on one thread pinned to CPU 0; wrk runs one thread pinned
# to CPU 1, with CONNECTIONS connections and the header of a 3-hop chain.
# The order rotates each round, so that a drift in the machine's load falls
# on every server. Reported per run: requests/s, p99 latency, and the
# server's CPU time per request (from /proc, less sensitive to what else
# the machine runs than requests/s), then the per-round differences against
# "without", with a bootstrap interval. Then, unless INSTRUCTIONS=0, each
# server runs under callgrind while wrk drives it for 5 s: user-space
# instructions per request, which no other load on the machine changes
# (valgrind needed).
# Needs wrk (Debian: apt-get install -y wrk) and taskset (util-linux).
set -euo pipefail
cd "$(dirname "$0")"

RUNS="${RUNS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
PORT_WITHOUT="${PORT_WITHOUT:-18181}"
PORT_WITH="${PORT_WITH:-18182}"
PORT_OUTER="${PORT_OUTER:-18183}"
CONFIG="x-forwarded-for; trust=loopback, 10.0.0.0/8"
XFF="203.0.113.7, 10.0.0.1, 10.0.0.2"
EXPECTED="203.0.113.7"

command -v wrk > /dev/null || { echo "load.sh: wrk is missing (apt-get install -y wrk)" >&2; exit 1; }
cargo build --release --bin hello 2> >(grep -E '^(error|warning: unused)' >&2 || true)
target="${CARGO_TARGET_DIR:-target}"
hello="$target/release/hello"
log="$target/load.log"
: > "$log"

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
}
trap cleanup EXIT

# The servers: "without" realip, "with" it (ClientIpLayer through
# Router::layer, as most axum code adds layers), and "outer" (the same
# layer wrapped around the whole Router once, which skips axum's per-route
# boxing: the difference to "with" is axum's cost, not realip's).
servers="without with outer"
port_of() { case $1 in without) echo "$PORT_WITHOUT" ;; with) echo "$PORT_WITH" ;; outer) echo "$PORT_OUTER" ;; esac; }
args_of() {
    case $1 in
        without) ;;
        with) printf '%s\n' --realip "$CONFIG" ;;
        outer) printf '%s\n' --realip "$CONFIG" --wrap outer ;;
    esac
}
declare -A pid_of
for name in $servers; do
    mapfile -t args < <(args_of "$name")
    taskset -c 0 "$hello" --listen "127.0.0.1:$(port_of "$name")" "${args[@]}" >> "$log" &
    pids+=($!)
    pid_of[$name]=$!
done

# Wait for each, and check that each answers what it should before timing.
for name in $servers; do
    port=$(port_of "$name")
    for _ in $(seq 50); do
        curl -s -o /dev/null "http://127.0.0.1:$port/ip" && break
        sleep 0.1
    done
    got=$(curl -s -H "X-Forwarded-For: $XFF" "http://127.0.0.1:$port/ip")
    want=$EXPECTED
    [ "$name" = without ] && want=127.0.0.1
    [ "$got" = "$want" ] || { echo "load.sh: $name answered '$got', not '$want'" >&2; exit 1; }
done

# CPU ticks (user + system) a process has used so far.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# wrk's latency text (e.g. 512.00us, 1.20ms) in microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1000000; else print n
    }'
}
hz=$(getconf CLK_TCK)

# One wrk run against one server; prints "name req/s p99_us cpu_us_per_req".
run() {
    local name=$1 port=$2 pid=$3 before after out rps p99 total
    before=$(ticks "$pid")
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency \
        -H "X-Forwarded-For: $XFF" "http://127.0.0.1:$port/ip")
    after=$(ticks "$pid")
    echo "$out" >> "$log"
    rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
    p99=$(to_us "$(echo "$out" | awk '$1 == "99%" {print $2}')")
    total=$(echo "$out" | awk '/requests in/ {print $1}')
    if [[ $out == *Non-2xx* ]]; then
        echo "load.sh: $name answered errors" >&2
        exit 1
    fi
    awk -v n="$name" -v r="$rps" -v p="$p99" -v t="$((after - before))" -v hz="$hz" -v c="$total" \
        'BEGIN { printf "%s %.0f %.0f %.2f\n", n, r, p, t / hz * 1e6 / c }'
}

# Warm each up (connections, caches, CPU frequency) before the first round.
for name in $servers; do
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d2s -H "X-Forwarded-For: $XFF" "http://127.0.0.1:$(port_of "$name")/ip" > /dev/null
done

# Each round runs every server once; the order rotates, so that a drift in
# the machine's load falls on all of them.
results=$(mktemp)
for round in $(seq "$RUNS"); do
    case $((round % 3)) in
        1) order="without with outer" ;;
        2) order="with outer without" ;;
        0) order="outer without with" ;;
    esac
    for name in $order; do
        run "$name" "$(port_of "$name")" "${pid_of[$name]}"
    done | sed "s/^/$round /" >> "$results"
done

echo "# load test: $RUNS rounds x $DURATION, wrk -t1 -c$CONNECTIONS (CPU 1), server current_thread (CPU 0)"
echo "# $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# with: ClientIpLayer (Router::layer) + ClientIp extractor, REALIP='$CONFIG'; outer: the same layer around the whole Router; without: ConnectInfo peer"
echo
echo "| round | server | requests/s | p99 latency (µs) | server CPU µs/request |"
echo "|---:|---|---:|---:|---:|"
awk '{printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5}' "$results"
echo
echo "| server | median requests/s | median p99 (µs) | median CPU µs/request |"
echo "|---|---:|---:|---:|"
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
for name in $servers; do
    rps=$(awk -v n="$name" '$2 == n {print $3}' "$results" | median)
    p99=$(awk -v n="$name" '$2 == n {print $4}' "$results" | median)
    cpu=$(awk -v n="$name" '$2 == n {print $5}' "$results" | median)
    echo "| $name | $rps | $p99 | $cpu |"
done
echo
for name in with outer; do
    awk -v n="$name" -v a="$(awk '$2 == "without" {print $3}' "$results" | median)" \
        -v b="$(awk -v n="$name" '$2 == n {print $3}' "$results" | median)" \
        -v c="$(awk '$2 == "without" {print $5}' "$results" | median)" \
        -v d="$(awk -v n="$name" '$2 == n {print $5}' "$results" | median)" 'BEGIN {
        printf "%s: %+.1f%% requests/s, %+.1f%% server CPU per request against without (target: within 3%% throughput)\n", n, (b - a) / a * 100, (d - c) / c * 100
    }'
done
echo
# Paired by round: a round runs the three servers back to back, so a drift
# in the machine's load falls on them alike, and the per-round difference
# is steadier than a difference of medians. Its median, with a 95%
# bootstrap interval (2,000 resamples); the target is met only if the whole
# interval is within 3%. Plain awk (mawk has no sort).
for name in with outer; do
    awk -v n="$name" '
        function sorted_median(a, k,   i, j, t) {
            for (i = 2; i <= k; i++) {
                t = a[i]
                for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
                a[j + 1] = t
            }
            return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
        }
        { rps[$1 "," $2] = $3; if ($1 > rounds) rounds = $1 }
        END {
            k = 0
            for (r = 1; r <= rounds; r++)
                if ((r "," n) in rps && (r ",without") in rps)
                    d[++k] = (rps[r "," n] / rps[r ",without"] - 1) * 100
            if (k < 2) exit
            for (i = 1; i <= k; i++) a[i] = d[i]
            median = sorted_median(a, k)
            srand(1)
            for (b = 1; b <= 2000; b++) {
                for (i = 1; i <= k; i++) a[i] = d[int(rand() * k) + 1]
                m[b] = sorted_median(a, k)
            }
            sorted_median(m, 2000)
            printf "%s: paired by round (%d rounds), requests/s %+.1f%% (95%% interval %+.1f%% to %+.1f%%)\n", n, k, median, m[50], m[1951]
        }' "$results"
done
rm -f "$results"

[ "${INSTRUCTIONS:-1}" = 0 ] && exit 0
command -v valgrind > /dev/null || { echo "(valgrind missing: no instruction counts)"; exit 0; }
cleanup
pids=()

# User-space instructions a server executes: started under callgrind,
# checked with one request, driven by wrk for $1 (or not at all), stopped.
# Prints "instructions requests".
instructions() {
    local load=$1 port=$2 pid out requests=1 vlog
    shift 2
    vlog=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$hello" --listen "127.0.0.1:$port" "$@" \
        > "$vlog" 2>&1 &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 100); do
        curl -s -o /dev/null -H "X-Forwarded-For: $XFF" "http://127.0.0.1:$port/ip" && break
        sleep 0.2
    done
    if [ "$load" != none ]; then
        out=$(taskset -c 1 wrk -t1 -c4 -d"$load" -H "X-Forwarded-For: $XFF" "http://127.0.0.1:$port/ip")
        echo "$out" >> "$log"
        requests=$(( $(echo "$out" | awk '/requests in/ {print $1}') + 1 ))
    fi
    kill -TERM "$pid"
    wait "$pid" 2> /dev/null || true
    echo "$(awk '/Collected :/ {print $4}' "$vlog") $requests"
    rm -f "$vlog"
}

echo
echo "## Server instructions per request (callgrind, wrk -c4 for 5 s; startup subtracted)"
echo
echo "| server | requests | instructions per request |"
echo "|---|---:|---:|"
for name in $servers; do
    mapfile -t args < <(args_of "$name")
    read -r base _ <<< "$(instructions none "$PORT_WITHOUT" "${args[@]}")"
    read -r total requests <<< "$(instructions 5s "$PORT_WITHOUT" "${args[@]}")"
    per=$(( (total - base) / (requests - 1) ))
    echo "| $name | $requests | $per |"
    eval "per_$name=$per"
done
echo
for name in with outer; do
    eval "per=\$per_$name"
    awk -v n="$name" -v a="$per_without" -v b="$per" 'BEGIN {
        printf "%s: realip adds %d instructions per request (%+.1f%% of the server without it)\n", n, b - a, (b - a) / a * 100
    }'
done
