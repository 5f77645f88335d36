#!/usr/bin/env bash
# cluster.sh CMD [ARGS...]: start a 3-server agentd cluster on loopback
# (scripts/lib.sh), wait for a leader, then run CMD with the servers' HTTP
# addresses appended, the leader's first and the followers' after it.
# Stops only the servers it started. Exit status: CMD's.
# Example: scripts/compat/cluster.sh python3 scripts/compat/pyconsul_check.py
set -u
source "$(dirname "$0")/../lib.sh"
build
dir="$WORK/compat"
mkdir -p "$dir"
write_configs "$dir" 3 '"performance": {"raft_multiplier": 1}'
for i in 0 1 2; do start_server "$dir" "$i"; done
for i in 0 1 2; do wait_leader "${HTTP[i]}" 20 || exit 1; done
leader=$(curl -s "http://${HTTP[0]}/v1/status/leader" | tr -d '"')
order=()
for i in 0 1 2; do
	rpc=127.0.0.1:${RPC[i]}
	if [ "$rpc" = "$leader" ]; then order=("${HTTP[i]}" "${order[@]}"); else order+=("${HTTP[i]}"); fi
done
echo "cluster: leader ${order[0]}, followers ${order[1]} ${order[2]}" >&2
"$@" "${order[@]}"
