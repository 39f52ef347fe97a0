package dnsconfig

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/segcli/segcli/store"
)

// options splits args into positional words and --key=value options; only the keys
// in allowed are accepted, and --trusted alone means --trusted=yes.
func options(args []string, allowed ...string) ([]string, map[string]string, error) {
	var pos []string
	kv := make(map[string]string)
	for _, a := range args {
		rest, ok := strings.CutPrefix(a, "--")
		if !ok {
			pos = append(pos, a)
			continue
		}
		k, v, has := strings.Cut(rest, "=")
		k = strings.ToLower(k)
		known := false
		for _, x := range allowed {
			known = known || x == k
		}
		if !known {
			return nil, nil, fmt.Errorf("dnsconfig: unknown option %q: the options are --%s", a, strings.Join(allowed, "=..., --")+"=...")
		}
		if !has {
			if k != "trusted" {
				return nil, nil, fmt.Errorf("dnsconfig: option --%s needs a value, such as --%s=%s", k, k, example(k))
			}
			v = "yes"
		}
		if _, dup := kv[k]; dup {
			return nil, nil, fmt.Errorf("dnsconfig: option --%s is given twice", k)
		}
		kv[k] = v
	}
	return pos, kv, nil
}

func example(key string) string {
	switch key {
	case "port":
		return "53"
	case "address":
		return "192.0.2.53"
	}
	return "yes"
}

// yesNo reads a yes/no option value.
func yesNo(key, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes", "y", "true", "on":
		return true, nil
	case "no", "n", "false", "off":
		return false, nil
	}
	return false, fmt.Errorf("dnsconfig: --%s=%s: give yes or no", key, v)
}

// serverFrom builds a server from an address (with an optional port), a --port value
// and a --trusted value; empty values keep what base holds.
func serverFrom(base store.DNSServer, addr, port, trusted string) (store.DNSServer, error) {
	s := base
	if addr != "" {
		a, p, err := parseAddress(addr)
		if err != nil {
			return s, fmt.Errorf("dnsconfig: %w", err)
		}
		s.Address = a
		if p != 0 {
			if port != "" && port != strconv.Itoa(p) {
				return s, fmt.Errorf("dnsconfig: the port is given twice (%s and --port=%s): give it once", addr, port)
			}
			s.Port = p
		}
	}
	if port != "" {
		p, err := parsePort(port)
		if err != nil {
			return s, fmt.Errorf("dnsconfig: %w", err)
		}
		s.Port = p
	}
	if s.Port == 0 {
		s.Port = 53
	}
	if trusted != "" {
		t, err := yesNo("trusted", trusted)
		if err != nil {
			return s, err
		}
		s.Trusted = t
	}
	return s, nil
}

// batchNew is `dnsconfig new ADDRESS[:PORT] [--port=PORT] [--trusted[=yes|no]]`.
func batchNew(w io.Writer, d *store.DNSConfig, args []string) error {
	pos, kv, err := options(args, "port", "trusted")
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: dnsconfig new ADDRESS[:PORT] [--port=PORT] [--trusted[=yes|no]]")
	}
	s, err := serverFrom(store.DNSServer{}, pos[0], kv["port"], kv["trusted"])
	if err != nil {
		return err
	}
	if index(d, s.Address, s.Port) >= 0 {
		return fmt.Errorf("dnsconfig: %s port %d is already in the list: use \"dnsconfig edit\" to change it", s.Address, s.Port)
	}
	d.Servers = append(d.Servers, s)
	useOwn(w, d)
	return nil
}

// batchEdit is `dnsconfig edit NUMBER|ADDRESS[:PORT] [--address=..] [--port=..] [--trusted=..]`.
func batchEdit(d *store.DNSConfig, args []string) error {
	pos, kv, err := options(args, "address", "port", "trusted")
	if err != nil {
		return err
	}
	if len(pos) != 1 || len(kv) == 0 {
		return errors.New("usage: dnsconfig edit NUMBER|ADDRESS[:PORT] [--address=ADDRESS] [--port=PORT] [--trusted=yes|no]")
	}
	i, err := selectServer(d, pos[0])
	if err != nil {
		return err
	}
	s, err := serverFrom(d.Servers[i], kv["address"], kv["port"], kv["trusted"])
	if err != nil {
		return err
	}
	if j := index(d, s.Address, s.Port); j >= 0 && j != i {
		return fmt.Errorf("dnsconfig: %s port %d is already in the list (number %d)", s.Address, s.Port, j+1)
	}
	d.Servers[i] = s
	return nil
}

// batchDelete is `dnsconfig delete NUMBER|ADDRESS[:PORT]`.
func batchDelete(w io.Writer, d *store.DNSConfig, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: dnsconfig delete NUMBER|ADDRESS[:PORT]")
	}
	i, err := selectServer(d, args[0])
	if err != nil {
		return err
	}
	removeAt(w, d, i)
	return nil
}

// selectServer finds the server a batch command names: its number in the list, or
// its address (with the port when two entries share the address).
func selectServer(d *store.DNSConfig, sel string) (int, error) {
	if len(d.Servers) == 0 {
		return 0, errors.New("dnsconfig: there are no DNS servers of your own: add one with \"dnsconfig new ADDRESS\"")
	}
	if n, err := strconv.Atoi(sel); err == nil {
		if n < 1 || n > len(d.Servers) {
			return 0, fmt.Errorf("dnsconfig: there is no server number %d: give a number from 1 to %d (see \"dnsconfig list\")", n, len(d.Servers))
		}
		return n - 1, nil
	}
	addr, port, err := parseAddress(sel)
	if err != nil {
		return 0, fmt.Errorf("dnsconfig: %w", err)
	}
	found := -1
	for i, s := range d.Servers {
		if s.Address != addr || (port != 0 && portOf(s) != port) {
			continue
		}
		if found >= 0 {
			return 0, fmt.Errorf("dnsconfig: %s is in the list more than once: give the port too (%s) or the number", sel, hostPortExample(addr, portOf(s)))
		}
		found = i
	}
	if found < 0 {
		return 0, fmt.Errorf("dnsconfig: %s is not in the list (see \"dnsconfig list\")", sel)
	}
	return found, nil
}

func hostPortExample(addr string, port int) string {
	if strings.Contains(addr, ":") {
		return "[" + addr + "]:" + strconv.Itoa(port)
	}
	return addr + ":" + strconv.Itoa(port)
}
