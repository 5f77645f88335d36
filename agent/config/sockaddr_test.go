package config

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSockaddrTemplates: the address keys take go-sockaddr's common
// single-call templates, as Consul's; client_addr takes a list (the first
// address is used); anything else is an error naming the key.
func TestSockaddrTemplates(t *testing.T) {
	saved := ifaceAddrs
	t.Cleanup(func() { ifaceAddrs = saved })
	ifaceAddrs = func() (map[string][]net.IP, []string, error) {
		return map[string][]net.IP{
			"lo":   {net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
			"eth0": {net.ParseIP("fe80::1"), net.ParseIP("10.1.2.3")},
			"eth1": {net.ParseIP("203.0.113.7"), net.ParseIP("192.168.9.9")},
		}, []string{"lo", "eth0", "eth1"}, nil
	}
	for _, tc := range []struct {
		args  []string
		check func(t *testing.T, c Config)
		warn  string
		err   string
	}{
		{args: []string{"-bind", `{{ GetInterfaceIP "eth0" }}`}, check: func(t *testing.T, c Config) { require.Equal(t, "10.1.2.3", c.BindAddr) }},
		{args: []string{"-advertise", `{{ GetPrivateIP }}`}, check: func(t *testing.T, c Config) { require.Equal(t, "10.1.2.3", c.AdvertiseAddr) }},
		{args: []string{"-advertise", `{{GetPublicIP}}`}, check: func(t *testing.T, c Config) { require.Equal(t, "203.0.113.7", c.AdvertiseAddr) }},
		{args: []string{"-client", `{{ GetPrivateIPs }}`}, check: func(t *testing.T, c Config) { require.Equal(t, "10.1.2.3", c.ClientAddr) },
			warn: "using 10.1.2.3 of \"10.1.2.3 192.168.9.9\""},
		{args: []string{"-client", "127.0.0.1 ::1"}, check: func(t *testing.T, c Config) { require.Equal(t, "127.0.0.1", c.ClientAddr) },
			warn: "listens on one address"},
		{args: []string{"-bind", `{{ GetInterfaceIPs "eth1" }}`}, err: "bind_addr"},
		{args: []string{"-bind", `{{ GetInterfaceIP "wlan0" }}`}, err: `interface "wlan0" not found`},
		{args: []string{"-bind", `{{ GetAllInterfaces | include "name" "eth0" }}`}, err: "unsupported go-sockaddr template"},
		{args: []string{"-bind", "10.0.0.9"}, check: func(t *testing.T, c Config) { require.Equal(t, "10.0.0.9", c.BindAddr) }},
	} {
		c, w, err := load(t, nil, append([]string{"-dev"}, tc.args...)...)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.args)
			continue
		}
		require.NoError(t, err, tc.args)
		tc.check(t, c)
		if tc.warn == "" {
			require.Empty(t, w)
		} else {
			require.Len(t, w, 1)
			require.Contains(t, w[0], tc.warn)
		}
	}
}
