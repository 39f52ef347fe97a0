package maillog

import (
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	at := time.Date(2026, 11, 29, 3, 6, 28, 0, time.UTC)
	tests := []struct {
		t     time.Time
		level Level
		text  string
		want  string
	}{
		{at, Info, "MID 1 queued for delivery", "Sun Nov 29 03:06:28 2026 Info: MID 1 queued for delivery"},
		{time.Time{}, Debug, "DNS query", "Debug: DNS query"},
	}
	for _, tt := range tests {
		if got := Format(tt.t, tt.level, tt.text); got != tt.want {
			t.Errorf("Format(%v, %v, %q) = %q, want %q", tt.t, tt.level, tt.text, got, tt.want)
		}
	}
}

func TestMemoryLevel(t *testing.T) {
	m := &Memory{Level: Info}
	m.Logf(Info, "kept %d", 1)
	m.Logf(Debug, "dropped")
	m.Logf(Warning, "kept %d", 2)
	if got := m.String(); got != "Info: kept 1\nWarning: kept 2" {
		t.Errorf("Memory = %q", got)
	}
}
