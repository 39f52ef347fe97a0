package shell

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitLine(t *testing.T) {
	tests := []struct {
		in      string
		want    [][]string
		wantErr bool
	}{
		{"", nil, false},
		{"   ", nil, false},
		{"help", [][]string{{"help"}}, false},
		{"  dig  -t  TXT example.com ", [][]string{{"dig", "-t", "TXT", "example.com"}}, false},
		{"sethostname a.test; commit", [][]string{{"sethostname", "a.test"}, {"commit"}}, false},
		{`commit "add example.com; now"`, [][]string{{"commit", "add example.com; now"}}, false},
		{`commit "say \"hi\" \\ there"`, [][]string{{"commit", `say "hi" \ there`}}, false},
		{`commit ""`, [][]string{{"commit", ""}}, false},
		{";;a;;b;", [][]string{{"a"}, {"b"}}, false},
		{`a"b c"d`, [][]string{{"ab cd"}}, false},
		{`commit "open`, nil, true},
	}
	for _, tt := range tests {
		got, err := splitLine(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("splitLine(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("splitLine(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, words := range [][]string{{"a"}, {"commit", "two words"}, {"x", `q"uote`, `back\slash`, "", "semi;colon"}} {
		got, err := splitLine(quote(words))
		if err != nil || len(got) != 1 {
			t.Fatalf("splitLine(quote(%q)) = %v, %v", words, got, err)
		}
		if diff := cmp.Diff(words, got[0]); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}
