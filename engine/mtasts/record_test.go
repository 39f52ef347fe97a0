package mtasts

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseRecord: RFC 8461 §3.1, the TXT record grammar.
func TestParseRecord(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Record
		wantErr bool
	}{
		{name: "c01 RFC example §3.1", in: "v=STSv1; id=20160831085700Z;", want: Record{ID: "20160831085700Z"}},
		{name: "c01 without the final ';' §3.1", in: "v=STSv1; id=20160831085700Z", want: Record{ID: "20160831085700Z"}},
		{name: "c01 no space after ';' §3.1", in: "v=STSv1;id=abc", want: Record{ID: "abc"}},
		{name: "c05 version not first §3.1", in: "id=20180907T090909; v=STSv1;", wantErr: true},
		{name: "c06 v=STSv12 §3.1", in: "v=STSv12; id=abc;", wantErr: true},
		{name: "c06 v=STSv2 §3.1", in: "v=STSv2; id=abc;", wantErr: true},
		{name: "c06 lower-case version is not the literal §3.1", in: "v=stsv1; id=abc;", wantErr: true},
		{name: "c07 no id §3.1", in: "v=STSv1;", wantErr: true},
		{name: "c07 version alone §3.1", in: "v=STSv1", wantErr: true},
		{name: "c07 only an extension §3.1", in: "v=STSv1; ext=1;", wantErr: true},
		{name: "c08 id with '-' §3.1 ABNF", in: "v=STSv1; id=test-123;", wantErr: true},
		{name: "c08 empty id §3.1 ABNF", in: "v=STSv1; id=;", wantErr: true},
		{name: "c08 33-character id §3.1 ABNF", in: "v=STSv1; id=" + strings.Repeat("a", 33) + ";", wantErr: true},
		{name: "c08 32-character id is the maximum §3.1 ABNF", in: "v=STSv1; id=" + strings.Repeat("a", 32) + ";", want: Record{ID: strings.Repeat("a", 32)}},
		{name: "c09 WSP around ';' §3.1 sts-field-delim", in: "v=STSv1 \t; \tid=policy1 \t;", want: Record{ID: "policy1"}},
		{name: "c10 extensions ignored §3.1 §3.2", in: "v=STSv1; id=a; more=a; ext=2", want: Record{ID: "a", Extensions: []Extension{{"more", "a"}, {"ext", "2"}}}},
		{name: "c10 extension before id §3.1", in: "v=STSv1; x.y_z-1=!:<>~; id=b;", want: Record{ID: "b", Extensions: []Extension{{"x.y_z-1", "!:<>~"}}}},
		{name: "c11 empty extension value §3.1 ABNF", in: "v=STSv1; id=a; more=", wantErr: true},
		{name: "c11 bad extension name §3.1 ABNF", in: "v=STSv1; id=a; 1%=a", wantErr: true},
		{name: "c11 extension name starting with '_' §3.1 ABNF", in: "v=STSv1; id=a; _x=a", wantErr: true},
		{name: "c11 '=' in an extension value §3.1 ABNF", in: "v=STSv1; id=a; x=a=b", wantErr: true},
		{name: "c11 field without '=' §3.1 ABNF", in: "v=STSv1; id=a; junk", wantErr: true},
		{name: "two ';' in a row §3.1 ABNF", in: "v=STSv1; id=a;;", wantErr: true},
		{name: "white space inside a value §3.1 ABNF", in: "v=STSv1; id=abc def;", wantErr: true},
		{name: "trailing white space without ';' §3.1 ABNF", in: "v=STSv1; id=abc ", wantErr: true},
		{name: "two ids §3.1", in: "v=STSv1; id=a; id=b;", wantErr: true},
		{name: "ID is not id (%s literal) §3.1", in: "v=STSv1; ID=abc;", wantErr: true},
		{name: "non-ASCII id §3.1 ABNF", in: "v=STSv1; id=caf\u00e9;", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRecord(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseRecord(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidRecord) {
					t.Errorf("ParseRecord(%q) error = %v, want ErrInvalidRecord", tt.in, err)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseRecord(%q) (-want +got):\n%s", tt.in, diff)
			}
			// String() round-trips.
			back, err := ParseRecord(got.String())
			if err != nil || !cmp.Equal(back, got) {
				t.Errorf("ParseRecord(%q.String() = %q) = %+v, %v; want %+v", tt.in, got.String(), back, err, got)
			}
		})
	}
}

// TestLookupRecord: discovery against a DNS server on 127.0.0.1.
func TestLookupRecord(t *testing.T) {
	w := newWorld(t)
	z := w.dns
	z.add(`_mta-sts.one.test. 0 IN TXT "v=STSv1; id=20160831085700Z;"`)
	z.add(`_mta-sts.split.test. 0 IN TXT "v=STSv1; " "id=split1;"`)
	z.add(`_mta-sts.two.test. 0 IN TXT "v=STSv1; id=1;"`, `_mta-sts.two.test. 0 IN TXT "v=STSv1; id=2;"`)
	z.add(`_mta-sts.mixed.test. 0 IN TXT "google-site-verification=abc"`, `_mta-sts.mixed.test. 0 IN TXT "v=STSv1; id=m1;"`)
	z.add(`_mta-sts.other.test. 0 IN TXT "google-site-verification=abc"`)
	z.add(`_mta-sts.order.test. 0 IN TXT "id=20180907T090909; v=STSv1;"`)
	z.add(`_mta-sts.v12.test. 0 IN TXT "v=STSv12; id=a;"`)
	z.add(`_mta-sts.v2.test. 0 IN TXT "v=STSv2; id=a;"`)
	z.add(`_mta-sts.v2and1.test. 0 IN TXT "v=STSv2; id=a;"`, `_mta-sts.v2and1.test. 0 IN TXT "v=STSv1; id=b;"`)
	z.add(`_mta-sts.noid.test. 0 IN TXT "v=STSv1;"`)
	z.add(`_mta-sts.badid.test. 0 IN TXT "v=STSv1; id=test-123;"`)
	z.add(`_mta-sts.wsp.test. 0 IN TXT "v=STSv1 \009; \009id=policy1 \009;"`)
	z.add(`_mta-sts.ext.test. 0 IN TXT "v=STSv1; id=a; more=a; ext=2"`)
	z.add(`_mta-sts.badext.test. 0 IN TXT "v=STSv1; id=a; more="`)
	z.add(`_mta-sts.nodata.test. 0 IN A 127.0.0.1`)
	z.add(`_mta-sts.alias.test. 0 IN CNAME _mta-sts.target.test.`, `_mta-sts.target.test. 0 IN TXT "v=STSv1; id=viacname;"`)
	z.fail("_mta-sts.servfail.test.", true, false)
	z.fail("_mta-sts.timeout.test.", false, true)
	r := w.resolver(false)

	tests := []struct {
		name   string
		domain string
		want   RecordStatus
		wantID string
		err    error
	}{
		{name: "c01 one valid record §3.1", domain: "one.test", want: RecordFound, wantID: "20160831085700Z"},
		{name: "c01 character-strings joined §3.1", domain: "split.test", want: RecordFound, wantID: "split1"},
		{name: "c02 NXDOMAIN §3.1", domain: "absent.test", want: RecordNone, err: ErrNoRecord},
		{name: "c02 NODATA §3.1", domain: "nodata.test", want: RecordNone, err: ErrNoRecord},
		{name: "c03 two valid records §3.1", domain: "two.test", want: RecordMultiple, err: ErrMultipleRecords},
		{name: "c04 unrelated TXT discarded §3.1", domain: "mixed.test", want: RecordFound, wantID: "m1"},
		{name: "c04 only unrelated TXT §3.1", domain: "other.test", want: RecordNone, err: ErrNoRecord},
		{name: "c05 version not first §3.1", domain: "order.test", want: RecordInvalid, err: ErrInvalidRecord},
		{name: "c06 v=STSv12 §3.1", domain: "v12.test", want: RecordInvalid, err: ErrInvalidRecord},
		{name: "c06 v=STSv2 §3.1", domain: "v2.test", want: RecordInvalid, err: ErrInvalidRecord},
		{name: "c06 v=STSv2 discarded beside a v=STSv1 §3.1", domain: "v2and1.test", want: RecordFound, wantID: "b"},
		{name: "c07 no id §3.1", domain: "noid.test", want: RecordInvalid, err: ErrInvalidRecord},
		{name: "c08 bad id §3.1 ABNF", domain: "badid.test", want: RecordInvalid, err: ErrInvalidRecord},
		{name: "c09 WSP around ';' §3.1", domain: "wsp.test", want: RecordFound, wantID: "policy1"},
		{name: "c10 extensions ignored §3.1", domain: "ext.test", want: RecordFound, wantID: "a"},
		{name: "c11 bad extension §3.1 ABNF", domain: "badext.test", want: RecordInvalid, err: ErrInvalidRecord},
		{name: "CNAME followed §3.1", domain: "alias.test", want: RecordFound, wantID: "viacname"},
		{name: "c14 SERVFAIL is a temporary failure, not none", domain: "servfail.test", want: RecordTempFail, err: ErrTempFail},
		{name: "c14 timeout is a temporary failure, not none", domain: "timeout.test", want: RecordTempFail, err: ErrTempFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lk := LookupRecord(t.Context(), r, tt.domain)
			if lk.Status != tt.want || lk.Record.ID != tt.wantID {
				t.Errorf("LookupRecord(%s) = %s id %q (%v), want %s id %q", tt.domain, lk.Status, lk.Record.ID, lk.Err, tt.want, tt.wantID)
			}
			if !errors.Is(lk.Err, tt.err) || (tt.err == nil) != (lk.Err == nil) {
				t.Errorf("LookupRecord(%s).Err = %v, want %v", tt.domain, lk.Err, tt.err)
			}
			if lk.Name != "_mta-sts."+tt.domain {
				t.Errorf("Name = %q", lk.Name)
			}
		})
	}
}
