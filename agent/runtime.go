package agent

import "runtime"

func runtimeArch() string { return runtime.GOARCH }
func runtimeOS() string   { return runtime.GOOS }
func numGoroutine() int   { return runtime.NumGoroutine() }
