#!/usr/bin/env bash
# etcd-compare.sh: KV throughput and latency of agentd against etcd on this
# machine, in the order etcd, agentd, etcd (the two etcd runs bracket
# agentd, so drift in a shared machine's load shows as their difference).
#
# Both run as 3 members on 127.0.0.1 with their default durable settings,
# data on the same filesystem (a mktemp dir under BENCH_DIR, default
# /var/tmp: not tmpfs). etcd is Debian's etcd-server, driven by its
# native Go client (bench/etcdload, its own module); agentd by
# cmd/agentd-bench over plain HTTP. Same load shape for both: CLIENTS
# closed-loop clients spread round-robin over the three members,
# VALUE_SIZE-byte values over KEYS keys, DURATION per phase. agentd's
# clients have one HTTP/1.1 connection each (no multiplexing in HTTP/1.1);
# etcd's share ETCD_CONNS clientv3.Clients (default 3, one per member:
# gRPC multiplexes, and this measured 5-15 % faster for etcd than one
# client each, so etcd gets its better setting).
#
# Phases: PUT; agentd ?consistent GET vs etcd linearizable Get; agentd
# ?stale GET vs etcd serializable Get. Prints every RESULT line and the
# ratios agentd/etcd (etcd = mean of its two runs). Targets (issue 4):
# every ops ratio >= 1.0 and PUT p99 no worse than etcd's.
#
# Environment: DURATION (default 10s), CLIENTS (64), VALUE_SIZE (256),
# KEYS (10000), ETCD_CONNS (3), PHASES ("put consistent stale": any
# subset), BENCH_DIR (/var/tmp), BASE_PORT (24000).
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh

DURATION=${DURATION:-10s}
CLIENTS=${CLIENTS:-64}
VALUE_SIZE=${VALUE_SIZE:-256}
KEYS=${KEYS:-10000}
ETCD_CONNS=${ETCD_CONNS:-3}
PHASES=${PHASES:-put consistent stale}
etcd_ops=() agentd_ops=()
for p in $PHASES; do
	case $p in
	put) etcd_ops+=(put) agentd_ops+=(put) ;;
	consistent) etcd_ops+=(get-linearizable) agentd_ops+=(get-consistent get) ;;
	stale) etcd_ops+=(get-serializable) agentd_ops+=(get-stale) ;;
	*) echo "unknown phase $p (put, consistent, stale)" >&2; exit 2 ;;
	esac
done
BENCH_DIR=${BENCH_DIR:-/var/tmp}
BASE=${BASE_PORT:-24000}

if ! command -v etcd >/dev/null; then
	log "installing etcd-server and etcd-client"
	apt-get install -y etcd-server etcd-client >/dev/null || { apt-get update >/dev/null && apt-get install -y etcd-server etcd-client >/dev/null; }
fi

WORK=$(mktemp -d "$BENCH_DIR/agentd-etcd-compare.XXXXXX")
trap 'cleanup_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
BIN=$WORK/bin
mkdir -p "$BIN"
log "building into $BIN"
build_tools "$BIN" etcd
RESULTS=$WORK/results
: >"$RESULTS"

# record RUN: pass output through, and append its RESULT lines, tagged
# with the run, to $RESULTS.
record() {
	awk -v run="$1" -v f="$RESULTS" '{ print; fflush() }
		/^RESULT / { sub(/^RESULT /, "RESULT run=" run " "); print >>f; fflush(f) }'
}

load_line() { echo "uptime: $(uptime)"; }

# cpu_ticks PID...: summed user+system clock ticks (1/100 s) of the PIDs.
cpu_ticks() {
	local p t=0
	for p in "$@"; do t=$((t + $(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat"))); done
	echo "$t"
}

# phase RUN PIDS... -- CMD...: run one load phase and record, besides its
# RESULT, the servers' CPU time per operation (less sensitive to the other
# tenants of a shared machine than ops/s).
phase() {
	local run=$1 pids=() c0 c1 out
	shift
	while [[ $1 != -- ]]; do pids+=("$1"); shift; done
	shift
	load_line
	c0=$(cpu_ticks "${pids[@]}")
	out=$("$@")
	c1=$(cpu_ticks "${pids[@]}")
	local ops
	ops=$(field "$(grep '^RESULT' <<<"$out")" ops)
	awk -v o="$ops" -v c=$((c1 - c0)) 'BEGIN { printf "servers cpu %.2f s = %.0f us/op\n", c / 100, (o > 0 ? c * 10000 / o : 0) }'
	sed "/^RESULT/ s/\$/ server_cpu_s=$(awk -v c=$((c1 - c0)) 'BEGIN { printf "%.2f", c / 100 }')/" <<<"$out" | record "$run"
}

fsync_probe() {
	"$BIN/agentd-bench" -mode fsync -dir "$WORK" -fsyncs 1000 | record "$1"
}

etcd_run() {
	local run=$1 i cluster="" eps=""
	for i in 1 2 3; do
		cluster+="${cluster:+,}e$i=http://127.0.0.1:$((BASE + 10 + i))"
		eps+="${eps:+,}127.0.0.1:$((BASE + i))"
	done
	local pids=()
	for i in 1 2 3; do
		etcd --name "e$i" --data-dir "$WORK/$run/e$i" \
			--listen-client-urls "http://127.0.0.1:$((BASE + i))" \
			--advertise-client-urls "http://127.0.0.1:$((BASE + i))" \
			--listen-peer-urls "http://127.0.0.1:$((BASE + 10 + i))" \
			--initial-advertise-peer-urls "http://127.0.0.1:$((BASE + 10 + i))" \
			--initial-cluster "$cluster" --initial-cluster-state new \
			--initial-cluster-token "bench-$run" --log-level error \
			>"$WORK/$run-e$i.log" 2>&1 &
		pids+=($!)
		PIDS+=($!)
	done
	wait_until 60 env ETCDCTL_API=3 etcdctl --endpoints "$eps" endpoint health
	wait_until 30 env ETCDCTL_API=3 etcdctl --endpoints "$eps" put bench/ready 1
	log "$run: etcd $(ETCDCTL_API=3 etcdctl version | head -1), pids ${pids[*]}"
	local op
	for op in "${etcd_ops[@]}"; do
		phase "$run" "${pids[@]}" -- "$BIN/etcdload" -endpoints "$eps" -clients "$CLIENTS" -conns "$ETCD_CONNS" \
			-duration "$DURATION" -value-size "$VALUE_SIZE" -keys "$KEYS" -op "$op"
	done
	stop_pids "${pids[@]}"
	PIDS=()
}

agentd_ready() {
	local i
	for i in 1 2 3; do
		[[ $(curl -sf "http://127.0.0.1:$((BASE + 100 + i))/v1/status/leader") == *:* ]] || return 1
	done
	curl -sf -X PUT -d 1 "http://127.0.0.1:$((BASE + 101))/v1/kv/bench/ready" | grep -q true
}

agentd_run() {
	local run=$1 i addrs=""
	local pids=()
	for i in 1 2 3; do
		local join=()
		for j in 1 2 3; do
			[[ $j == "$i" ]] || join+=(-retry-join "127.0.0.1:$((BASE + 200 + j))")
		done
		addrs+="${addrs:+,}127.0.0.1:$((BASE + 100 + i))"
		"$BIN/agentd" agent -server -bootstrap-expect 3 -node "a$i" -data-dir "$WORK/$run/a$i" \
			-bind 127.0.0.1 -client 127.0.0.1 -http-port $((BASE + 100 + i)) \
			-serf-lan-port $((BASE + 200 + i)) -server-port $((BASE + 300 + i)) \
			-log-level warn "${join[@]}" >"$WORK/$run-a$i.log" 2>&1 &
		pids+=($!)
		PIDS+=($!)
	done
	wait_until 60 agentd_ready
	log "$run: agentd ready, pids ${pids[*]}"
	local op
	for op in "${agentd_ops[@]}"; do
		phase "$run" "${pids[@]}" -- "$BIN/agentd-bench" -addr "$addrs" -clients "$CLIENTS" -duration "$DURATION" \
			-value-size "$VALUE_SIZE" -keys "$KEYS" -op "$op"
	done
	stop_pids "${pids[@]}"
	PIDS=()
}

load_line
fsync_probe fsync1
etcd_run etcd1
agentd_run agentd
etcd_run etcd2
fsync_probe fsync2
load_line

# Ratios: agentd / mean(etcd1, etcd2).
get() { grep "run=$1 " "$RESULTS" | grep " op=$2 " | head -1; }
ratio() {
	local a e1 e2 what=$1 aop=$2 eop=$3
	a=$(get agentd "$aop")
	e1=$(get etcd1 "$eop")
	e2=$(get etcd2 "$eop")
	awk -v what="$what" \
		-v ao="$(field "$a" ops_per_sec)" -v ap="$(field "$a" p99_ms)" \
		-v e1o="$(field "$e1" ops_per_sec)" -v e1p="$(field "$e1" p99_ms)" \
		-v e2o="$(field "$e2" ops_per_sec)" -v e2p="$(field "$e2" p99_ms)" \
		-v an="$(field "$a" ops)" -v ac="$(field "$a" server_cpu_s)" \
		-v e1n="$(field "$e1" ops)" -v e1c="$(field "$e1" server_cpu_s)" \
		-v e2n="$(field "$e2" ops)" -v e2c="$(field "$e2" server_cpu_s)" 'BEGIN {
		eo = (e1o + e2o) / 2; ep = (e1p + e2p) / 2
		acpu = ac * 1e6 / an; ecpu = (e1c + e2c) * 1e6 / (e1n + e2n)
		printf "%-36s agentd %6.0f ops/s p99 %6.2f ms %4.0f us cpu/op | etcd %6.0f ops/s (%.0f, %.0f) p99 %6.2f ms (%.2f, %.2f) %4.0f us cpu/op | ratio %.2fx ops, p99 %.2fx, cpu/op %.2fx: %s\n",
			what, ao, ap, acpu, eo, e1o, e2o, ep, e1p, e2p, ecpu, ao / eo, ap / ep, acpu / ecpu,
			(ao >= eo ? "ops met" : "ops MISSED") (ap <= ep ? ", p99 met" : ", p99 MISSED")
	}'
}
echo
echo "== agentd vs etcd: $CLIENTS clients, $VALUE_SIZE-byte values, $KEYS keys, $DURATION per phase =="
grep 'op=fdatasync' "$RESULTS"
grep 'run=agentd .*op=get ' "$RESULTS" | sed 's/^/(default-consistency GET, no etcd counterpart) /' || true
[[ " $PHASES " != *" put "* ]] || ratio "PUT" put put
[[ " $PHASES " != *" consistent "* ]] || ratio "?consistent GET vs linearizable Get" get-consistent get-linearizable
[[ " $PHASES " != *" stale "* ]] || ratio "?stale GET vs serializable Get" get-stale get-serializable
