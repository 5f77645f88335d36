#!/usr/bin/env bash
# Runs every fuzz target listed in fuzz/targets.txt for FUZZTIME each
# (default 12s; the long campaign uses 2m), one after another. Exits
# non-zero at the first target that finds a failing input; Go writes that
# input under the package's testdata/fuzz/<Target>/ so `go test` replays it.
#
#   bash fuzz/run.sh            # 12 s each
#   FUZZTIME=2m bash fuzz/run.sh
#   bash fuzz/run.sh FuzzHTTP   # only the named targets
set -euo pipefail
cd "$(dirname "$0")/.."
want=" $* "
while read -r pkg target; do
  case "$pkg" in ''|'#'*) continue ;; esac
  if [ $# -gt 0 ] && [[ "$want" != *" $target "* ]]; then continue; fi
  echo "--- fuzz $pkg $target (${FUZZTIME:-12s})"
  go test "$pkg" -run '^$' -fuzz "^$target\$" -fuzztime "${FUZZTIME:-12s}" -parallel "${FUZZPARALLEL:-2}"
done < fuzz/targets.txt
