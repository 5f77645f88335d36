# Shared helpers for bench/*.sh (sourced). Every process started is
# recorded by PID in PIDS and stopped by PID: never by name.

PIDS=()

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# stop_pids PID...: SIGTERM, then SIGKILL after 10 s, and reap.
stop_pids() {
	local p
	for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "$@"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

cleanup_all() {
	if ((${#PIDS[@]})); then stop_pids "${PIDS[@]}"; fi
	PIDS=()
}

# wait_until SECONDS CMD...: poll CMD every 0.2 s until it succeeds.
wait_until() {
	local limit=$1
	shift
	local deadline=$((SECONDS + limit))
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			log "timed out after ${limit}s waiting for: $*"
			return 1
		fi
		sleep 0.2
	done
}

# field LINE KEY: the value of key=value in a RESULT line.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# build_tools DIR: agentd, agentd-bench and etcdload into DIR.
build_tools() {
	local root
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	(cd "$root" && go build -o "$1/agentd" ./cmd/agentd && go build -o "$1/agentd-bench" ./cmd/agentd-bench)
	if [[ ${2:-} == etcd ]]; then
		(cd "$root/bench/etcdload" && go build -o "$1/etcdload" .)
	fi
}
