// Package fuzz is the index of agentd's fuzz targets; it holds no code.
//
// Each target lives beside the decoder it attacks, so that it can reach
// unexported state and its seed corpus (testdata/fuzz/<Target>) sits with
// the package's other test data. targets.txt lists every one of them: a
// decoder or handler that reads bytes from the network, the disk or an
// HTTP client must appear there. The invariant every target checks is the
// same: input never panics; malformed input is refused with an error (or a
// 4xx answer) and, where the target can see it, nothing already accepted
// is lost or changed.
//
// run.sh runs the list: .ci/run for 12 s per target, the long campaign
// (LONG=1 .ci/run, or FUZZTIME=2m bash fuzz/run.sh) for 2 minutes.
package fuzz
