package mtastsverify

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/segcli/segcli/engine/mtasts"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    options
		wantErr string
	}{
		{name: "domain", in: []string{"example.com"}, want: options{domain: "example.com", concurrency: DefaultConcurrency}},
		{name: "json after", in: []string{"example.com", "--json"}, want: options{domain: "example.com", json: true, concurrency: DefaultConcurrency}},
		{name: "json before", in: []string{"-json", "example.com"}, want: options{domain: "example.com", json: true, concurrency: DefaultConcurrency}},
		{name: "nothing", in: nil, want: options{concurrency: DefaultConcurrency}},
		{name: "file", in: []string{"--file", "d.txt"}, want: options{file: "d.txt", concurrency: DefaultConcurrency}},
		{name: "file inline", in: []string{"--file=d.txt", "--csv"}, want: options{file: "d.txt", csv: true, concurrency: DefaultConcurrency}},
		{name: "concurrency", in: []string{"--concurrency", "64", "--file", "d.txt", "--json"}, want: options{file: "d.txt", json: true, concurrency: 64}},
		{name: "concurrency inline", in: []string{"--file", "d.txt", "--concurrency=256"}, want: options{file: "d.txt", concurrency: 256}},
		{name: "unknown option", in: []string{"--verbose", "example.com"}, wantErr: `unknown option "--verbose"`},
		{name: "two domains", in: []string{"a.example", "b.example"}, wantErr: "one domain at a time"},
		{name: "domain and file", in: []string{"a.example", "--file", "d.txt"}, wantErr: "not both"},
		{name: "json and csv", in: []string{"--file", "d.txt", "--json", "--csv"}, wantErr: "exclude each other"},
		{name: "csv without file", in: []string{"--csv", "a.example"}, wantErr: "--csv goes with --file"},
		{name: "concurrency without file", in: []string{"--concurrency", "2", "a.example"}, wantErr: "--concurrency goes with --file"},
		{name: "concurrency zero", in: []string{"--concurrency", "0", "--file", "d.txt"}, wantErr: "from 1 to 256"},
		{name: "concurrency too high", in: []string{"--concurrency=257", "--file", "d.txt"}, wantErr: "from 1 to 256"},
		{name: "concurrency not a number", in: []string{"--concurrency", "many", "--file", "d.txt"}, wantErr: "from 1 to 256"},
		{name: "file without value", in: []string{"--file"}, wantErr: "--file needs a value"},
		{name: "file empty", in: []string{"--file="}, wantErr: "--file needs a file name"},
		{name: "json with value", in: []string{"--json=yes", "a.example"}, wantErr: "takes no value"},
		{name: "policy", in: []string{"--policy", "a.example"}, want: options{domain: "a.example", policy: true, concurrency: DefaultConcurrency}},
		{name: "policy bulk", in: []string{"--file", "d.txt", "-policy", "--csv"}, want: options{file: "d.txt", policy: true, csv: true, concurrency: DefaultConcurrency}},
		{name: "policy with value", in: []string{"--policy=yes", "a.example"}, wantErr: "takes no value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseArgs(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseArgs(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseArgs(%q) error = %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(options{})); diff != "" {
				t.Errorf("parseArgs(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestCheckDomain(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "plain", in: "example.com", want: "example.com"},
		{name: "case and dot", in: "Example.COM.", want: "example.com"},
		{name: "idna", in: "bücher.example", want: "xn--bcher-kva.example"},
		{name: "leading dot", in: ".example.com", wantErr: true},
		{name: "space", in: "exa mple.com", wantErr: true},
		{name: "underscore", in: "exa_mple.com", wantErr: true},
		{name: "address", in: "192.0.2.1", wantErr: true},
		{name: "single label", in: "localhost", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkDomain(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("checkDomain(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0 seconds"}, {1, "1 second"}, {90, "90 seconds"}, {120, "2 minutes"}, {3600, "1 hour"},
		{86400, "1 day"}, {604800, "7 days"}, {31557600, "365.2 days"},
	}
	for _, tt := range tests {
		if got := duration(tt.in); got != tt.want {
			t.Errorf("duration(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEngineMessage(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mtasts: fetch https://mta-sts.a.example/.well-known/mta-sts.txt: HTTP status is not 200: HTTP 404 Not Found",
			"HTTP status is not 200: HTTP 404 Not Found"},
		{"mtasts: invalid policy: line 2: mode \"x\"", "invalid policy: line 2: mode \"x\""},
		{"serve it (mtasts: fetch https://mta-sts.a.example/x: redirect not followed).", "serve it (redirect not followed)"},
		{"plain", "plain"},
	}
	for _, tt := range tests {
		if got := engineMessage(tt.in); got != tt.want {
			t.Errorf("engineMessage(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRecordProblem(t *testing.T) {
	in := `mtasts: _mta-sts.a.example: invalid MTA-STS TXT record "v=STSv1; id=a:\"b\";": id "a:\"b\"" must be 1 to 32 letters and digits`
	want := `id "a:\"b\"" must be 1 to 32 letters and digits`
	if got := recordProblem(in); got != want {
		t.Errorf("recordProblem(%q) = %q, want %q", in, got, want)
	}
}

func TestWriteText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "lf", in: "version: STSv1\nmode: none\n",
			want: "Policy text (2 lines):\n     1  version: STSv1\n     2  mode: none\n"},
		{name: "crlf only", in: "version: STSv1\r\nmode: none\r\n",
			want: "Policy text (2 lines):\n     1  version: STSv1\n     2  mode: none\n"},
		{name: "mixed", in: "version: STSv1\r\nmode: none\n",
			want: "Policy text (2 lines):\n     1  version: STSv1  [CRLF]\n     2  mode: none\n"},
		{name: "no final newline", in: "version: STSv1\nmode: none",
			want: "Policy text (2 lines):\n     1  version: STSv1\n     2  mode: none  [no line ending]\n"},
		{name: "control", in: "mode: \x1bnone\n",
			want: "Policy text (1 line):\n     1  \"mode: \\x1bnone\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			writeText(&b, tt.in)
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("writeText(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestFailed(t *testing.T) {
	for v, want := range map[mtasts.Verdict]bool{
		mtasts.VerdictPass: false, mtasts.VerdictNone: false, mtasts.VerdictFail: true, mtasts.VerdictTempFail: true,
	} {
		if got := failed(v); got != want {
			t.Errorf("failed(%s) = %v, want %v", v, got, want)
		}
	}
}
