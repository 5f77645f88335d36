package config

import (
	"fmt"
	"net"
	"strings"
	"text/template"
)

// Consul evaluates bind_addr, client_addr, advertise_addr (and the other
// address keys) as go-sockaddr templates, so that a command line such as
// -bind '{{ GetInterfaceIP "eth0" }}' works on any host. agentd
// evaluates the common single-call forms:
//
//	{{ GetInterfaceIP "eth0" }}   {{ GetInterfaceIPs "eth0" }}
//	{{ GetPrivateIP }}            {{ GetPrivateIPs }}
//	{{ GetPublicIP }}             {{ GetPublicIPs }}
//	{{ GetAllInterfaces }}        (every interface's address)
//
// Anything else (go-sockaddr's pipelines of include, sort, attr ...) is
// an error naming the key. A value without "{{" is taken as is.

// ifaceAddrs lists the host's interface addresses; a variable so tests
// can give a fixed host.
var ifaceAddrs = func() (map[string][]net.IP, []string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, nil, err
	}
	byName := map[string][]net.IP{}
	var order []string
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				byName[ifc.Name] = append(byName[ifc.Name], ipn.IP)
			}
		}
		order = append(order, ifc.Name)
	}
	return byName, order, nil
}

// sockaddrFuncs are the template functions agentd implements.
func sockaddrFuncs() template.FuncMap {
	all := func(keep func(net.IP) bool) ([]string, error) {
		byName, order, err := ifaceAddrs()
		if err != nil {
			return nil, err
		}
		var out []string
		for _, name := range order {
			for _, ip := range byName[name] {
				if keep(ip) {
					out = append(out, ip.String())
				}
			}
		}
		return out, nil
	}
	first := func(ips []string, err error, what string) (string, error) {
		if err != nil {
			return "", err
		}
		if len(ips) == 0 {
			return "", fmt.Errorf("no %s address found", what)
		}
		return ips[0], nil
	}
	joined := func(ips []string, err error) (string, error) { return strings.Join(ips, " "), err }
	private := func(ip net.IP) bool { return ip.To4() != nil && ip.IsPrivate() }
	public := func(ip net.IP) bool { return ip.To4() != nil && ip.IsGlobalUnicast() && !ip.IsPrivate() }
	iface := func(name string) ([]string, error) {
		byName, _, err := ifaceAddrs()
		if err != nil {
			return nil, err
		}
		ips, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("interface %q not found or down", name)
		}
		var out []string
		for _, ip := range ips {
			if ip.To4() != nil { // go-sockaddr's GetInterfaceIP: the IPv4 address
				out = append(out, ip.String())
			}
		}
		return out, nil
	}
	return template.FuncMap{
		"GetInterfaceIP": func(name string) (string, error) {
			ips, err := iface(name)
			return first(ips, err, "IPv4 address on interface "+name+": no")
		},
		"GetInterfaceIPs":  func(name string) (string, error) { return joined(iface(name)) },
		"GetPrivateIP":     func() (string, error) { ips, err := all(private); return first(ips, err, "private IPv4") },
		"GetPrivateIPs":    func() (string, error) { return joined(all(private)) },
		"GetPublicIP":      func() (string, error) { ips, err := all(public); return first(ips, err, "public IPv4") },
		"GetPublicIPs":     func() (string, error) { return joined(all(public)) },
		"GetAllInterfaces": func() (string, error) { return joined(all(func(net.IP) bool { return true })) },
	}
}

// expandSockaddr evaluates a go-sockaddr template value of key.
func expandSockaddr(key, v string) (string, error) {
	if !strings.Contains(v, "{{") {
		return v, nil
	}
	tmpl, err := template.New(key).Funcs(sockaddrFuncs()).Parse(v)
	if err != nil {
		return "", invalid(key, "unsupported go-sockaddr template %q: %v", v, err)
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, nil); err != nil {
		return "", invalid(key, "go-sockaddr template %q: %v", v, err)
	}
	return strings.TrimSpace(b.String()), nil
}

// expandAddrs evaluates the address keys' templates. Consul takes a
// space-separated list for client_addr (and addresses.*); agentd listens
// on one address, the first, and says so.
func (c *Config) expandAddrs() ([]string, error) {
	var warnings []string
	for _, a := range []struct {
		key  string
		v    *string
		list bool
	}{
		{"bind_addr", &c.BindAddr, false}, {"advertise_addr", &c.AdvertiseAddr, false},
		{"advertise_addr_wan", &c.AdvertiseAddrWAN, false}, {"serf_lan", &c.SerfBindLAN, false},
		{"serf_wan", &c.SerfBindWAN, false}, {"client_addr", &c.ClientAddr, true},
		{"addresses.http", &c.Addresses.HTTP, true}, {"addresses.https", &c.Addresses.HTTPS, true},
		{"addresses.grpc", &c.Addresses.GRPC, true}, {"addresses.dns", &c.Addresses.DNS, true},
	} {
		v, err := expandSockaddr(a.key, *a.v)
		if err != nil {
			return warnings, err
		}
		fields := strings.Fields(v)
		switch {
		case len(fields) > 1 && !a.list:
			return warnings, invalid(a.key, "must be one address, got %q", v)
		case len(fields) > 1:
			warnings = append(warnings, fmt.Sprintf("config: %s: agentd listens on one address; using %s of %q", a.key, fields[0], v))
			v = fields[0]
		case len(fields) == 0 && *a.v != "":
			return warnings, invalid(a.key, "template %q gave no address", *a.v)
		}
		*a.v = v
	}
	return warnings, nil
}
