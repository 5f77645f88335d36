package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
)

// config builds the HTTPS client's TLS settings as Consul's api package
// does: CA certificates from the CA file and every file of the CA
// directory (else the system's), a client certificate when both halves
// are given, the server name to verify, and CONSUL_HTTP_SSL_VERIFY=false
// turning verification off.
func (t tlsFiles) config() (*tls.Config, error) {
	tc := &tls.Config{ServerName: t.serverName, InsecureSkipVerify: t.insecure}
	var pems []string
	if t.caFile != "" {
		pems = append(pems, t.caFile)
	}
	if t.caPath != "" {
		ents, err := os.ReadDir(t.caPath)
		if err != nil {
			return nil, fmt.Errorf("Error reading CA path: %v", err)
		}
		for _, e := range ents {
			if !e.IsDir() {
				pems = append(pems, filepath.Join(t.caPath, e.Name()))
			}
		}
	}
	if len(pems) > 0 {
		pool := x509.NewCertPool()
		for _, p := range pems {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("Error reading CA file: %v", err)
			}
			if !pool.AppendCertsFromPEM(b) {
				return nil, fmt.Errorf("Error loading CA file %s: no PEM certificate in it", p)
			}
		}
		tc.RootCAs = pool
	}
	switch {
	case t.certFile != "" && t.keyFile != "":
		cert, err := tls.LoadX509KeyPair(t.certFile, t.keyFile)
		if err != nil {
			return nil, fmt.Errorf("Error loading client certificate: %v", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	case t.certFile != "" || t.keyFile != "":
		return nil, fmt.Errorf("both -client-cert and -client-key must be given")
	}
	return tc, nil
}
