package main

import (
	"fmt"

	"github.com/agentd/agentd/agent/config"
)

// cmdValidate is Consul's `validate [options] FILE_OR_DIRECTORY...`: load
// the files as `agent -config-file`/`-config-dir` would (without -dev, so
// data_dir is required as for Consul) and report. Exit 0 with
// "Configuration is valid!" (nothing with -quiet; warnings on stderr), or
// 1 with the error, which names the key.
func cmdValidate(env *env, args []string) int {
	fs := newFlagSet(env, "validate")
	quiet := fs.Bool("quiet", false, "print nothing when the configuration is valid")
	format := fs.String("config-format", "", "read every file as hcl or json, whatever its extension")
	if fs.Parse(args) != nil {
		return 1
	}
	if fs.NArg() < 1 {
		return env.fail("Must specify at least one config file or directory")
	}
	if *format != "" && *format != "json" && *format != "hcl" {
		return env.fail("-config-format must be either 'hcl' or 'json'")
	}
	_, warnings, err := config.LoadFiles(*format, fs.Args())
	if err != nil {
		return env.fail("Config validation failed: %v", err)
	}
	if !*quiet {
		for _, w := range warnings {
			fmt.Fprintln(env.stderr, w)
		}
		fmt.Fprintln(env.stdout, "Configuration is valid!")
	}
	return 0
}
