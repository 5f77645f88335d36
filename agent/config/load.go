package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// pair is one key's value from one source.
type pair struct {
	key   string
	value any
}

// Load resolves the configuration: defaults (and -dev's), then each path
// in paths in order (a file, or a directory whose *.json files are read in
// lexical order), then the flags' pairs. It returns the warnings (unknown
// keys, skipped files) and an error naming the key for an invalid value.
func Load(dev bool, paths []string, flagPairs []pair) (Config, []string, error) {
	return loadFormat(dev, "", paths, flagPairs, nil)
}

// LoadFiles resolves the configuration from files alone, as `validate`
// checks them: format is -config-format ("" goes by extension).
func LoadFiles(format string, paths []string) (Config, []string, error) {
	return loadFormat(false, format, paths, nil, nil)
}

// loadFormat is Load with -config-format: "json" or "hcl" reads every file in
// that format whatever its name (and every file of a directory); "" goes
// by the name's extension. hcl are -hcl fragments, applied last.
func loadFormat(dev bool, format string, paths []string, flagPairs []pair, hcl []string) (Config, []string, error) {
	switch format {
	case "", "json", "hcl":
	default:
		return Config{}, nil, fmt.Errorf("config: -config-format must be json or hcl, got %q", format)
	}
	c := Default()
	if dev {
		devDefaults(&c)
	}
	var warnings []string
	for _, p := range paths {
		files, w, err := expand(p, format)
		warnings = append(warnings, w...)
		if err != nil {
			return Config{}, warnings, err
		}
		for _, f := range files {
			w, err := applyFile(&c, f, format)
			warnings = append(warnings, w...)
			if err != nil {
				return Config{}, warnings, err
			}
		}
	}
	for _, p := range flagPairs {
		if err := apply(&c, p.key, p.value, "flag"); err != nil {
			return Config{}, warnings, err
		}
	}
	for i, frag := range hcl {
		w, err := applyHCL(&c, []byte(frag), fmt.Sprintf("-hcl fragment %d", i+1))
		warnings = append(warnings, w...)
		if err != nil {
			return Config{}, warnings, err
		}
	}
	warnings = append(warnings, c.Compat.warnings()...)
	// start_join (-join) is joined like retry_join (see Config.StartJoin).
	c.RetryJoin = append(c.RetryJoin, c.StartJoin...)
	w, err := c.expandAddrs()
	warnings = append(warnings, w...)
	if err != nil {
		return Config{}, warnings, err
	}
	if err := c.validate(); err != nil {
		return Config{}, warnings, err
	}
	if c.BootstrapExpect == 1 {
		// As Consul's builder: a server expecting only itself is a
		// bootstrap server (tag bootstrap=1, no expect; it elects itself
		// at once).
		c.Bootstrap, c.BootstrapExpect = true, 0
		warnings = append(warnings, "config: bootstrap_expect is set to 1; this is the same as bootstrap mode")
	}
	return c, warnings, nil
}

// expand lists the files a -config-file or -config-dir path stands for.
func expand(p, format string) ([]string, []string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	if !st.IsDir() {
		return []string{p}, nil, nil
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return nil, nil, fmt.Errorf("config: read dir %s: %w", p, err)
	}
	var files, warnings []string
	for _, e := range ents {
		name := e.Name()
		switch {
		case e.IsDir():
		case format != "", strings.HasSuffix(name, ".json"), strings.HasSuffix(name, ".hcl"):
			files = append(files, filepath.Join(p, name))
		}
	}
	sort.Strings(files) // Consul merges a directory's files in lexical order
	return files, warnings, nil
}

func applyFile(c *Config, path, format string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if format == "hcl" || (format == "" && strings.HasSuffix(path, ".hcl")) {
		return applyHCL(c, b, path)
	}
	return applyJSON(c, b, path)
}

// applyHCL applies one HCL document (the subset parseHCL reads).
func applyHCL(c *Config, b []byte, src string) ([]string, error) {
	top, err := parseHCL(b)
	if err != nil {
		return nil, fmt.Errorf("config: %s: invalid HCL: %w", src, err)
	}
	return applyTree(c, top, src)
}

// applyJSON applies one JSON document; src names it in messages.
func applyJSON(c *Config, b []byte, src string) ([]string, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil // an empty file is an empty configuration, as Consul's
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("config: %s: invalid JSON: %w", src, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("config: %s: trailing data after the JSON object", src)
	}
	return applyTree(c, top, src)
}

// applyTree applies a decoded document (JSON's or HCL's) key by key.
func applyTree(c *Config, top map[string]any, src string) ([]string, error) {
	var warnings []string
	var walk func(prefix string, obj map[string]any) error
	walk = func(prefix string, obj map[string]any) error {
		names := make([]string, 0, len(obj))
		for k := range obj {
			names = append(names, k)
		}
		slices.Sort(names) // deterministic order for messages and list appends
		for _, k := range names {
			key := prefix + k
			v := obj[k]
			if sections[key] {
				sub, ok := v.(map[string]any)
				if !ok {
					return fmt.Errorf("config: %s: invalid value for %q: want an object, got %s", src, key, describe(v))
				}
				if err := walk(key+".", sub); err != nil {
					return err
				}
				continue
			}
			if _, known := keys[key]; !known {
				warnings = append(warnings, fmt.Sprintf("config: %s: unknown key %q ignored", src, key))
				continue
			}
			if err := apply(c, key, v, src); err != nil {
				return err
			}
		}
		return nil
	}
	return warnings, walk("", top)
}

func apply(c *Config, key string, v any, src string) error {
	set, ok := keys[key]
	if !ok {
		panic(fmt.Sprintf("config: flag bound to unknown key %q", key))
	}
	if err := set(c, v); err != nil {
		return fmt.Errorf("config: %s: invalid value for %q: %v", src, key, err)
	}
	return nil
}
