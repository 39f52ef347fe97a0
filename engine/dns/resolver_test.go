package dns

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	mdns "github.com/miekg/dns"

	"github.com/segcli/segcli/internal/dnstest"
)

func datas(rrs []RR) []string {
	var out []string
	for _, rr := range rrs {
		out = append(out, rr.Data)
	}
	return out
}

// TestLookupStatus checks the status model against the fake validating
// resolver on loopback (a trusted server).
func TestLookupStatus(t *testing.T) {
	r, _, _ := testResolver(t, Config{NoCache: true})
	tests := []struct {
		name        string // row name, with the rule
		qname       string
		qtype       uint16
		wantStatus  Status
		wantRcode   int
		wantNX      bool
		wantNoData  bool
		wantRecords []string
		wantErr     error
	}{
		{"RFC 4035 §4.9.3 AD from loopback is secure", "secure.test", TypeA, Secure, RcodeNoError, false, false, []string{"192.0.2.1"}, nil},
		{"no AD is insecure", "insecure.test", TypeA, Insecure, RcodeNoError, false, false, []string{"192.0.2.2"}, nil},
		{"name is case-insensitive", "SeCuRe.TEST.", TypeAAAA, Secure, RcodeNoError, false, false, []string{"2001:db8::1"}, nil},
		{"RFC 8914 §4.7 SERVFAIL with EDE 6 is bogus", "bogus.test", TypeA, Bogus, RcodeServFail, false, false, nil, ErrBogus},
		{"RFC 8914 §4.8 SERVFAIL with EDE 7 is bogus", "expired.test", TypeA, Bogus, RcodeServFail, false, false, nil, ErrBogus},
		{"RFC 4035 §3.2.2 SERVFAIL answered with CD is bogus", "servfail-cd.test", TypeA, Bogus, RcodeServFail, false, false, nil, ErrBogus},
		{"SERVFAIL also with CD is tempfail", "servfail.test", TypeA, TempFail, RcodeServFail, false, false, nil, ErrServFail},
		{"RFC 8914 §4.23 SERVFAIL with non-DNSSEC EDE 22 is tempfail", "unreachable.test", TypeA, TempFail, RcodeServFail, false, false, nil, ErrServFail},
		{"REFUSED is tempfail", "refused.test", TypeA, TempFail, RcodeRefused, false, false, nil, ErrRefused},
		{"RFC 4035 §3.1.3 secure NXDOMAIN is secure", "nx.test", TypeA, Secure, RcodeNXDomain, true, false, nil, nil},
		{"NXDOMAIN without AD is insecure", "nx.unsigned.test", TypeA, Insecure, RcodeNXDomain, true, false, nil, nil},
		{"RFC 2308 §2.2 NODATA kept apart from NXDOMAIN", "nodata.test", TypeTXT, Insecure, RcodeNoError, false, true, nil, nil},
		{"RFC 8914 §4.4 EDE 3 on NOERROR is only recorded", "stale.test", TypeA, Insecure, RcodeNoError, false, false, []string{"192.0.2.6"}, nil},
		{"RFC 5452 §9.1 stray answers ignored", "stray.test", TypeA, Secure, RcodeNoError, false, false, []string{"192.0.2.5"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := r.Lookup(t.Context(), tt.qname, tt.qtype)
			if res == nil {
				t.Fatalf("Lookup(%q) returned a nil Result", tt.qname)
			}
			if res.Status != tt.wantStatus {
				t.Errorf("Lookup(%q).Status = %v, want %v (err %v)", tt.qname, res.Status, tt.wantStatus, err)
			}
			if res.Rcode != tt.wantRcode {
				t.Errorf("Lookup(%q).Rcode = %s, want %s", tt.qname, RcodeString(res.Rcode), RcodeString(tt.wantRcode))
			}
			if res.NXDomain != tt.wantNX || res.NoData != tt.wantNoData {
				t.Errorf("Lookup(%q) NXDomain, NoData = %v, %v, want %v, %v", tt.qname, res.NXDomain, res.NoData, tt.wantNX, tt.wantNoData)
			}
			if diff := cmp.Diff(tt.wantRecords, datas(res.Records)); diff != "" {
				t.Errorf("Lookup(%q) records (-want +got):\n%s", tt.qname, diff)
			}
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Lookup(%q) error = %v, want %v", tt.qname, err, tt.wantErr)
			}
			if err != res.Err {
				t.Errorf("Lookup(%q) error %v differs from Result.Err %v", tt.qname, err, res.Err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "dns: ") {
				t.Errorf("error %q lacks the dns: prefix", err)
			}
		})
	}
}

func TestLookupEDE(t *testing.T) {
	r, _, _ := testResolver(t, Config{NoCache: true})
	res, _ := r.Lookup(t.Context(), "bogus.test", TypeA)
	want := []EDE{{Code: 6, Text: "fake bogus.test."}}
	if diff := cmp.Diff(want, res.EDE); diff != "" {
		t.Errorf("EDE (-want +got):\n%s", diff)
	}
	if !strings.Contains(res.Err.Error(), "EDE 6 (DNSSEC Bogus)") {
		t.Errorf("error %q does not name the EDE", res.Err)
	}
}

// TestQueryFormat checks what goes on the wire: RD, EDNS0 with a 1232-byte
// buffer and DO (RFC 3225 §3), CD clear, random IDs.
func TestQueryFormat(t *testing.T) {
	r, f, _ := testResolver(t, Config{NoCache: true})
	ids := map[uint16]bool{}
	for range 8 {
		if _, err := r.Lookup(t.Context(), "secure.test", TypeA); err != nil {
			t.Fatal(err)
		}
		q := f.lastQuery()
		ids[q.Id] = true
		opt := q.IsEdns0()
		switch {
		case !q.RecursionDesired:
			t.Error("RD not set")
		case q.CheckingDisabled:
			t.Error("CD set on a first query")
		case opt == nil:
			t.Fatal("no EDNS0 OPT record")
		case opt.UDPSize() != 1232:
			t.Errorf("EDNS0 buffer = %d, want 1232", opt.UDPSize())
		case !opt.Do():
			t.Error("DO bit not set")
		}
	}
	if len(ids) < 2 {
		t.Errorf("8 queries used %d distinct IDs, want random IDs", len(ids))
	}
}

// TestTruncatedUsesTCP: RFC 7766 §5, a truncated UDP answer is asked again
// over TCP.
func TestTruncatedUsesTCP(t *testing.T) {
	r, f, _ := testResolver(t, Config{NoCache: true})
	txt, res, err := r.TXT(t.Context(), "big.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(txt) != 40 || res.Status != Secure {
		t.Errorf("TXT(big.test) = %d records, %v, want 40, secure", len(txt), res.Status)
	}
	if u, c := f.count("big.test. TXT"), f.count("big.test. TXT tcp"); u != 1 || c != 1 {
		t.Errorf("queries: %d over UDP, %d over TCP, want 1 and 1", u, c)
	}
}

func TestTimeout(t *testing.T) {
	r, f, _ := testResolver(t, Config{NoCache: true, Timeout: 100 * time.Millisecond, Attempts: 2})
	start := time.Now()
	res, err := r.Lookup(t.Context(), "timeout.test", TypeA)
	if !errors.Is(err, ErrTimeout) || res.Status != TempFail {
		t.Errorf("Lookup(timeout.test) = %v, %v, want tempfail, ErrTimeout", res.Status, err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v", el)
	}
	if n := f.count("timeout.test. A"); n != 2 {
		t.Errorf("%d queries, want 2 (Attempts)", n)
	}
}

func TestContextCanceled(t *testing.T) {
	r, _, _ := testResolver(t, Config{NoCache: true, Timeout: 10 * time.Second})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	res, err := r.Lookup(ctx, "timeout.test", TypeA)
	if !errors.Is(err, context.Canceled) || res.Status != TempFail {
		t.Errorf("Lookup = %v, %v, want tempfail, context.Canceled", res.Status, err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("cancellation took %v", el)
	}
}

func TestContextDeadline(t *testing.T) {
	r, _, _ := testResolver(t, Config{NoCache: true, Timeout: 10 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	res, err := r.Lookup(ctx, "timeout.test", TypeA)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || res.Status != TempFail {
		t.Errorf("Lookup = %v, %v, want tempfail, ErrTimeout and context.DeadlineExceeded", res.Status, err)
	}
}

// deadAddr returns a loopback UDP address where nothing listens.
func deadAddr(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// silentAddr returns a loopback UDP address that reads and never answers.
func silentAddr(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

func TestRetryNextServer(t *testing.T) {
	f := newFakeDNS()
	good := dnstest.Serve(t, f)
	tests := []struct {
		name  string
		first string
	}{
		{"closed port", deadAddr(t)},
		{"never answers", silentAddr(t)},
		{"refuses", dnstest.Serve(t, mdns.HandlerFunc(func(w mdns.ResponseWriter, req *mdns.Msg) {
			m := new(mdns.Msg)
			m.SetRcode(req, mdns.RcodeRefused)
			w.WriteMsg(m)
		}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(Config{Servers: []Server{{Addr: tt.first}, {Addr: good}}, Timeout: 150 * time.Millisecond, NoCache: true})
			addrs, res, err := r.A(t.Context(), "secure.test")
			if err != nil {
				t.Fatalf("A(secure.test) error = %v", err)
			}
			if len(addrs) != 1 || res.Server != good || res.Status != Secure {
				t.Errorf("A(secure.test) = %v from %s (%v), want 192.0.2.1 from %s, secure", addrs, res.Server, res.Status, good)
			}
		})
	}
}

func TestAllServersDead(t *testing.T) {
	r := New(Config{Servers: []Server{{Addr: deadAddr(t)}, {Addr: silentAddr(t)}}, Timeout: 100 * time.Millisecond, Attempts: 1})
	res, err := r.Lookup(t.Context(), "secure.test", TypeA)
	if err == nil || res.Status != TempFail || res.Rcode != -1 {
		t.Errorf("Lookup = %v, rcode %d, %v, want tempfail, -1, an error", res.Status, res.Rcode, err)
	}
}

func TestNoServers(t *testing.T) {
	r := New(Config{})
	res, err := r.Lookup(t.Context(), "example.com", TypeA)
	if !errors.Is(err, ErrNoServers) || res == nil || res.Status != TempFail {
		t.Fatalf("Lookup with no servers = %v, %v, want tempfail, ErrNoServers", res, err)
	}
	if !strings.Contains(err.Error(), "no DNS servers configured") {
		t.Errorf("error %q does not say that no servers are configured", err)
	}
	if _, _, err := r.Exchange(t.Context(), "", new(mdns.Msg), false); !errors.Is(err, ErrNoServers) {
		t.Errorf("Exchange with no servers: error = %v, want ErrNoServers", err)
	}
}

// TestServerMustBeIP: a host name would need the machine's resolver.
func TestServerMustBeIP(t *testing.T) {
	r := New(Config{Servers: []Server{{Addr: "localhost:53"}}, Attempts: 1})
	if _, err := r.Lookup(t.Context(), "example.com", TypeA); !errors.Is(err, ErrBadServer) {
		t.Errorf("Lookup via localhost:53: error = %v, want ErrBadServer", err)
	}
}

func TestInvalidName(t *testing.T) {
	r, f, _ := testResolver(t, Config{})
	for _, name := range []string{"", "a..b", strings.Repeat("a", 64) + ".test"} {
		res, err := r.Lookup(t.Context(), name, TypeA)
		if !errors.Is(err, ErrInvalidName) || res.Status != TempFail {
			t.Errorf("Lookup(%q) = %v, %v, want tempfail, ErrInvalidName", name, res.Status, err)
		}
	}
	if n := f.total(); n != 0 {
		t.Errorf("%d queries sent for invalid names", n)
	}
}

func TestCNAMEChains(t *testing.T) {
	r, _, _ := testResolver(t, Config{NoCache: true})
	tests := []struct {
		name        string
		qname       string
		qtype       uint16
		wantStatus  Status
		wantCNAMEs  []string
		wantTarget  string
		wantRecords []string
		wantSteps   int
		wantTTL     uint32
		wantErr     error
	}{
		{"RFC 1034 §3.6.2 chain in the answer", "cname.test", TypeA, Secure, []string{"cname.test.", "mid.test."}, "secure.test.", []string{"192.0.2.1"}, 1, 200, nil},
		{"RFC 1034 §3.6.2 answer stops at CNAME: target asked", "alias.test", TypeA, Secure, []string{"alias.test."}, "secure.test.", []string{"192.0.2.1"}, 2, 300, nil},
		{"insecure target makes the chain insecure", "alias2.test", TypeA, Insecure, []string{"alias2.test."}, "insecure.test.", []string{"192.0.2.2"}, 2, 300, nil},
		{"RFC 6604 §3 NXDOMAIN is the target's", "alias-nx.test", TypeA, Secure, []string{"alias-nx.test."}, "gone.test.", nil, 1, 300, nil},
		{"qtype CNAME is not followed", "alias.test", TypeCNAME, Secure, nil, "alias.test.", []string{"secure.test."}, 1, 300, nil},
		{"loop across queries", "loop1.test", TypeA, TempFail, nil, "", nil, 2, 0, ErrCNAMELoop},
		{"loop inside one answer", "loopa.test", TypeA, TempFail, nil, "", nil, 1, 0, ErrCNAMELoop},
		{"chain of 8 is followed", "chain2.test", TypeA, Secure, []string{"chain2.test.", "chain3.test.", "chain4.test.", "chain5.test.", "chain6.test.", "chain7.test.", "chain8.test.", "chain9.test."}, "secure.test.", []string{"192.0.2.1"}, 1, 300, nil},
		{"chain longer than 8", "chain1.test", TypeA, TempFail, nil, "", nil, 1, 0, ErrCNAMEChain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := r.Lookup(t.Context(), tt.qname, tt.qtype)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Lookup(%q) error = %v, want %v", tt.qname, err, tt.wantErr)
			}
			if res.Status != tt.wantStatus {
				t.Errorf("Lookup(%q).Status = %v, want %v", tt.qname, res.Status, tt.wantStatus)
			}
			if len(res.Steps) != tt.wantSteps {
				t.Errorf("Lookup(%q) took %d steps, want %d", tt.qname, len(res.Steps), tt.wantSteps)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.wantCNAMEs, res.CNAMEs); diff != "" {
				t.Errorf("Lookup(%q).CNAMEs (-want +got):\n%s", tt.qname, diff)
			}
			if res.Target != tt.wantTarget {
				t.Errorf("Lookup(%q).Target = %q, want %q", tt.qname, res.Target, tt.wantTarget)
			}
			if diff := cmp.Diff(tt.wantRecords, datas(res.Records)); diff != "" {
				t.Errorf("Lookup(%q) records (-want +got):\n%s", tt.qname, diff)
			}
			if res.TTL != tt.wantTTL {
				t.Errorf("Lookup(%q).TTL = %d, want %d", tt.qname, res.TTL, tt.wantTTL)
			}
		})
	}
}

func TestCNAMENXDomain(t *testing.T) {
	r, _, _ := testResolver(t, Config{NoCache: true})
	res, err := r.Lookup(t.Context(), "alias-nx.test", TypeA)
	if err != nil || !res.NXDomain || res.NoData {
		t.Errorf("Lookup(alias-nx.test) = NXDomain %v NoData %v, %v; want NXDOMAIN for the target", res.NXDomain, res.NoData, err)
	}
}

// TestTrusted: RFC 4035 §4.9.3 and RFC 7672 §2.1, the AD bit counts only
// from a trusted server: loopback, or marked Trusted.
func TestTrusted(t *testing.T) {
	tests := []struct {
		addr    string
		marked  bool
		trusted bool
	}{
		{"127.0.0.1:53", false, true},
		{"127.0.0.53:53", false, true},
		{"127.255.255.254:5353", false, true},
		{"[::1]:53", false, true},
		{"::1", false, true},
		{"127.0.0.1", false, true},
		{"[::ffff:127.0.0.1]:53", false, true},
		{"192.0.2.1:53", false, false},
		{"192.0.2.1:53", true, true},
		{"[2001:db8::1]:53", false, false},
		{"[2001:db8::1]:53", true, true},
		{"0.0.0.0:53", false, false},
		{"128.0.0.1:53", false, false},
		{"localhost:53", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if got := trusted(Server{Addr: tt.addr, Trusted: tt.marked}); got != tt.trusted {
			t.Errorf("trusted(%q, Trusted=%v) = %v, want %v", tt.addr, tt.marked, got, tt.trusted)
		}
	}
}

// TestClassify checks the status decision on answers from servers that are
// never contacted.
func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		addr   string
		marked bool
		rcode  int
		ad     bool
		ede    uint16 // 0: none
		want   Status
	}{
		{"RFC 4035 §4.9.3 AD from untrusted server is insecure", "192.0.2.1:53", false, RcodeNoError, true, 0, Insecure},
		{"RFC 7672 §2.1 AD from dnsconfig-trusted server is secure", "192.0.2.1:53", true, RcodeNoError, true, 0, Secure},
		{"AD from loopback, Trusted unset, is secure", "127.0.0.1:53", false, RcodeNoError, true, 0, Secure},
		{"no AD from trusted server is insecure", "127.0.0.1:53", false, RcodeNoError, false, 0, Insecure},
		{"secure NXDOMAIN", "127.0.0.1:53", false, RcodeNXDomain, true, 0, Secure},
		{"NXDOMAIN with AD from untrusted server is insecure", "192.0.2.1:53", false, RcodeNXDomain, true, 0, Insecure},
		{"RFC 8914 SERVFAIL EDE 6 from untrusted server is bogus", "192.0.2.1:53", false, RcodeServFail, false, 6, Bogus},
		{"SERVFAIL EDE 22 is tempfail", "127.0.0.1:53", false, RcodeServFail, false, 22, TempFail},
		{"SERVFAIL is tempfail before the CD check", "127.0.0.1:53", false, RcodeServFail, false, 0, TempFail},
		{"REFUSED is tempfail", "127.0.0.1:53", false, RcodeRefused, false, 0, TempFail},
		{"NOTIMP is tempfail", "127.0.0.1:53", false, RcodeNotImp, false, 0, TempFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := new(mdns.Msg)
			m.SetQuestion("example.com.", TypeA)
			m.Response = true
			m.Rcode = tt.rcode
			m.AuthenticatedData = tt.ad
			m.SetEdns0(1232, true)
			if tt.ede != 0 {
				opt := m.IsEdns0()
				opt.Option = append(opt.Option, &mdns.EDNS0_EDE{InfoCode: tt.ede})
			}
			if got := classify(m, Server{Addr: tt.addr, Trusted: tt.marked}).status; got != tt.want {
				t.Errorf("classify(rcode %s, AD %v, EDE %d, %s Trusted=%v) = %v, want %v", RcodeString(tt.rcode), tt.ad, tt.ede, tt.addr, tt.marked, got, tt.want)
			}
		})
	}
}

func TestEDEDNSSEC(t *testing.T) {
	tests := []struct {
		code uint16
		want bool
	}{
		{0, false}, {1, true}, {2, true}, {3, false}, {4, false}, {5, true}, {6, true}, {7, true},
		{8, true}, {9, true}, {10, true}, {11, true}, {12, true}, {13, false}, {18, false},
		{22, false}, {23, false}, {25, true}, {27, true},
	}
	for _, tt := range tests {
		if got := (EDE{Code: tt.code}).DNSSEC(); got != tt.want {
			t.Errorf("EDE{%d}.DNSSEC() = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestHelpers(t *testing.T) {
	r, _, _ := testResolver(t, Config{})
	ctx := t.Context()

	mx, res, err := r.MX(ctx, "mx.test")
	want := []MX{{"a.mx.test.", 10}, {"a2.mx.test.", 10}, {"b.mx.test.", 20}}
	if err != nil || res.Status != Secure {
		t.Fatalf("MX(mx.test) = %v, %v", res.Status, err)
	}
	if diff := cmp.Diff(want, mx); diff != "" {
		t.Errorf("MX(mx.test) (-want +got):\n%s", diff)
	}

	mx, _, err = r.MX(ctx, "nullmx.test")
	if err != nil || len(mx) != 1 || !mx[0].IsNull() || mx[0].Pref != 0 {
		t.Errorf("MX(nullmx.test) = %v, %v, want the null MX", mx, err)
	}

	mx, res, err = r.MX(ctx, "nx.test")
	if err != nil || len(mx) != 0 || !res.NXDomain {
		t.Errorf("MX(nx.test) = %v, NXDomain %v, %v", mx, res.NXDomain, err)
	}

	a, _, err := r.A(ctx, "cname.test")
	if err != nil || len(a) != 1 || a[0].String() != "192.0.2.1" {
		t.Errorf("A(cname.test) = %v, %v", a, err)
	}
	aaaa, _, err := r.AAAA(ctx, "secure.test")
	if err != nil || len(aaaa) != 1 || aaaa[0].String() != "2001:db8::1" {
		t.Errorf("AAAA(secure.test) = %v, %v", aaaa, err)
	}

	txt, _, err := r.TXT(ctx, "txt.test")
	if diff := cmp.Diff([]string{"v=STSv1; id=20240101", `say "hi" there`}, txt); diff != "" || err != nil {
		t.Errorf("TXT(txt.test) %v (-want +got):\n%s", err, diff)
	}

	tlsa, res, err := r.TLSA(ctx, "_25._tcp.mx.test")
	if err != nil || len(tlsa) != 1 || res.Status != Secure {
		t.Fatalf("TLSA = %v, %v, %v", tlsa, res.Status, err)
	}
	if got, want := tlsa[0].String(), "3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"; got != want {
		t.Errorf("TLSA = %q, want %q", got, want)
	}

	target, _, err := r.CNAME(ctx, "alias.test")
	if err != nil || target != "secure.test." {
		t.Errorf("CNAME(alias.test) = %q, %v, want secure.test.", target, err)
	}
	target, res, err = r.CNAME(ctx, "secure.test")
	if err != nil || target != "" || !res.NoData {
		t.Errorf("CNAME(secure.test) = %q, NoData %v, %v, want \"\", true", target, res.NoData, err)
	}

	if _, res, err := r.TXT(ctx, "bogus.test"); !errors.Is(err, ErrBogus) || res.Status != Bogus {
		t.Errorf("TXT(bogus.test) = %v, %v, want bogus", res.Status, err)
	}
}

func TestExchange(t *testing.T) {
	r, _, addr := testResolver(t, Config{})
	tests := []struct {
		name    string
		tcp     bool
		wantTC  bool
		wantAns int
	}{
		{"udp truncated, no fallback", false, true, 0},
		{"tcp", true, false, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newQuery("big.test.", TypeTXT, false)
			resp, rtt, err := r.Exchange(t.Context(), addr, m, tt.tcp)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Truncated != tt.wantTC || len(resp.Answer) != tt.wantAns || rtt <= 0 {
				t.Errorf("Exchange: TC %v, %d answers, rtt %v; want TC %v, %d answers", resp.Truncated, len(resp.Answer), rtt, tt.wantTC, tt.wantAns)
			}
		})
	}
	// The default server is the first configured one.
	resp, _, err := r.Exchange(t.Context(), "", newQuery("secure.test.", TypeA, false), false)
	if err != nil || len(resp.Answer) != 1 {
		t.Errorf("Exchange via default server = %v, %v", resp, err)
	}
}

func TestDebugLines(t *testing.T) {
	var (
		mu    sync.Mutex
		lines []string
	)
	clock := newFakeClock()
	r, _, addr := testResolver(t, Config{Now: clock.Now, Debug: func(l string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, l)
	}})
	for range 2 {
		if _, err := r.Lookup(t.Context(), "secure.test", TypeA); err != nil {
			t.Fatal(err)
		}
		clock.Advance(10 * time.Second)
	}
	want := []string{
		"DNS query: Q('secure.test', 'A') to " + addr,
		"DNS encache (secure.test, A, ['192.0.2.1', secure], 300)",
		"DNS cache hit (secure.test, A, ['192.0.2.1', secure], 290)",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("debug lines (-want +got):\n%s", diff)
	}
}

func TestConcurrentLookups(t *testing.T) {
	r, _, _ := testResolver(t, Config{})
	names := []string{"secure.test", "insecure.test", "cname.test", "alias.test", "nx.test", "bogus.test", "mx.test"}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 20 {
				name := names[(i+j)%len(names)]
				if _, err := r.Lookup(t.Context(), name, TypeA); err != nil && name != "bogus.test" {
					t.Errorf("Lookup(%q): %v", name, err)
				}
			}
		})
	}
	wg.Wait()
}
