package mtasts

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/segcli/segcli/engine/smtp"
)

// verifyWorld publishes the domains of the Verify tests.
func verifyWorld(t *testing.T) *world {
	w := newWorld(t)
	pub := func(d string, mode Mode, mx ...string) {
		w.domain(d, "v=STSv1; id="+strings.ReplaceAll(d, ".", "")+";", site{body: policyText(mode, 604800, mx...)})
	}
	pub("pass.test", ModeEnforce, "*.pass.test")
	w.addMX("pass.test", 10, "mx1.pass.test", mxConf{})
	w.addMX("pass.test", 20, "mx2.pass.test", mxConf{})

	pub("nomatch.test", ModeEnforce, "mx.elsewhere.test")
	w.addMX("nomatch.test", 10, "mx1.nomatch.test", mxConf{})

	pub("nostarttls.test", ModeEnforce, "*.nostarttls.test")
	w.addMX("nostarttls.test", 10, "mx.nostarttls.test", mxConf{noSTARTTLS: true})

	pub("selfsigned.test", ModeEnforce, "*.selfsigned.test")
	w.addMX("selfsigned.test", 10, "mx.selfsigned.test", mxConf{cert: (*testCA)(nil).leaf(t, validUntil, "mx.selfsigned.test")})
	pub("expiredmx.test", ModeEnforce, "*.expiredmx.test")
	w.addMX("expiredmx.test", 10, "mx.expiredmx.test", mxConf{cert: w.ca.leaf(t, expiredAt, "mx.expiredmx.test")})
	pub("othername.test", ModeEnforce, "*.othername.test")
	w.addMX("othername.test", 10, "mx.othername.test", mxConf{cert: w.ca.leaf(t, validUntil, "mail.elsewhere.test")})

	pub("pattern.test", ModeEnforce, "*.pattern.test")
	w.addMX("pattern.test", 10, "mx1.pattern.test", mxConf{cert: w.ca.leaf(t, validUntil, "mx2.pattern.test")})
	pub("wildcard.test", ModeEnforce, "*.wildcard.test")
	w.addMX("wildcard.test", 10, "mx1.wildcard.test", mxConf{cert: w.ca.leaf(t, validUntil, "*.wildcard.test")})

	pub("testing.test", ModeTesting, "mx.elsewhere.test")
	w.addMX("testing.test", 10, "mx1.testing.test", mxConf{})
	pub("none.test", ModeNone)
	w.addMX("none.test", 10, "mx1.none.test", mxConf{})

	pub("tls11.test", ModeEnforce, "*.tls11.test")
	w.addMX("tls11.test", 10, "mx.tls11.test", mxConf{maxVersion: tls.VersionTLS11})
	pub("tls12.test", ModeEnforce, "*.tls12.test")
	w.addMX("tls12.test", 10, "mx.tls12.test", mxConf{maxVersion: tls.VersionTLS12})

	pub("mixed.test", ModeEnforce, "good.mixed.test", "bad.mixed.test")
	w.addMX("mixed.test", 10, "bad.mixed.test", mxConf{noSTARTTLS: true})
	w.addMX("mixed.test", 20, "good.mixed.test", mxConf{})

	// implicit.test has no MX: its A record is the MX (RFC 5321 §5.1).
	pub("implicit.test", ModeEnforce, "implicit.test")
	w.dns.set("implicit.test.", "implicit.test. 0 IN A 127.0.0.1")
	s := startMX(t, "implicit.test", mxConf{}, w.ca)
	w.mx["implicit.test"] = s

	pub("nullmx.test", ModeEnforce, "*.nullmx.test")
	w.dns.set("nullmx.test.", "nullmx.test. 0 IN MX 0 .")

	w.dns.set("_mta-sts.multi.test.", `_mta-sts.multi.test. 0 IN TXT "v=STSv1; id=1;"`, `_mta-sts.multi.test. 0 IN TXT "v=STSv1; id=2;"`)
	w.addMX("multi.test", 10, "mx.multi.test", mxConf{})
	w.addMX("norecord.test", 10, "mx.norecord.test", mxConf{})
	w.dns.fail("_mta-sts.tempfail.test.", true, false)
	w.domain("notfound.test", "v=STSv1; id=nf;", site{status: 404, body: "no"})
	w.addMX("notfound.test", 10, "mx.notfound.test", mxConf{})
	w.domain("redirect.test", "v=STSv1; id=rd;", site{behave: "redirect"})
	w.domain("html.test", "v=STSv1; id=ht;", site{ctype: "text/html", body: policyText(ModeEnforce, 60, "*.html.test")})
	w.domain("badpolicy.test", "v=STSv1; id=bp;", site{body: "version: STSv1\nmode: doubt\nmax_age: 1\n"})
	w.domain("blank.test", "v=STSv1; id=bl;", site{body: "version: STSv1\n\nmode: enforce\nmx: *.blank.test\nmax_age: 86400\n"})
	w.addMX("blank.test", 10, "mx.blank.test", mxConf{})
	return w
}

// mxLine summarizes an MX report for comparison.
func mxLine(m MXReport) string {
	return fmt.Sprintf("%s pref=%d match=%v starttls=%v tls=%s pkix=%v", m.Host, m.Preference, m.MatchesPolicy, m.STARTTLS, m.TLSVersion, m.PKIXValid)
}

// TestVerify: the mtastsverify report, and cases 53 to 60 of RFC 8461 §4,
// §5, §7 as seen by the MX checks.
func TestVerify(t *testing.T) {
	w := verifyWorld(t)
	e := w.engine(w.config())
	tests := []struct {
		name       string
		domain     string
		want       Verdict
		wantRecord RecordStatus
		wantPolicy PolicyStatus
		wantMX     []string
		wantError  string // substring of the first MX host's error
	}{
		{name: "RFC-style enforce policy, every MX passes §4 §5", domain: "pass.test", want: VerdictPass, wantRecord: RecordFound, wantPolicy: PolicyValid,
			wantMX: []string{"mx1.pass.test pref=10 match=true starttls=true tls=TLS1.3 pkix=true", "mx2.pass.test pref=20 match=true starttls=true tls=TLS1.3 pkix=true"}},
		{name: "c53 enforce, no MX matches: fail (a sender defers) §5 §5.1", domain: "nomatch.test", want: VerdictFail, wantRecord: RecordFound, wantPolicy: PolicyValid,
			wantMX: []string{"mx1.nomatch.test pref=10 match=false starttls=true tls=TLS1.3 pkix=true"}},
		{name: "c54 enforce, matching MX without STARTTLS §5", domain: "nostarttls.test", want: VerdictFail, wantRecord: RecordFound, wantPolicy: PolicyValid,
			wantMX: []string{"mx.nostarttls.test pref=10 match=true starttls=false tls= pkix=false"}, wantError: "STARTTLS not offered"},
		{name: "c55 self-signed MX certificate §4.2", domain: "selfsigned.test", want: VerdictFail, wantRecord: RecordFound, wantPolicy: PolicyValid,
			wantMX: []string{"mx.selfsigned.test pref=10 match=true starttls=true tls=TLS1.3 pkix=false"}, wantError: "certificate not valid for mx.selfsigned.test"},
		{name: "c55 expired MX certificate §4.2", domain: "expiredmx.test", want: VerdictFail, wantRecord: RecordFound, wantPolicy: PolicyValid,
			wantMX: []string{"mx.expiredmx.test pref=10 match=true starttls=true tls=TLS1.3 pkix=false"}, wantError: "expired"},
		{name: "c55 MX certificate for another name §4.2", domain: "othername.test", want: VerdictFail, wantRecord: RecordFound, wantPolicy: PolicyValid,
			wantMX: []string{"mx.othername.test pref=10 match=true starttls=true tls=TLS1.3 pkix=false"}, wantError: "not mx.othername.test"},
		{name: "c56 certificate checked against the MX host dialled, not the pattern §4.1 §4.2", domain: "pattern.test", want: VerdictFail, wantRecord: RecordFound, wantPolicy: PolicyValid,
			wantMX: []string{"mx1.pattern.test pref=10 match=true starttls=true tls=TLS1.3 pkix=false"}, wantError: "mx1.pattern.test"},
		{name: "c56 wildcard certificate valid for the MX host dialled §4.2", domain: "wildcard.test", want: VerdictPass, wantRecord: RecordFound, wantPolicy: PolicyValid,
			wantMX: []string{"mx1.wildcard.test pref=10 match=true starttls=true tls=TLS1.3 pkix=true"}},
		{name: "c57 testing, MX mismatch: reported as fail (delivery goes on) §5", domain: "testing.test", want: VerdictFail, wantRecord: RecordFound, wantPolicy: PolicyValid,
			wantMX: []string{"mx1.testing.test pref=10 match=false starttls=true tls=TLS1.3 pkix=true"}},
		{name: "c58 mode none: like no policy §5 §8.3", domain: "none.test", want: VerdictNone, wantRecord: RecordFound, wantPolicy: PolicyValid,
			wantMX: []string{"mx1.none.test pref=10 match=false starttls=true tls=TLS1.3 pkix=true"}},
		{name: "c60 MX offering only TLS 1.1: never negotiated §7.2", domain: "tls11.test", want: VerdictFail, wantRecord: RecordFound, wantPolicy: PolicyValid,
			wantMX: []string{"mx.tls11.test pref=10 match=true starttls=true tls= pkix=false"}, wantError: "protocol version"},
		{name: "c60 MX offering TLS 1.2 §7.2", domain: "tls12.test", want: VerdictPass, wantRecord: RecordFound, wantPolicy: PolicyValid,
			wantMX: []string{"mx.tls12.test pref=10 match=true starttls=true tls=TLS1.2 pkix=true"}},
		{name: "one MX passes, one fails: pass §5", domain: "mixed.test", want: VerdictPass, wantRecord: RecordFound, wantPolicy: PolicyValid,
			wantMX: []string{"bad.mixed.test pref=10 match=true starttls=false tls= pkix=false", "good.mixed.test pref=20 match=true starttls=true tls=TLS1.3 pkix=true"}, wantError: "STARTTLS"},
		{name: "implicit MX §4.1 (RFC 5321 §5.1)", domain: "implicit.test", want: VerdictPass, wantRecord: RecordFound, wantPolicy: PolicyValid,
			wantMX: []string{"implicit.test pref=0 match=true starttls=true tls=TLS1.3 pkix=true"}},
		{name: "null MX (RFC 7505)", domain: "nullmx.test", want: VerdictFail, wantRecord: RecordFound, wantPolicy: PolicyValid},
		{name: "c02 no record: none §3.1", domain: "norecord.test", want: VerdictNone, wantRecord: RecordNone, wantPolicy: PolicyNotFetched,
			wantMX: []string{"mx.norecord.test pref=10 match=false starttls=true tls=TLS1.3 pkix=true"}},
		{name: "c03 two records: none §3.1", domain: "multi.test", want: VerdictNone, wantRecord: RecordMultiple, wantPolicy: PolicyNotFetched,
			wantMX: []string{"mx.multi.test pref=10 match=false starttls=true tls=TLS1.3 pkix=true"}},
		{name: "c14 TXT SERVFAIL: tempfail", domain: "tempfail.test", want: VerdictTempFail, wantRecord: RecordTempFail, wantPolicy: PolicyNotFetched},
		{name: "c17 404: fetch-error §3.3", domain: "notfound.test", want: VerdictFail, wantRecord: RecordFound, wantPolicy: PolicyFetchError,
			wantMX: []string{"mx.notfound.test pref=10 match=false starttls=true tls=TLS1.3 pkix=true"}},
		{name: "c16 redirect: fetch-error §3.3", domain: "redirect.test", want: VerdictFail, wantRecord: RecordFound, wantPolicy: PolicyFetchError},
		{name: "c19 text/html: fetch-error §3.2", domain: "html.test", want: VerdictFail, wantRecord: RecordFound, wantPolicy: PolicyFetchError},
		{name: "c28 invalid policy §3.2", domain: "badpolicy.test", want: VerdictFail, wantRecord: RecordFound, wantPolicy: PolicyInvalid},
		{name: "c39 blank line: valid, with a warning (DECISION)", domain: "blank.test", want: VerdictPass, wantRecord: RecordFound, wantPolicy: PolicyValid,
			wantMX: []string{"mx.blank.test pref=10 match=true starttls=true tls=TLS1.3 pkix=true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := e.Verify(t.Context(), tt.domain)
			if rep.Result != tt.want || rep.Record.Status != tt.wantRecord || rep.Policy.Status != tt.wantPolicy {
				t.Errorf("Verify(%s) = result %s record %s policy %s, want %s %s %s\nfixes: %q\npolicy error: %s",
					tt.domain, rep.Result, rep.Record.Status, rep.Policy.Status, tt.want, tt.wantRecord, tt.wantPolicy, rep.Fixes, rep.Policy.Error)
			}
			var got []string
			for _, m := range rep.MXHosts {
				got = append(got, mxLine(m))
			}
			if diff := cmp.Diff(tt.wantMX, got); diff != "" {
				t.Errorf("MX hosts (-want +got):\n%s", diff)
			}
			if tt.wantError != "" && (len(rep.MXHosts) == 0 || !strings.Contains(rep.MXHosts[0].Error, tt.wantError)) {
				t.Errorf("first MX error = %q, want it to contain %q", firstErr(rep), tt.wantError)
			}
			if rep.Result != VerdictPass && rep.Result != VerdictNone && len(rep.Fixes) == 0 {
				t.Errorf("result %s with nothing to fix", rep.Result)
			}
		})
	}

	t.Run("c59 SNI is the MX host name §7.1", func(t *testing.T) {
		for _, host := range []string{"mx1.pass.test", "mx1.pattern.test", "mx.tls12.test"} {
			snis := w.mx[host].snis()
			if len(snis) == 0 || slices.IndexFunc(snis, func(s string) bool { return s != host }) >= 0 {
				t.Errorf("%s saw SNI %q, want only %q", host, snis, host)
			}
		}
	})
	t.Run("report details", func(t *testing.T) {
		rep := e.Verify(t.Context(), "blank.test")
		if len(rep.Policy.Warnings) != 1 || !strings.Contains(rep.Policy.Warnings[0], "blank line") {
			t.Errorf("warnings = %q, want the blank line", rep.Policy.Warnings)
		}
		if rep.Policy.URL != "https://mta-sts.blank.test/.well-known/mta-sts.txt" || rep.Policy.HTTPStatus != 200 ||
			rep.Policy.ContentType != "text/plain" || rep.Policy.Source != SourceFetched || *rep.Policy.MaxAge != 86400 {
			t.Errorf("policy report = %+v", rep.Policy)
		}
		if rep.Record.ID != "bl" || !slices.Equal(rep.Record.TXT, []string{"v=STSv1; id=bl;"}) || rep.Record.Name != "_mta-sts.blank.test" {
			t.Errorf("record report = %+v", rep.Record)
		}
		rep = e.Verify(t.Context(), "notfound.test")
		if rep.Policy.HTTPStatus != 404 || !strings.Contains(rep.Policy.Error, "404") {
			t.Errorf("404 report = %+v", rep.Policy)
		}
		rep = e.Verify(t.Context(), "nullmx.test")
		if !strings.Contains(rep.Error, "null MX") {
			t.Errorf("null MX report error = %q", rep.Error)
		}
	})
	t.Run("verify neither reads nor writes the cache", func(t *testing.T) {
		if l, _ := e.cache.List(t.Context()); len(l) != 0 {
			t.Errorf("cache after Verify = %d entries", len(l))
		}
	})
}

func firstErr(rep Report) string {
	if len(rep.MXHosts) == 0 {
		return rep.Error
	}
	return rep.MXHosts[0].Error
}

// TestVerifyTempFailCache: with the TXT lookup failing, Verify shows the
// cached policy with source "cache".
func TestVerifyTempFailCache(t *testing.T) {
	w := newWorld(t)
	cache := &MemoryCache{}
	seed(t, w, cache, "d.test", cached{id: "c1", mode: ModeTesting, fetchedAgo: time.Hour, maxAge: 86400})
	w.dns.fail("_mta-sts.d.test.", true, false)
	cfg := w.config()
	cfg.Cache = cache
	rep := w.engine(cfg).Verify(t.Context(), "d.test")
	if rep.Result != VerdictTempFail || rep.Policy.Source != SourceCache || rep.Policy.Mode != ModeTesting || rep.Record.ID != "c1" {
		t.Errorf("Verify = result %s, policy %+v, record %+v", rep.Result, rep.Policy, rep.Record)
	}
}

// TestReportJSON: the field names of the mtastsverify --json contract
// (DESIGN.md).
func TestReportJSON(t *testing.T) {
	w := verifyWorld(t)
	rep := w.engine(w.config()).Verify(t.Context(), "nostarttls.test")
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	keys := func(v any) []string {
		var out []string
		for k := range v.(map[string]any) {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	mustHave := func(where string, got []string, want ...string) {
		for _, k := range want {
			if !slices.Contains(got, k) {
				t.Errorf("%s: no %q in %q", where, k, got)
			}
		}
	}
	mustHave("report", keys(m), "domain", "record", "policy", "mx_hosts", "result")
	mustHave("record", keys(m["record"]), "status", "id")
	mustHave("policy", keys(m["policy"]), "status", "source", "mode", "mx", "max_age")
	hosts := m["mx_hosts"].([]any)
	mustHave("mx_hosts[0]", keys(hosts[0]), "host", "preference", "matches_policy", "starttls", "pkix_valid", "error")
	if m["result"] != "fail" || m["record"].(map[string]any)["status"] != "found" || m["policy"].(map[string]any)["status"] != "valid" {
		t.Errorf("values: %s", b)
	}
	// A TLS version is written as "TLS1.3".
	rep = w.engine(w.config()).Verify(t.Context(), "pass.test")
	b, _ = json.Marshal(rep.MXHosts[0])
	if !strings.Contains(string(b), `"tls_version":"TLS1.3"`) {
		t.Errorf("mx host JSON = %s", b)
	}
}

// TestMXTLSConfig: the TLS settings an enforced policy imposes on an MX
// connection (§4.2, §7.1, §7.2), with the SMTP probe against local MX
// servers.
func TestMXTLSConfig(t *testing.T) {
	w := newWorld(t)
	servers := map[string]*mxServer{
		"good":    startMX(t, "mx.good.test", mxConf{}, w.ca),
		"tls11":   startMX(t, "mx.tls11.test", mxConf{maxVersion: tls.VersionTLS11}, w.ca),
		"expired": startMX(t, "mx.expired.test", mxConf{cert: w.ca.leaf(t, expiredAt, "mx.expired.test")}, w.ca),
		"other":   startMX(t, "mx.other.test", mxConf{cert: w.ca.leaf(t, validUntil, "mx2.other.test")}, w.ca),
		"self":    startMX(t, "mx.self.test", mxConf{cert: (*testCA)(nil).leaf(t, validUntil, "mx.self.test")}, w.ca),
	}
	tests := []struct {
		name    string
		server  string
		host    string
		wantTLS uint16
		wantErr bool
	}{
		{name: "c59 c60 valid certificate, TLS 1.3, SNI = MX host §7.1 §7.2", server: "good", host: "mx.good.test", wantTLS: tls.VersionTLS13},
		{name: "c60 server limited to TLS 1.1: no session §7.2", server: "tls11", host: "mx.tls11.test", wantErr: true},
		{name: "c55 expired certificate: no session §4.2", server: "expired", host: "mx.expired.test", wantErr: true},
		{name: "c55 c56 certificate for another name: no session §4.2", server: "other", host: "mx.other.test", wantErr: true},
		{name: "c55 self-signed certificate: no session §4.2", server: "self", host: "mx.self.test", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := servers[tt.server]
			res, err := smtp.Probe(t.Context(), smtp.ProbeConfig{
				Addr: s.ln.Addr().String(), EHLOName: "esa.test", Timeout: 2 * time.Second,
				TLS: MXTLSConfig(tt.host+".", w.ca.pool),
			})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Probe() error = %v, wantErr %v", err, tt.wantErr)
			}
			var pe *smtp.ProbeError
			if err != nil && (!errors.As(err, &pe) || pe.Step != smtp.StepTLS) {
				t.Errorf("Probe() failed at %v, want the TLS step", err)
			}
			if err == nil && res.TLS.Version != tt.wantTLS {
				t.Errorf("TLS version %x, want %x", res.TLS.Version, tt.wantTLS)
			}
			if got := s.snis(); len(got) != 1 || got[0] != tt.host {
				t.Errorf("SNI = %q, want %q", got, tt.host)
			}
		})
	}
	if c := MXTLSConfig("mx.test", nil); c.RootCAs == nil || c.MinVersion != tls.VersionTLS12 || c.InsecureSkipVerify {
		t.Errorf("MXTLSConfig with nil roots = %+v; want an empty pool, TLS 1.2, verification on", c)
	}
}
