#!/usr/bin/env bash
# Mutation testing of the core (raft/, raft/driver/, wal/) against the
# simulator: how many single-point bugs nobody planted does it catch?
#
# internal/mutate/gen.go (its default raft rules) samples N single-point
# mutants (operator swaps, dropped +1/-1, && <-> ||, negated
# if-conditions, deleted assignments/calls, flipped return true/false)
# from the weighted file list, deterministically from SEED. The
# repository is copied once to a scratch directory; each mutant replaces
# its one file there through `go build -overlay` (the tree is not
# patched in place), mutants that do not compile are skipped, and the
# simulator runs seeds 1..SEEDS with one worker at nice 10, stopping at
# the first failing seed. A mutant is KILLED if any seed fails any
# checker (safety, liveness, a panic in the code under test), or the
# simulator crashes or runs past TIMEOUT seconds. Undecided
# linearizability checks are not failures. Prints a table and the
# survivors (file:line, the change); results.tsv is kept in OUT.
#
#   jepsen/mutants/run.sh [FILE=WEIGHT...]      # default: the logic-dense files
#   env: N=80 SEED=1 SEEDS=150 WORKERS=1 TIMEOUT=300 OUT=/tmp/mutants-$SEED
#        IDS="0003 0017" (run only these mutant ids of the sample)
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
n=${N:-80}
seed=${SEED:-1}
seeds=${SEEDS:-150}
workers=${WORKERS:-1}
timeout=${TIMEOUT:-300}
out=${OUT:-/tmp/mutants-$seed}
ids=${IDS:-}
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
	# Weights favour the files where a wrong operator breaks safety:
	# election, replication, commit, read index, snapshots, membership,
	# the driver's persist/apply ordering and WAL recovery.
	files=(
		raft/election.go=3 raft/replication.go=3 raft/readindex.go=3
		raft/log.go=3 raft/quorum.go=3 raft/progress.go=2 raft/snapshot.go=3
		raft/membership.go=2 raft/confchange.go=3 raft/transfer.go=2
		raft/node.go=2 raft/output.go=2 raft/promote.go=1
		raft/driver/persist.go=2 raft/driver/apply.go=2 raft/driver/driver.go=1
		raft/driver/handler.go=1 raft/driver/reads.go=2 raft/driver/restart.go=2
		raft/driver/snapshot.go=2 raft/driver/worker.go=1
		wal/recover.go=3 wal/append.go=2 wal/snapshot.go=2 wal/log.go=2
		wal/cache.go=1 wal/index.go=1 wal/prepare.go=1 wal/segment.go=1
	)
fi
mkdir -p "$out"
scratch=$(mktemp -d -t jepsen-mutants.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
(cd "$repo" && tar --exclude=./.git -cf - .) | (cd "$scratch" && tar -xf -)
(cd "$scratch" && go run internal/mutate/gen.go -out "$out/src" -n "$n" -seed "$seed" "${files[@]}") || exit 2
results="$out/results.tsv"
: >"$results"
table=()
gen=0 built=0 killed=0 survived=0
while IFS=$'\t' read -r id file line kind change; do
	if [ -n "$ids" ] && ! printf ' %s ' $ids | grep -q " $id "; then
		continue
	fi
	gen=$((gen + 1))
	printf '{"Replace":{"%s":"%s"}}\n' "$scratch/$file" "$out/src/$id.go" >"$out/overlay.json"
	start=$(date +%s)
	if ! (cd "$scratch" && nice -n 10 go build -overlay "$out/overlay.json" -o "$out/sim.bin" ./cmd/sim) >"$out/build.log" 2>&1; then
		verdict="NOCOMPILE"
		detail=$(head -1 "$out/build.log")
	else
		built=$((built + 1))
		simout=$(cd "$scratch" && timeout "$timeout" nice -n 10 "$out/sim.bin" -seeds "$seeds" -workers "$workers" -stop-on-failure -floors=false 2>&1)
		rc=$?
		fail=$(printf '%s\n' "$simout" | grep -m1 '^FAIL seed')
		if [ -n "$fail" ]; then
			verdict="KILLED"
			detail=$(printf '%s\n' "$fail" | sed -E 's/^FAIL seed ([0-9]+): ([a-z-]+):.*/\2 seed \1/')
		elif [ "$rc" -eq 124 ]; then
			verdict="KILLED"
			detail="timeout after ${timeout}s"
		elif [ "$rc" -ne 0 ]; then
			verdict="KILLED"
			detail="sim exit $rc: $(printf '%s\n' "$simout" | grep -m1 -E 'panic|fatal' | cut -c1-80)"
		else
			verdict="SURVIVED"
			detail="$seeds seeds"
		fi
		if [ "$verdict" = KILLED ]; then killed=$((killed + 1)); else survived=$((survived + 1)); fi
	fi
	secs=$(( $(date +%s) - start ))
	printf '%s\t%s\t%s:%s\t%s\t%s\t%ss\t%s\n' "$id" "$verdict" "$file" "$line" "$kind" "$detail" "$secs" "$change" >>"$results"
	row=$(printf '%s %-9s %-28s %-11s %-34s %4ss' "$id" "$verdict" "$file:$line" "$kind" "$detail" "$secs")
	echo "$row"
	table+=("$row")
done <"$out/src/index.tsv"
echo "---- mutants (seed $seed, $seeds sim seeds each) ----"
printf '%s\n' "${table[@]}"
echo "generated $gen, compiled $built, killed $killed, survived $survived"
echo "---- survivors ----"
awk -F'\t' '$2 == "SURVIVED" { printf "%s %s %s: %s\n", $1, $3, $4, $7 }' "$results"
