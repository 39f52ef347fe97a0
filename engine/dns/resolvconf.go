package dns

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// ParseServer parses a server address given by an operator: "ip" or
// "ip:port" ("[ip]:port" for IPv6), port 53 by default. Host names are
// refused (ErrBadServer): they would need the machine's resolver.
func ParseServer(s string) (Server, error) {
	addr, err := normalizeAddr(s)
	if err != nil {
		return Server{}, fmt.Errorf("dns: server: %w", err)
	}
	return Server{Addr: addr}, nil
}

// ServersFromResolvConf reads the "nameserver" lines of a resolv.conf file
// (resolv.conf(5)), in order, with port 53 and Trusted unset (a loopback
// server is trusted anyway). Lines whose address does not parse are skipped,
// as the C library does; a file without a usable line is an error wrapping
// ErrNoServers.
func ServersFromResolvConf(path string) ([]Server, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dns: read resolv.conf: %w", err)
	}
	defer f.Close()
	var out []Server
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(fields[1]) // no port syntax here
		if err != nil {
			continue
		}
		out = append(out, Server{Addr: netip.AddrPortFrom(a, 53).String()})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dns: read %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dns: %s: no nameserver line: %w", path, ErrNoServers)
	}
	return out, nil
}
