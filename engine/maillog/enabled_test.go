package maillog

import "testing"

// plain is a Logger that cannot tell its levels.
type plain struct{ n int }

func (p *plain) Logf(Level, string, ...any) { p.n++ }

// TestEnabled: Enabled says whether a line of the level would be written;
// loggers that cannot tell get every line.
func TestEnabled(t *testing.T) {
	tests := []struct {
		name  string
		l     Logger
		level Level
		want  bool
	}{
		{"Discard writes nothing", Discard{}, Critical, false},
		{"Memory at Info keeps Info", &Memory{Level: Info}, Info, true},
		{"Memory at Info keeps Warning", &Memory{Level: Info}, Warning, true},
		{"Memory at Info drops Debug", &Memory{Level: Info}, Debug, false},
		{"Tee of nothing writes nothing", Tee{nil, Discard{}}, Critical, false},
		{"Tee: one logger that keeps the level is enough", Tee{Discard{}, &Memory{Level: Debug}}, Debug, true},
		{"Tee: none keeps the level", Tee{&Memory{Level: Info}, Discard{}}, Trace, false},
		{"Tee with a logger that cannot tell", Tee{Discard{}, &plain{}}, Trace, true},
		{"a logger that cannot tell gets every line", &plain{}, Trace, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Enabled(tt.l, tt.level); got != tt.want {
				t.Errorf("Enabled(%T, %v) = %v, want %v", tt.l, tt.level, got, tt.want)
			}
		})
	}
}

// TestMemoryEnabledAgreesWithLogf: for every threshold and level, Enabled is
// true exactly when Logf keeps the line.
func TestMemoryEnabledAgreesWithLogf(t *testing.T) {
	for threshold := Critical; threshold <= Trace; threshold++ {
		for level := Critical; level <= Trace; level++ {
			m := &Memory{Level: threshold}
			m.Logf(level, "line")
			kept := len(m.Lines()) == 1
			if got := m.Enabled(level); got != kept {
				t.Errorf("Memory at %v: Enabled(%v) = %v, but Logf kept the line: %v", threshold, level, got, kept)
			}
		}
	}
}

// TestDiscardEnabledAllocs: asking costs no allocation, so that callers can
// ask before every line.
func TestDiscardEnabledAllocs(t *testing.T) {
	var l Logger = Discard{}
	d := "example.com"
	n := testing.AllocsPerRun(100, func() {
		if Enabled(l, Info) {
			l.Logf(Info, "domain %s", d)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per guarded line, want 0", n)
	}
}
