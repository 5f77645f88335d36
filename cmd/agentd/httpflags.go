package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// httpFlags are the API options every HTTP command takes, with the names,
// environment variables and precedence of Consul's CLI (command/flags
// HTTPFlags over the api package's DefaultConfig):
//
//	-http-addr        CONSUL_HTTP_ADDR  host:port, http://, https://host:port[/prefix], unix:///sock
//	-token            CONSUL_HTTP_TOKEN
//	-token-file       CONSUL_HTTP_TOKEN_FILE
//	-ca-file          CONSUL_CACERT
//	-ca-path          CONSUL_CAPATH
//	-client-cert      CONSUL_CLIENT_CERT
//	-client-key       CONSUL_CLIENT_KEY
//	-tls-server-name  CONSUL_TLS_SERVER_NAME
//	-datacenter, -stale
//	-namespace        CONSUL_NAMESPACE  (Enterprise: only "default" is accepted)
//	-partition        CONSUL_PARTITION  (Enterprise: only "default" is accepted)
//
// and CONSUL_HTTP_SSL (https for an address without a scheme),
// CONSUL_HTTP_SSL_VERIFY=false (skip certificate checks) and
// CONSUL_HTTP_AUTH (user[:password], HTTP basic auth). A flag overrides
// its variable. Every command registers all of them; -stale only changes
// reads.
type httpFlags struct {
	addr, token, tokenFile                  string
	caFile, caPath, clientCert, clientKey   string
	tlsServerName, dc, namespace, partition string
	stale                                   bool
}

func (h *httpFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&h.addr, "http-addr", "", "address of the agent's HTTP API (default $CONSUL_HTTP_ADDR, else 127.0.0.1:8500)")
	fs.StringVar(&h.token, "token", "", "ACL token ($CONSUL_HTTP_TOKEN)")
	fs.StringVar(&h.tokenFile, "token-file", "", "file holding the ACL token ($CONSUL_HTTP_TOKEN_FILE)")
	fs.StringVar(&h.caFile, "ca-file", "", "CA certificate file for HTTPS ($CONSUL_CACERT)")
	fs.StringVar(&h.caPath, "ca-path", "", "directory of CA certificates for HTTPS ($CONSUL_CAPATH)")
	fs.StringVar(&h.clientCert, "client-cert", "", "client certificate file for HTTPS ($CONSUL_CLIENT_CERT)")
	fs.StringVar(&h.clientKey, "client-key", "", "client key file for HTTPS ($CONSUL_CLIENT_KEY)")
	fs.StringVar(&h.tlsServerName, "tls-server-name", "", "server name to verify and send as SNI ($CONSUL_TLS_SERVER_NAME)")
	fs.StringVar(&h.dc, "datacenter", "", "datacenter to query (default: the agent's)")
	fs.BoolVar(&h.stale, "stale", false, "allow any server to answer reads")
	fs.StringVar(&h.namespace, "namespace", "", "namespace (Enterprise; only \"default\") ($CONSUL_NAMESPACE)")
	fs.StringVar(&h.partition, "partition", "", "admin partition (Enterprise; only \"default\") ($CONSUL_PARTITION)")
}

// clientConfig is the flags resolved against the environment.
type clientConfig struct {
	scheme, host, pathPrefix string
	socket                   string // unix:// socket path; host is then unused
	token                    string
	user, password           string // CONSUL_HTTP_AUTH
	hasAuth                  bool
	tls                      tlsFiles
	dc                       string
	stale                    bool
}

// tlsFiles are the HTTPS client settings.
type tlsFiles struct {
	caFile, caPath, certFile, keyFile, serverName string
	insecure                                      bool
}

// orEnv is the flag's value, else the variable's.
func orEnv(flagValue, name string) string {
	if flagValue != "" {
		return flagValue
	}
	return os.Getenv(name)
}

// envBool parses a boolean variable; unset or unparsable is def (Consul
// warns and keeps its default).
func envBool(name string, def bool) bool {
	b, err := strconv.ParseBool(os.Getenv(name))
	if err != nil {
		return def
	}
	return b
}

// resolve applies Consul's rules: the address's scheme (http, https, unix;
// any other is "Unknown protocol scheme"), CONSUL_HTTP_SSL, and the token
// precedence -token-file, -token, CONSUL_HTTP_TOKEN_FILE,
// CONSUL_HTTP_TOKEN (an empty file falls through).
func (h *httpFlags) resolve() (clientConfig, error) {
	cc := clientConfig{scheme: "http", dc: h.dc, stale: h.stale}
	addr := orEnv(h.addr, "CONSUL_HTTP_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8500"
	}
	if envBool("CONSUL_HTTP_SSL", false) {
		cc.scheme = "https"
	}
	if scheme, rest, ok := strings.Cut(addr, "://"); ok {
		switch scheme {
		case "http": // never back to http if CONSUL_HTTP_SSL asked for TLS
		case "https":
			cc.scheme = "https"
		case "unix":
			cc.socket = rest
		default:
			return cc, fmt.Errorf("Unknown protocol scheme: %s", scheme)
		}
		addr = rest
		if scheme == "http" || scheme == "https" {
			if host, prefix, ok := strings.Cut(addr, "/"); ok {
				addr, cc.pathPrefix = host, "/"+prefix
			}
		}
	}
	cc.host = addr
	if cc.socket == "" && cc.host == "" {
		return cc, fmt.Errorf("invalid HTTP address %q", addr)
	}
	cc.tls = tlsFiles{
		caFile: orEnv(h.caFile, "CONSUL_CACERT"), caPath: orEnv(h.caPath, "CONSUL_CAPATH"),
		certFile: orEnv(h.clientCert, "CONSUL_CLIENT_CERT"), keyFile: orEnv(h.clientKey, "CONSUL_CLIENT_KEY"),
		serverName: orEnv(h.tlsServerName, "CONSUL_TLS_SERVER_NAME"),
		insecure:   !envBool("CONSUL_HTTP_SSL_VERIFY", true),
	}
	if auth := os.Getenv("CONSUL_HTTP_AUTH"); auth != "" {
		cc.user, cc.password, _ = strings.Cut(auth, ":")
		cc.hasAuth = true
	}
	for _, t := range []struct{ name, v string }{
		{"Namespaces", orEnv(h.namespace, "CONSUL_NAMESPACE")}, {"Admin partitions", orEnv(h.partition, "CONSUL_PARTITION")},
	} {
		if t.v != "" && t.v != "default" {
			return cc, fmt.Errorf("%s are a Consul Enterprise feature: only \"default\" is accepted, got %q", t.name, t.v)
		}
	}
	var err error
	cc.token, err = h.resolveToken()
	return cc, err
}

func (h *httpFlags) resolveToken() (string, error) {
	for _, src := range []struct{ file, token string }{
		{h.tokenFile, h.token},
		{os.Getenv("CONSUL_HTTP_TOKEN_FILE"), os.Getenv("CONSUL_HTTP_TOKEN")},
	} {
		if src.file != "" {
			b, err := os.ReadFile(src.file)
			if err != nil {
				return "", fmt.Errorf("Error loading token file %s : %v", src.file, err)
			}
			if t := strings.TrimSpace(string(b)); t != "" {
				return t, nil
			}
		}
		if src.token != "" {
			return src.token, nil
		}
	}
	return "", nil
}
