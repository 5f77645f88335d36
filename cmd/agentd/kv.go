package main

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
)

// kvPair is /v1/kv's JSON entry.
type kvPair struct {
	Key         string
	CreateIndex uint64
	ModifyIndex uint64
	LockIndex   uint64
	Flags       uint64
	Value       []byte
	Session     string
}

func cmdKV(env *env, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(env.stderr, "Usage: agentd kv <get|put|delete|export|import> [options] [KEY|DATA]")
		return 1
	}
	switch args[0] {
	case "get":
		return cmdKVGet(env, args[1:])
	case "put":
		return cmdKVPut(env, args[1:])
	case "delete":
		return cmdKVDelete(env, args[1:])
	case "export":
		return cmdKVExport(env, args[1:])
	case "import":
		return cmdKVImport(env, args[1:])
	}
	fmt.Fprintf(env.stderr, "unknown kv subcommand %q\n", args[0])
	return 1
}

func cmdKVGet(env *env, args []string) int {
	fs, hf := env.flags("kv get")
	recurse := fs.Bool("recurse", false, "list every key under the prefix")
	detailed := fs.Bool("detailed", false, "print every field")
	keys := fs.Bool("keys", false, "list keys under the prefix")
	sep := fs.String("separator", "/", "with -keys: list up to this separator")
	base64Out := fs.Bool("base64", false, "print values base64-encoded")
	if fs.Parse(args) != nil {
		return 1
	}
	key := ""
	switch fs.NArg() {
	case 0:
	case 1:
		key = strings.TrimPrefix(fs.Arg(0), "/")
	default:
		return env.fail("Too many arguments (expected 1, got %d)", fs.NArg())
	}
	if key == "" && !*recurse && !*keys {
		return env.fail("Error! Missing KEY argument")
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error! %v", err)
	}
	show := func(v []byte) string {
		if *base64Out {
			return base64.StdEncoding.EncodeToString(v)
		}
		return string(v)
	}
	switch {
	case *keys:
		q := url.Values{"keys": {""}}
		if *sep != "" {
			q.Set("separator", *sep)
		}
		var ks []string
		if err := c.getJSON(keyPath(key), q, &ks); err != nil && !isNotFound(err) {
			return env.fail("Error querying Consul agent: %v", err)
		}
		for _, k := range ks {
			fmt.Fprintln(env.stdout, k)
		}
	case *recurse:
		var ps []kvPair
		if err := c.getJSON(keyPath(key), url.Values{"recurse": {""}}, &ps); err != nil && !isNotFound(err) {
			return env.fail("Error querying Consul agent: %v", err)
		}
		for i, p := range ps {
			if *detailed {
				printDetailed(env.stdout, p, show)
				if i < len(ps)-1 {
					fmt.Fprintln(env.stdout)
				}
				continue
			}
			fmt.Fprintf(env.stdout, "%s:%s\n", p.Key, show(p.Value))
		}
	default:
		var ps []kvPair
		err := c.getJSON(keyPath(key), nil, &ps)
		if isNotFound(err) || (err == nil && len(ps) == 0) {
			return env.fail("Error! No key exists at: %s", key)
		}
		if err != nil {
			return env.fail("Error querying Consul agent: %v", err)
		}
		if *detailed {
			printDetailed(env.stdout, ps[0], show)
			return 0
		}
		fmt.Fprintln(env.stdout, show(ps[0].Value))
	}
	return 0
}

func printDetailed(w io.Writer, p kvPair, show func([]byte) string) {
	tw := tabwriter.NewWriter(w, 0, 2, 6, ' ', 0)
	session := p.Session
	if session == "" {
		session = "-"
	}
	fmt.Fprintf(tw, "CreateIndex\t%d\n", p.CreateIndex)
	fmt.Fprintf(tw, "Flags\t%d\n", p.Flags)
	fmt.Fprintf(tw, "Key\t%s\n", p.Key)
	fmt.Fprintf(tw, "LockIndex\t%d\n", p.LockIndex)
	fmt.Fprintf(tw, "ModifyIndex\t%d\n", p.ModifyIndex)
	fmt.Fprintf(tw, "Session\t%s\n", session)
	fmt.Fprintf(tw, "Value\t%s\n", show(p.Value))
	tw.Flush()
}

func cmdKVPut(env *env, args []string) int {
	fs, hf := env.flags("kv put")
	cas := fs.Bool("cas", false, "check-and-set against -modify-index")
	modIndex := fs.Uint64("modify-index", 0, "with -cas: the ModifyIndex the key must have (0: must not exist)")
	flags := fs.Uint64("flags", 0, "opaque flags stored with the key")
	acquire := fs.Bool("acquire", false, "acquire the lock with -session")
	release := fs.Bool("release", false, "release the lock held by -session")
	session := fs.String("session", "", "session ID for -acquire or -release")
	b64 := fs.Bool("base64", false, "DATA is base64-encoded")
	if fs.Parse(args) != nil {
		return 1
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return env.fail("Error! Expected KEY [DATA], got %d arguments", fs.NArg())
	}
	key := strings.TrimPrefix(fs.Arg(0), "/")
	if key == "" {
		return env.fail("Error! Missing KEY argument")
	}
	var data []byte
	if fs.NArg() == 2 {
		var err error
		if data, err = readData(env, fs.Arg(1)); err != nil {
			return env.fail("Error! %v", err)
		}
	}
	if *b64 {
		d, err := base64.StdEncoding.DecodeString(string(data))
		if err != nil {
			return env.fail("Error! Cannot base64 decode data: %v", err)
		}
		data = d
	}
	if (*acquire || *release) && *session == "" {
		return env.fail("Error! Missing -session (required with -acquire and -release)")
	}
	q := url.Values{}
	if *flags != 0 {
		q.Set("flags", strconv.FormatUint(*flags, 10))
	}
	switch {
	case *cas:
		q.Set("cas", strconv.FormatUint(*modIndex, 10))
	case *acquire:
		q.Set("acquire", *session)
	case *release:
		q.Set("release", *session)
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error! %v", err)
	}
	b, _, err := c.do(http.MethodPut, keyPath(key), q, strings.NewReader(string(data)))
	if err != nil {
		return env.fail("Error! Failed writing data: %v", err)
	}
	var ok bool
	if json.Unmarshal(b, &ok) != nil || !ok {
		switch {
		case *cas:
			return env.fail("Error! Did not write to %s: CAS failed", key)
		case *acquire:
			return env.fail("Error! Did not write to %s: lock acquisition failed", key)
		case *release:
			return env.fail("Error! Did not write to %s: lock release failed", key)
		}
		return env.fail("Error! Failed writing data to %s", key)
	}
	switch {
	case *acquire:
		fmt.Fprintf(env.stdout, "Success! Lock acquired on: %s\n", key)
	case *release:
		fmt.Fprintf(env.stdout, "Success! Lock released on: %s\n", key)
	default:
		fmt.Fprintf(env.stdout, "Success! Data written to: %s\n", key)
	}
	return 0
}

// readData resolves Consul's DATA forms: "-" is stdin, "@file" a file,
// anything else the literal value.
func readData(env *env, arg string) ([]byte, error) {
	switch {
	case arg == "-":
		return io.ReadAll(env.stdin)
	case strings.HasPrefix(arg, "@"):
		return os.ReadFile(arg[1:])
	}
	return []byte(arg), nil
}

func cmdKVDelete(env *env, args []string) int {
	fs, hf := env.flags("kv delete")
	recurse := fs.Bool("recurse", false, "delete every key under the prefix")
	cas := fs.Bool("cas", false, "delete only if the key's ModifyIndex is -modify-index")
	modIndex := fs.Uint64("modify-index", 0, "with -cas: the ModifyIndex the key must have")
	if fs.Parse(args) != nil {
		return 1
	}
	if fs.NArg() > 1 {
		return env.fail("Error! Too many arguments (expected 1, got %d)", fs.NArg())
	}
	key := strings.TrimPrefix(fs.Arg(0), "/")
	switch {
	case key == "" && !*recurse:
		return env.fail("Error! Missing KEY argument")
	case *recurse && *cas:
		return env.fail("Cannot specify both -cas and -recurse!")
	case *cas && *modIndex == 0:
		return env.fail("Must specify -modify-index with -cas!")
	}
	q := url.Values{}
	if *recurse {
		q.Set("recurse", "")
	}
	if *cas {
		q.Set("cas", strconv.FormatUint(*modIndex, 10))
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error! %v", err)
	}
	b, _, err := c.do(http.MethodDelete, keyPath(key), q, nil)
	if err != nil {
		return env.fail("Error! Did not delete key %s: %v", key, err)
	}
	var ok bool
	if json.Unmarshal(b, &ok) != nil || !ok {
		return env.fail("Error! Did not delete key %s: CAS failed", key)
	}
	if *recurse {
		fmt.Fprintf(env.stdout, "Success! Deleted keys with prefix: %s\n", key)
	} else {
		fmt.Fprintf(env.stdout, "Success! Deleted key: %s\n", key)
	}
	return 0
}

// newFlagSet makes a quiet flag set whose errors go to stderr.
func newFlagSet(env *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	return fs
}
