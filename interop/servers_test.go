//go:build interop

package interop

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
	"time"
)

// render writes the template testdata/NAME.tmpl, filled with data, to out.
func render(name, out string, data any) error {
	t, err := template.ParseFiles(filepath.Join("testdata", name+".tmpl"))
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return os.WriteFile(out, b.Bytes(), 0o644)
}

// mkdirs creates the directories under base, world-readable (nginx's worker
// runs as nobody).
func mkdirs(base string, dirs ...string) error {
	for _, d := range append([]string{"."}, dirs...) {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// tool runs a helper program to completion (at most 20 s) and returns its
// combined output.
func tool(dir string, argv ...string) (string, error) {
	return toolWithin(20*time.Second, dir, argv...)
}

// toolWithin is tool with another bound (a build on a busy machine).
func toolWithin(d time.Duration, dir string, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// waitFor polls check every 50 ms until it succeeds, the server dies or the
// time is up.
func waitFor(s *server, within time.Duration, what string, check func() error) error {
	deadline := time.Now().Add(within)
	var err error
	for {
		if err = check(); err == nil {
			return nil
		}
		if !s.running() {
			return fmt.Errorf("%s exited while waiting for %s (%v); its log %s:\n%s", s.name, what, s.waitErr, s.log, tail(s.log, 30))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no %s within %v: %v; its log %s:\n%s", s.name, what, within, err, s.log, tail(s.log, 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tail returns the last n lines of a file.
func tail(name string, n int) string {
	b, _ := os.ReadFile(name)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// digProbe asks server (port 53) with BIND's dig, one try of one second (kdig
// would wait 15 s on a closed port).
func digProbe(server string, args ...string) (string, error) {
	argv := append([]string{"dig", "+time=1", "+tries=1", "@" + server}, args...)
	return tool("/", argv...)
}

// zoneData is a zone in the templates.
type zoneData struct {
	Name       string
	KnotSigned bool
}

// writeZones writes every zone file into dir; the ldns-signed ones are signed
// and altered (see tamper). It returns the trust anchors of the ldns-signed
// zones (DS records).
func (f *fixture) writeZones(dir, keys string) ([]string, error) {
	var anchors []string
	for _, z := range f.zones {
		var b strings.Builder
		fmt.Fprintf(&b, "$ORIGIN %s.\n$TTL 300\n@ SOA ns.%s. hostmaster.%s. 1 3600 900 604800 300\n@ NS ns\nns A %s\n", z.name, z.name, z.name, knotAddr)
		for _, r := range z.records {
			b.WriteString(f.expand(r) + "\n")
		}
		file := filepath.Join(dir, z.name+".zone")
		if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
		if z.signing != "ldns-bogus" {
			continue
		}
		ds, err := signAndTamper(keys, z.name, file)
		if err != nil {
			return nil, err
		}
		anchors = append(anchors, ds)
	}
	return anchors, nil
}

// expand replaces {{spki NAME}} in a record by the SPKI SHA-256 of a
// certificate of the test PKI.
func (f *fixture) expand(rec string) string {
	return spkiRef.ReplaceAllStringFunc(rec, func(m string) string {
		name := spkiRef.FindStringSubmatch(m)[1]
		switch name {
		case "inter":
			return f.pki.inter.spkiSHA256()
		case "root":
			return f.pki.root.spkiSHA256()
		}
		c, ok := f.pki.certs[name]
		if !ok {
			panic("interop: zone refers to unknown certificate " + name)
		}
		return c.spkiSHA256()
	})
}

var spkiRef = regexp.MustCompile(`\{\{spki ([a-z-]+)\}\}`)

// The changes that make bogus.test bogus: the apex MX preference, and the
// first digest byte pair of mx2's TLSA record. Each must apply exactly once.
var (
	tamperMX   = regexp.MustCompile(`(?m)^(bogus\.test\.\s+\d+\s+IN\s+MX\s+)10 `)
	tamperTLSA = regexp.MustCompile(`(?m)^(_25\._tcp\.mx2\.bogus\.test\.\s+\d+\s+IN\s+TLSA\s+3 1 1 )([0-9a-f]{2})`)
)

// signAndTamper signs zone file with ldns (new keys in keys), then alters
// signed records so that they no longer validate. It returns the DS record
// for Unbound's trust anchor.
func signAndTamper(keys, name, file string) (string, error) {
	if err := os.MkdirAll(keys, 0o755); err != nil {
		return "", err
	}
	ksk, err := tool(keys, "ldns-keygen", "-a", "ECDSAP256SHA256", "-k", name)
	if err != nil {
		return "", err
	}
	zsk, err := tool(keys, "ldns-keygen", "-a", "ECDSAP256SHA256", name)
	if err != nil {
		return "", err
	}
	ksk, zsk = strings.TrimSpace(ksk), strings.TrimSpace(zsk)
	signed := file + ".signed"
	if _, err := tool(keys, "ldns-signzone", "-n", "-f", signed, file, ksk, zsk); err != nil {
		return "", err
	}
	b, err := os.ReadFile(signed)
	if err != nil {
		return "", err
	}
	text := string(b)
	if n := len(tamperMX.FindAllString(text, -1)); n != 1 {
		return "", fmt.Errorf("tamper %s: the MX rule matched %d lines, want 1", name, n)
	}
	if n := len(tamperTLSA.FindAllString(text, -1)); n != 1 {
		return "", fmt.Errorf("tamper %s: the TLSA rule matched %d lines, want 1", name, n)
	}
	text = tamperMX.ReplaceAllString(text, "${1}20 ")
	text = tamperTLSA.ReplaceAllStringFunc(text, func(m string) string {
		sub := tamperTLSA.FindStringSubmatch(m)
		flip := "aa"
		if sub[2] == "aa" {
			flip = "bb"
		}
		return sub[1] + flip
	})
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		return "", err
	}
	ds, err := os.ReadFile(filepath.Join(keys, ksk+".ds"))
	if err != nil {
		return "", err
	}
	// "bogus.test.	IN	DS	11458 13 2 83e3..." -> "bogus.test. DS 11458 13 2 83e3..."
	var fields []string
	for _, f := range strings.Fields(string(ds)) {
		if f != "IN" {
			fields = append(fields, f)
		}
	}
	return strings.Join(fields, " "), nil
}

// startKnot writes the zones and starts Knot, then waits until every zone is
// served, the Knot-signed ones with signatures, and reads their DS records.
func (f *fixture) startKnot() ([]string, error) {
	dir := filepath.Join(f.work, "knot")
	if err := mkdirs(dir, "zones", "db", "run"); err != nil {
		return nil, err
	}
	anchors, err := f.writeZones(filepath.Join(dir, "zones"), filepath.Join(f.work, "ldns"))
	if err != nil {
		return nil, err
	}
	var zs []zoneData
	for _, z := range f.zones {
		zs = append(zs, zoneData{Name: z.name, KnotSigned: z.signing == "knot"})
	}
	conf := filepath.Join(dir, "knot.conf")
	if err := render("knot.conf", conf, map[string]any{"Dir": dir, "Addr": knotAddr, "Zones": zs}); err != nil {
		return nil, err
	}
	s, err := start("knotd", dir, filepath.Join(dir, "knot.log"), "knotd", "-c", conf)
	if err != nil {
		return nil, err
	}
	f.procs.add(s)
	for _, z := range f.zones {
		want := "SOA"
		if z.signing != "" {
			want = "RRSIG"
		}
		err := waitFor(s, 20*time.Second, "signed zone "+z.name, func() error {
			out, err := digProbe(knotAddr, "+dnssec", "+norec", "SOA", z.name)
			if err != nil {
				return err
			}
			for _, l := range strings.Split(out, "\n") {
				if f := strings.Fields(l); !strings.HasPrefix(l, ";") && len(f) >= 4 && f[0] == z.name+"." && f[3] == want {
					return nil
				}
			}
			return fmt.Errorf("no %s for %s yet", want, z.name)
		})
		if err != nil {
			return nil, err
		}
		if z.signing != "knot" {
			continue
		}
		out, err := tool(dir, "keymgr", "-c", conf, z.name, "ds")
		if err != nil {
			return nil, err
		}
		var ds string
		for _, l := range strings.Split(out, "\n") {
			// "example.test. DS 51485 13 2 9389d4..." (SHA-256; keymgr also prints SHA-384)
			if f := strings.Fields(l); len(f) == 6 && f[1] == "DS" && f[4] == "2" {
				ds = strings.Join(f, " ")
			}
		}
		if ds == "" {
			return nil, fmt.Errorf("keymgr %s ds: no SHA-256 DS in %q", z.name, out)
		}
		anchors = append(anchors, ds)
	}
	return anchors, nil
}

// startUnbound starts the validating resolver with the trust anchors.
func (f *fixture) startUnbound(anchors []string) error {
	dir := filepath.Join(f.work, "unbound")
	if err := mkdirs(dir); err != nil {
		return err
	}
	var zs []zoneData
	for _, z := range f.zones {
		zs = append(zs, zoneData{Name: z.name})
	}
	conf := filepath.Join(dir, "unbound.conf")
	if err := render("unbound.conf", conf, map[string]any{"Dir": dir, "Addr": unboundAddr, "Knot": knotAddr, "Anchors": anchors, "Zones": zs}); err != nil {
		return err
	}
	if _, err := tool(dir, "unbound-checkconf", conf); err != nil {
		return err
	}
	s, err := start("unbound", dir, filepath.Join(dir, "unbound.log"), "unbound", "-d", "-c", conf)
	if err != nil {
		return err
	}
	f.procs.add(s)
	return waitFor(s, 10*time.Second, "validated answers", func() error {
		out, err := digProbe(unboundAddr, "+dnssec", "SOA", "example.test")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "status: NOERROR") || !hasFlag(out, "ad") {
			return fmt.Errorf("not a validated answer yet")
		}
		return nil
	})
}

// siteData is a policy host in nginx's template.
type siteData struct {
	Domain, ContentType, Redirect string
	Chunked                       bool
}

// startNginx writes the policies and starts nginx.
func (f *fixture) startNginx() error {
	dir := filepath.Join(f.work, "nginx")
	if err := mkdirs(dir, "logs", "tmp"); err != nil {
		return err
	}
	var sites []siteData
	for _, s := range stsSites {
		sites = append(sites, siteData{Domain: s.domain, ContentType: s.contentType, Redirect: s.redirect, Chunked: s.chunked})
		if s.redirect != "" {
			continue
		}
		wk := filepath.Join(dir, "www", s.domain, ".well-known")
		if err := mkdirs(wk); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(wk, "mta-sts.txt"), []byte(s.body), 0o644); err != nil {
			return err
		}
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := render("nginx.conf", conf, map[string]any{"Dir": dir, "Addr": nginxAddr, "Chain": f.pki.chainFile("mta-sts"), "Sites": sites}); err != nil {
		return err
	}
	f.nginxLog = filepath.Join(dir, "logs", "access.log")
	s, err := start("nginx", dir, filepath.Join(dir, "logs", "stdout.log"),
		"nginx", "-p", dir, "-c", conf, "-e", filepath.Join(dir, "logs", "error.log"), "-g", "daemon off;")
	if err != nil {
		return err
	}
	f.procs.add(s)
	return waitFor(s, 10*time.Second, "port 443", func() error {
		c, err := net.DialTimeout("tcp", nginxAddr+":443", time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// listenerData is an MX host in Postfix's templates.
type listenerData struct {
	Name, Host, Addr, Chain string
}

// startPostfix starts one Postfix with a listener per MX host and waits for
// each one's greeting.
func (f *fixture) startPostfix() error {
	dir := filepath.Join(f.work, "postfix")
	if err := mkdirs(dir, "etc", "spool", "data", "mail"); err != nil {
		return err
	}
	if _, err := tool(dir, "chown", "65534:65534", filepath.Join(dir, "mail")); err != nil {
		return err
	}
	if _, err := tool(dir, "chown", "postfix", filepath.Join(dir, "data")); err != nil {
		return err
	}
	var ls []listenerData
	for _, m := range mxHosts {
		l := listenerData{Name: m.name, Host: m.host, Addr: m.addr}
		if m.cert != "" {
			l.Chain = f.pki.chainFile(m.cert)
		}
		ls = append(ls, l)
	}
	var domains []string
	for _, z := range f.zones {
		domains = append(domains, z.name, "sub."+z.name)
	}
	etc := filepath.Join(dir, "etc")
	data := map[string]any{
		"Dir": dir, "Listeners": ls,
		"DefaultChain": f.pki.chainFile("mx-valid"), "Domains": strings.Join(domains, ", "),
	}
	if err := render("main.cf", filepath.Join(etc, "main.cf"), data); err != nil {
		return err
	}
	if err := render("master.cf", filepath.Join(etc, "master.cf"), data); err != nil {
		return err
	}
	// Every recipient domain has its own Maildir: mail/DOMAIN/new/ (one rule
	// per domain: virtual(8) refuses $1 substitutions).
	var rules strings.Builder
	for _, d := range domains {
		fmt.Fprintf(&rules, "/@%s$/ %s/\n", regexp.QuoteMeta(d), d)
	}
	if err := os.WriteFile(filepath.Join(etc, "mailboxes"), []byte(rules.String()), 0o644); err != nil {
		return err
	}
	f.postfixLog = filepath.Join(dir, "postfix.log")
	f.mailDir = filepath.Join(dir, "mail")
	// start-fg: the master stays in the foreground (-s) but in a session of its
	// own; it is stopped through its pid file.
	s, err := start("postfix", filepath.Join(dir, "spool"), f.postfixLog, "postfix", "-c", etc, "start-fg")
	if err != nil {
		return err
	}
	s.pidFile = filepath.Join(dir, "spool", "pid", "master.pid")
	f.procs.add(s)
	for _, m := range mxHosts {
		err := waitFor(s, 20*time.Second, "the greeting of "+m.name, func() error {
			return smtpGreeting(m.addr + ":25")
		})
		if err != nil {
			return err
		}
	}
	pid, err := readPid(s.pidFile)
	if err != nil {
		return fmt.Errorf("postfix: master.pid: %w", err)
	}
	f.procs.note(pid, "postfix master")
	return nil
}

// smtpGreeting connects, reads a 220 greeting and says QUIT.
func smtpGreeting(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "220 ") {
		return fmt.Errorf("greeting %q", line)
	}
	fmt.Fprintf(c, "QUIT\r\n")
	return nil
}

// hasFlag reports whether dig's header shows the flag ("ad").
func hasFlag(digOut, flag string) bool {
	for _, l := range strings.Split(digOut, "\n") {
		if rest, ok := strings.CutPrefix(l, ";; flags:"); ok {
			flags, _, _ := strings.Cut(rest, ";")
			for _, f := range strings.Fields(flags) {
				if f == flag {
					return true
				}
			}
		}
	}
	return false
}
