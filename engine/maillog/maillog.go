// Package maillog is the appliance-style mail log: lines of the form
// "<ctime> <Level>: <text>" (Critical, Warning, Info, Debug, Trace). The engine logs
// through the Logger interface; a file writer with rotation and the DCID/MID/RID
// counters arrives with delivery.
package maillog

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Level is the severity of a log line.
type Level int

// The levels, most severe first; a logger at level L writes lines of L and above.
const (
	Critical Level = iota
	Warning
	Info
	Debug
	Trace
)

// String names the level as the appliance does.
func (l Level) String() string {
	switch l {
	case Critical:
		return "Critical"
	case Warning:
		return "Warning"
	case Info:
		return "Info"
	case Debug:
		return "Debug"
	case Trace:
		return "Trace"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// Logger receives the engine's log lines.
type Logger interface {
	Logf(level Level, format string, args ...any)
}

// Discard drops every line.
type Discard struct{}

// Logf does nothing.
func (Discard) Logf(Level, string, ...any) {}

// Memory keeps lines in memory, for tests and for commands that show what the engine
// logged. It is safe for concurrent use.
type Memory struct {
	// Level is the most verbose level kept (the zero value keeps Critical only; use
	// Trace to keep everything).
	Level Level
	// Now stamps the lines (default: no time stamp, "<Level>: <text>").
	Now func() time.Time

	mu    sync.Mutex
	lines []string
}

// Logf keeps the line if its level is enabled.
func (m *Memory) Logf(level Level, format string, args ...any) {
	if level > m.Level {
		return
	}
	line := Format(time.Time{}, level, fmt.Sprintf(format, args...))
	if m.Now != nil {
		line = Format(m.Now(), level, fmt.Sprintf(format, args...))
	}
	m.mu.Lock()
	m.lines = append(m.lines, line)
	m.mu.Unlock()
}

// Lines returns the lines kept so far.
func (m *Memory) Lines() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.lines...)
}

// String returns the lines kept so far, one per line.
func (m *Memory) String() string { return strings.Join(m.Lines(), "\n") }

// TimeLayout is ctime's layout, as the appliance writes it: "Sun Nov 29 13:26:28 2026".
const TimeLayout = "Mon Jan _2 15:04:05 2006"

// Format renders one line; a zero time leaves out the time stamp.
func Format(t time.Time, level Level, text string) string {
	if t.IsZero() {
		return level.String() + ": " + text
	}
	return t.Format(TimeLayout) + " " + level.String() + ": " + text
}
