package dig

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	mdns "github.com/miekg/dns"
)

func mustRR(t *testing.T, s string) mdns.RR {
	t.Helper()
	rr, err := mdns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

// TestWriteAnswerLayout covers what the fixture server does not send: no EDNS, an
// authoritative answer with additional records, an unknown EDNS option.
func TestWriteAnswerLayout(t *testing.T) {
	m := new(mdns.Msg)
	m.SetQuestion("example.com.", mdns.TypeNS)
	m.Id, m.Response, m.Authoritative = 7, true, true
	m.Answer = []mdns.RR{mustRR(t, "example.com. 86400 IN NS ns1.example.com.")}
	m.Extra = []mdns.RR{mustRR(t, "ns1.example.com. 86400 IN A 192.0.2.53")}
	var b strings.Builder
	writeAnswer(&b, m, stats{
		elapsed: 12 * time.Millisecond, server: netip.MustParseAddrPort("[2001:db8::53]:53"), label: "ns1.example.com",
		tcp: true, when: time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC), size: 81,
	})
	want := `;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 7
;; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1
;; WARNING: recursion requested but not available

;; QUESTION SECTION:
;example.com.			IN	NS

;; ANSWER SECTION:
example.com.		86400	IN	NS	ns1.example.com.

;; ADDITIONAL SECTION:
ns1.example.com.	86400	IN	A	192.0.2.53

;; Query time: 12 msec
;; SERVER: 2001:db8::53#53(ns1.example.com) (TCP)
;; WHEN: Sun Nov 29 13:26:28 UTC 2026
;; MSG SIZE  rcvd: 81

`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("writeAnswer (-want +got):\n%s", diff)
	}
}

func TestWriteOPT(t *testing.T) {
	opt := &mdns.OPT{Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeOPT}}
	opt.SetUDPSize(4096)
	opt.Option = []mdns.EDNS0{
		&mdns.EDNS0_EDE{InfoCode: 22, ExtraText: "at delegation example.com.\x1b"},
		&mdns.EDNS0_NSID{Code: mdns.EDNS0NSID, Nsid: "6e7331"},
	}
	var b strings.Builder
	writeOPT(&b, opt)
	want := ";; OPT PSEUDOSECTION:\n; EDNS: version: 0, flags:; udp: 4096\n; EDE: 22 (No Reachable Authority): (at delegation example.com.\\027)\n; NSID: 6e7331\n"
	if got := b.String(); got != want {
		t.Errorf("writeOPT = %q, want %q", got, want)
	}
}
