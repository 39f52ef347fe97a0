// Package dnstest is test support: a fake validating recursive resolver run on a
// real miekg/dns server on 127.0.0.1, over UDP and TCP on one port. Only tests (and
// transcripts/fixtures, which only tests use) import it.
package dnstest

import (
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// Behaviours of special names (Options.Special, Resolver.SetSpecial).
const (
	// Bogus: SERVFAIL with Extended DNS Error 7 (Signature Expired) without CD,
	// the records with CD (a validation failure, RFC 4035 §3.2.2).
	Bogus = "bogus"
	// ServFail: SERVFAIL, with or without CD, no EDE.
	ServFail = "servfail"
	// Timeout: no answer at all.
	Timeout = "timeout"
	// Refused: REFUSED, without RA.
	Refused = "refused"
	// Whoami: a TXT record holding the address the query came from.
	Whoami = "whoami"
)

// Options describe the data of a fake validating resolver.
type Options struct {
	// Zone is the data in zone-file form, with an SOA record at each zone apex.
	Zone string
	// Insecure lists the names (zone apexes, usually) at and under which
	// nothing is signed (no AD, no RRSIG).
	Insecure []string
	// Special gives names (lower case, with the final dot) a behaviour: Bogus,
	// ServFail, Timeout, Refused or Whoami.
	Special map[string]string
}

// zoneInfo is one zone of the fake resolver.
type zoneInfo struct {
	apex string
	soa  *mdns.SOA
}

// Resolver plays a validating recursive resolver for its zones: answers carry AD
// when the query has DO or AD set (RFC 6840 §5.7) and every name of the answer
// is signed, and fake RRSIGs when it has DO; CNAMEs are followed inside the
// answer. Names that are not there get NXDOMAIN with the SOA of their zone;
// names that exist without the asked type get NODATA. It counts the queries
// that reach it. Its methods are safe for concurrent use.
type Resolver struct {
	mu       sync.Mutex
	zones    []zoneInfo           // longest apex first
	records  map[string][]mdns.RR // by owner name, lower case
	special  map[string]string    // name -> behaviour
	insecure map[string]bool      // unsigned apexes
	queries  map[string]int       // "name TYPE"
}

// NewResolver returns a resolver for o's data. It panics when the zone does not
// parse or has no SOA record.
func NewResolver(o Options) *Resolver {
	r := &Resolver{
		records:  make(map[string][]mdns.RR),
		special:  make(map[string]string),
		insecure: make(map[string]bool),
		queries:  make(map[string]int),
	}
	for name, b := range o.Special {
		r.special[strings.ToLower(mdns.Fqdn(name))] = b
	}
	for _, apex := range o.Insecure {
		r.insecure[strings.ToLower(mdns.Fqdn(apex))] = true
	}
	zp := mdns.NewZoneParser(strings.NewReader(o.Zone), ".", "dnstest")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		r.addRR(rr)
	}
	if err := zp.Err(); err != nil {
		panic("dnstest: zone: " + err.Error())
	}
	if len(r.zones) == 0 {
		panic("dnstest: zone without an SOA record")
	}
	return r
}

// Start runs a resolver for o's data on 127.0.0.1, over UDP and TCP on the same
// port, until the test ends, and returns it with its "127.0.0.1:PORT".
func Start(tb testing.TB, o Options) (*Resolver, string) {
	tb.Helper()
	r := NewResolver(o)
	return r, Serve(tb, r)
}

// addRR adds one record; the caller holds r.mu or owns r.
func (r *Resolver) addRR(rr mdns.RR) {
	name := strings.ToLower(rr.Header().Name)
	if soa, isSOA := rr.(*mdns.SOA); isSOA {
		r.zones = append(r.zones, zoneInfo{apex: name, soa: soa})
		// Longest apex first, so that a name finds its closest zone.
		for i := len(r.zones) - 1; i > 0 && len(r.zones[i].apex) > len(r.zones[i-1].apex); i-- {
			r.zones[i], r.zones[i-1] = r.zones[i-1], r.zones[i]
		}
	}
	r.records[name] = append(r.records[name], rr)
}

// Add adds records in zone-file form, one a string ("a.test. 300 IN A 127.0.0.1").
// It panics on a record that does not parse.
func (r *Resolver) Add(rrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range rrs {
		rr, err := mdns.NewRR(s)
		if err != nil || rr == nil {
			panic(fmt.Sprintf("dnstest: bad record %q: %v", s, err))
		}
		r.addRR(rr)
	}
}

// SetSpecial gives name a behaviour (Bogus, ServFail, Timeout, Refused, Whoami).
func (r *Resolver) SetSpecial(name, behaviour string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.special[strings.ToLower(mdns.Fqdn(name))] = behaviour
}

// SetInsecure makes apex and the names under it unsigned.
func (r *Resolver) SetInsecure(apex string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.insecure[strings.ToLower(mdns.Fqdn(apex))] = true
}

// Asked returns how many queries for key ("name. TYPE", lower case) reached the
// resolver.
func (r *Resolver) Asked(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queries[key]
}

func mustRR(s string) mdns.RR {
	rr, err := mdns.NewRR(s)
	if err != nil {
		panic("dnstest: " + err.Error())
	}
	return rr
}

// zoneOf returns the zone name belongs to (the shortest apex when no other fits).
func (r *Resolver) zoneOf(name string) zoneInfo {
	for _, z := range r.zones {
		if mdns.IsSubDomain(z.apex, name) {
			return z
		}
	}
	return r.zones[len(r.zones)-1]
}

// signed reports whether name is in a signed part of the data.
func (r *Resolver) signed(name string) bool {
	for apex := range r.insecure {
		if mdns.IsSubDomain(apex, name) {
			return false
		}
	}
	return true
}

// exists reports whether name owns records or is an empty non-terminal.
func (r *Resolver) exists(name string) bool {
	if _, ok := r.records[name]; ok {
		return true
	}
	for owner := range r.records {
		if strings.HasSuffix(owner, "."+name) {
			return true
		}
	}
	return r.special[name] != ""
}

// ServeDNS answers one query.
func (r *Resolver) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	if len(req.Question) != 1 || req.Opcode != mdns.OpcodeQuery {
		m := new(mdns.Msg)
		m.SetRcode(req, mdns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	r.mu.Lock()
	r.queries[name+" "+mdns.TypeToString[q.Qtype]]++
	m, ok := r.answer(w, req)
	r.mu.Unlock()
	if ok {
		w.WriteMsg(m)
	}
}

// answer builds the reply to req; false means no reply. The caller holds r.mu.
func (r *Resolver) answer(w mdns.ResponseWriter, req *mdns.Msg) (*mdns.Msg, bool) {
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	tcp := w.LocalAddr().Network() == "tcp"
	reqOpt := req.IsEdns0()
	do := reqOpt != nil && reqOpt.Do()

	m := new(mdns.Msg)
	m.SetReply(req)
	m.Compress = true
	m.RecursionAvailable = true
	var opt *mdns.OPT
	if reqOpt != nil {
		opt = &mdns.OPT{Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeOPT}}
		opt.SetUDPSize(1232)
		if do {
			opt.SetDo()
		}
	}
	finish := func() (*mdns.Msg, bool) {
		if opt != nil {
			m.Extra = append(m.Extra, opt)
		}
		if !tcp {
			size := mdns.MinMsgSize
			if reqOpt != nil {
				size = int(reqOpt.UDPSize())
			}
			m.Truncate(size)
		}
		m.Compress = true // Truncate turns it off when the answer fits
		return m, true
	}

	bogus := false
	switch r.special[name] {
	case Timeout:
		return nil, false
	case Refused:
		m.RecursionAvailable = false
		m.Rcode = mdns.RcodeRefused
		return finish()
	case ServFail:
		m.Rcode = mdns.RcodeServerFailure
		return finish()
	case Bogus:
		bogus = true
		if !req.CheckingDisabled {
			m.Rcode = mdns.RcodeServerFailure
			if opt != nil {
				opt.Option = append(opt.Option, &mdns.EDNS0_EDE{InfoCode: mdns.ExtendedErrorCodeSignatureExpired,
					ExtraText: "signature expired for " + strings.TrimSuffix(name, ".") + "/" + mdns.TypeToString[q.Qtype]})
			}
			return finish()
		}
	case Whoami:
		if q.Qtype == mdns.TypeTXT {
			host, _, _ := net.SplitHostPort(w.RemoteAddr().String())
			m.Answer = append(m.Answer, mustRR(fmt.Sprintf(`%s 0 IN TXT %q`, name, host)))
		}
		return finish()
	}

	z := r.zoneOf(name)
	secure := r.signed(name) && (do || req.AuthenticatedData) && !bogus
	cur := name
	for range 8 { // follow CNAMEs inside the answer, as a recursive resolver does
		var cname *mdns.CNAME
		var found []mdns.RR
		for _, rr := range r.records[cur] {
			switch {
			case rr.Header().Rrtype == q.Qtype || q.Qtype == mdns.TypeANY:
				found = append(found, rr)
			case rr.Header().Rrtype == mdns.TypeCNAME:
				cname = rr.(*mdns.CNAME)
			}
		}
		if len(found) > 0 {
			m.Answer = append(m.Answer, found...)
			break
		}
		if cname != nil && q.Qtype != mdns.TypeCNAME {
			m.Answer = append(m.Answer, cname)
			cur = strings.ToLower(cname.Target)
			z = r.zoneOf(cur)
			secure = secure && r.signed(cur)
			continue
		}
		if !r.exists(cur) {
			m.Rcode = mdns.RcodeNameError
		}
		soa := mdns.Copy(z.soa)
		soa.Header().Ttl = min(soa.Header().Ttl, z.soa.Minttl)
		m.Ns = append(m.Ns, soa)
		break
	}
	m.AuthenticatedData = secure
	if do && secure {
		m.Answer = r.withSignatures(m.Answer)
		m.Ns = r.withSignatures(m.Ns)
	}
	return finish()
}

// withSignatures adds a fake RRSIG after each RRset of rrs.
func (r *Resolver) withSignatures(rrs []mdns.RR) []mdns.RR {
	inception := uint32(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC).Unix())
	expiration := uint32(time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC).Unix())
	var out []mdns.RR
	for i := 0; i < len(rrs); {
		h := rrs[i].Header()
		j := i
		for j < len(rrs) && rrs[j].Header().Name == h.Name && rrs[j].Header().Rrtype == h.Rrtype {
			j++
		}
		out = append(out, rrs[i:j]...)
		sum := sha512.Sum512([]byte(strings.ToLower(h.Name) + " " + mdns.TypeToString[h.Rrtype]))
		out = append(out, &mdns.RRSIG{
			Hdr:         mdns.RR_Header{Name: h.Name, Rrtype: mdns.TypeRRSIG, Class: mdns.ClassINET, Ttl: h.Ttl},
			TypeCovered: h.Rrtype, Algorithm: mdns.ECDSAP256SHA256, Labels: uint8(mdns.CountLabel(h.Name)),
			OrigTtl: h.Ttl, Expiration: expiration, Inception: inception, KeyTag: 12345,
			SignerName: r.zoneOf(strings.ToLower(h.Name)).apex, Signature: base64.StdEncoding.EncodeToString(sum[:]),
		})
		i = j
	}
	return out
}

// Serve runs h on 127.0.0.1, over UDP and TCP on the same port, until the test
// ends, and returns its "127.0.0.1:PORT".
func Serve(tb testing.TB, h mdns.Handler) string {
	tb.Helper()
	var (
		pc net.PacketConn
		l  net.Listener
	)
	for range 20 {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		l, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		pc = nil
	}
	if pc == nil {
		tb.Fatal("dnstest: no free port for UDP and TCP")
	}
	var wg sync.WaitGroup
	wg.Add(2)
	udp := &mdns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: wg.Done}
	tcp := &mdns.Server{Listener: l, Handler: h, NotifyStartedFunc: wg.Done}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	wg.Wait()
	tb.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
	})
	return pc.LocalAddr().String()
}
