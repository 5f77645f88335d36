package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// kvEntry is one element of `kv export`'s JSON array and `kv import`'s
// input, as Consul's command/kv/impexp.Entry.
type kvEntry struct {
	Key   string `json:"key"`
	Flags uint64 `json:"flags"`
	Value string `json:"value"` // base64 (standard encoding)
}

// cmdKVExport prints every pair under a prefix (all of them without one)
// as a tab-indented JSON array, as `consul kv export`.
func cmdKVExport(env *env, args []string) int {
	fs, hf := env.flags("kv export")
	if fs.Parse(args) != nil {
		return 1
	}
	if fs.NArg() > 1 {
		return env.fail("Too many arguments (expected 1, got %d)", fs.NArg())
	}
	// Keys never start with "/": users write "/" or "/foo" anyway.
	prefix := strings.TrimPrefix(fs.Arg(0), "/")
	c, err := hf.client()
	if err != nil {
		return env.fail("Error connecting to Consul agent: %v", err)
	}
	var ps []kvPair
	if err := c.getJSON(keyPath(prefix), url.Values{"recurse": {""}}, &ps); err != nil && !isNotFound(err) {
		return env.fail("Error querying Consul agent: %v", err)
	}
	out := make([]kvEntry, len(ps))
	for i, p := range ps {
		out[i] = kvEntry{Key: p.Key, Flags: p.Flags, Value: base64.StdEncoding.EncodeToString(p.Value)}
	}
	b, err := json.MarshalIndent(out, "", "\t")
	if err != nil {
		return env.fail("Error exporting KV data: %v", err)
	}
	fmt.Fprintln(env.stdout, string(b))
	return 0
}

// cmdKVImport writes the pairs of a `kv export` array: DATA is "@file",
// "-" for stdin, or the JSON itself. -prefix is joined in front of every
// key (a trailing "/" of a directory key is kept).
func cmdKVImport(env *env, args []string) int {
	fs, hf := env.flags("kv import")
	prefix := fs.String("prefix", "", "Key prefix for imported data")
	if fs.Parse(args) != nil {
		return 1
	}
	var data []byte
	switch arg := fs.Arg(0); {
	case fs.NArg() == 0:
		return env.fail("Error! Missing DATA argument")
	case fs.NArg() > 1:
		return env.fail("Error! Too many arguments (expected 1, got %d)", fs.NArg())
	case arg == "":
		return env.fail("Error! Empty DATA argument")
	case strings.HasPrefix(arg, "-") && arg != "-":
		data = []byte(arg) // Consul: only a lone "-" means stdin
	default:
		var err error
		if data, err = readData(env, arg); err != nil {
			return env.fail("Error! Failed to read %s: %v", arg, err)
		}
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error connecting to Consul agent: %v", err)
	}
	var entries []kvEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return env.fail("Cannot unmarshal data: %v", err)
	}
	for _, e := range entries {
		value, err := base64.StdEncoding.DecodeString(e.Value)
		if err != nil {
			return env.fail("Error base 64 decoding value for key %s: %v", e.Key, err)
		}
		key := path.Join(*prefix, e.Key)
		if strings.HasSuffix(e.Key, "/") && !strings.HasSuffix(key, "/") {
			key += "/"
		}
		q := url.Values{}
		if e.Flags != 0 {
			q.Set("flags", strconv.FormatUint(e.Flags, 10))
		}
		b, _, err := c.do(http.MethodPut, keyPath(key), q, strings.NewReader(string(value)))
		var ok bool
		if err == nil && (json.Unmarshal(b, &ok) != nil || !ok) {
			err = fmt.Errorf("the write was refused")
		}
		if err != nil {
			return env.fail("Error! Failed writing data for key %s: %v", key, err)
		}
		fmt.Fprintf(env.stdout, "Imported: %s\n", key)
	}
	return 0
}
