#!/usr/bin/env bash
# Planted-bug check: for each jepsen/plants/*.diff, copy the repository to
# a scratch directory, apply the patch (git apply) to raft/, build the
# simulator and run seeds 1..SEEDS in parallel workers, stopping at the
# first seed that fails a cluster-level safety checker (election safety,
# log matching, leader completeness, state machine safety, durability,
# durable-before-send, commit durability, one conf change at a time and
# only after an own-term commit, no valid conf change refused as
# invalid, each node's configuration the latest in its log, reads
# served at a read index covering every earlier apply,
# convergence of state hashes,
# linearizability).
# Liveness failures, panics inside the code under test and linearizability
# checks that Porcupine could not decide in time (linearizability-undecided:
# that depends on the machine's speed, not on the bug) are listed but do
# not count as a catch. Prints a per-plant table; exits non-zero if
# any plant is missed (or no longer applies).
#
#   jepsen/plants/run.sh [SEEDS] [PLANT...]   # default 1000 seeds, every plant
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
seeds=${1:-1000}
shift || true
workers=${WORKERS:-$(nproc)}
patches=()
if [ $# -gt 0 ]; then
	for p in "$@"; do patches+=("$repo/jepsen/plants/$p.diff"); done
else
	patches=("$repo"/jepsen/plants/*.diff)
fi
missed=0
table=()
for patch in "${patches[@]}"; do
	name=$(basename "$patch" .diff)
	scratch=$(mktemp -d -t jepsen-plant.XXXXXX)
	cp -r "$repo"/. "$scratch"/
	if ! (cd "$scratch" && git apply "$patch"); then
		table+=("$(printf '%-36s MISSED  (patch no longer applies to raft/)' "$name")")
		missed=1
		rm -rf "$scratch"
		continue
	fi
	start=$(date +%s)
	if ! (cd "$scratch" && go build -o sim.bin ./cmd/sim); then
		table+=("$(printf '%-36s MISSED  (does not build)' "$name")")
		missed=1
		rm -rf "$scratch"
		continue
	fi
	out=$(cd "$scratch" && ./sim.bin -seeds "$seeds" -workers "$workers" -stop-on-safety -floors=false 2>&1)
	secs=$(( $(date +%s) - start ))
	others=$(printf '%s\n' "$out" | grep '^FAIL seed' | sort -u | grep -cvE ': (election-safety|log-matching|leader-completeness|state-machine-safety|durability|durable-before-send|commit-durable-quorum|one-conf-change|conf-change-own-term|conf-change-refused|config-matches-log|read-index|convergence|linearizability):')
	fail=$(printf '%s\n' "$out" | grep '^FAIL seed' | grep -m1 -E ': (election-safety|log-matching|leader-completeness|state-machine-safety|durability|durable-before-send|commit-durable-quorum|one-conf-change|conf-change-own-term|conf-change-refused|config-matches-log|read-index|convergence|linearizability):')
	if [ -n "$fail" ]; then
		seed=$(printf '%s\n' "$fail" | sed -E 's/^FAIL seed ([0-9]+):.*/\1/')
		checker=$(printf '%s\n' "$fail" | sed -E 's/^FAIL seed [0-9]+: ([a-z-]+):.*/\1/')
		table+=("$(printf '%-36s CAUGHT  %-22s seed %-5s (%ds; %d non-safety failures first)' "$name" "$checker" "$seed" "$secs" "$others")")
		echo "$name: $fail"
	else
		table+=("$(printf '%-36s MISSED  over %s seeds (%ds; %d non-safety failures)' "$name" "$seeds" "$secs" "$others")")
		printf '%s\n' "$out" | grep '^FAIL seed' | head -3 | sed "s/^/$name: /"
		missed=1
	fi
	rm -rf "$scratch"
done
echo "---- planted bugs ($seeds seeds max each) ----"
printf '%s\n' "${table[@]}"
if [ "$missed" -ne 0 ]; then
	echo "plants: some planted bugs were missed"
	exit 1
fi
echo "plants: all caught"
