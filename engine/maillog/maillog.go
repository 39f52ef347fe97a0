// Package maillog is the appliance-style mail log: lines of the form
// "<ctime> <Level>: <text>" (Critical, Warning, Info, Debug, Trace).
//
// The engine logs through the Logger interface. File writes mail_logs in the
// data directory with a level threshold that can change at run time
// (loglevel), size-based rotation (mail_logs, mail_logs.1, ... mail_logs.N),
// whole-line appends that two processes can share, and is safe for
// concurrent use. Counters hands out the DCID, MID and ICID numbers the lines
// carry; they survive restarts, and a crash never makes one come out twice
// (numbers are reserved in blocks, durably, before they are used). The Entry
// helpers (NewSMTP, TLSSuccess, DeliveryStart, MessageFinished, ...) word the
// delivery lines as the appliance does, so that every part of the engine
// writes them alike.
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

// levelNames are the appliance's names, in Level order.
var levelNames = [...]string{"Critical", "Warning", "Info", "Debug", "Trace"}

// String names the level as the appliance does.
func (l Level) String() string {
	if l < Critical || l > Trace {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel returns the level named s, in any case ("info", "DEBUG").
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Level(i), nil
		}
	}
	return 0, fmt.Errorf("maillog: unknown level %q (one of %s)", s, strings.Join(levelNames[:], ", "))
}

// Logger receives the engine's log lines.
type Logger interface {
	Logf(level Level, format string, args ...any)
}

// LevelEnabler is implemented by loggers that can tell cheaply whether they
// write lines of a level. Hot paths ask first (Enabled), so that a line
// nobody writes costs no formatting and no allocation: boxing the
// arguments of Logf allocates even when the logger drops the line.
type LevelEnabler interface {
	Enabled(level Level) bool
}

// Enabled reports whether l writes lines of level: its own answer when it
// implements LevelEnabler, true otherwise (a logger that cannot tell gets
// every line).
func Enabled(l Logger, level Level) bool {
	if e, ok := l.(LevelEnabler); ok {
		return e.Enabled(level)
	}
	return true
}

// Discard drops every line.
type Discard struct{}

// Logf does nothing.
func (Discard) Logf(Level, string, ...any) {}

// Enabled is false: no line is written.
func (Discard) Enabled(Level) bool { return false }

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

// Enabled reports whether lines of level are kept.
func (m *Memory) Enabled(level Level) bool { return level <= m.Level }

// Logf keeps the line if its level is enabled.
func (m *Memory) Logf(level Level, format string, args ...any) {
	if level > m.Level {
		return
	}
	var t time.Time
	if m.Now != nil {
		t = m.Now()
	}
	line := Format(t, level, fmt.Sprintf(format, args...))
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

// Reset forgets the lines kept so far.
func (m *Memory) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lines = nil
}

// String returns the lines kept so far, one per line.
func (m *Memory) String() string { return strings.Join(m.Lines(), "\n") }

// Tee sends every line to each of its loggers (nil ones are skipped).
type Tee []Logger

// Enabled reports whether one of the loggers writes lines of level.
func (t Tee) Enabled(level Level) bool {
	for _, l := range t {
		if l != nil && Enabled(l, level) {
			return true
		}
	}
	return false
}

// Logf passes the line on.
func (t Tee) Logf(level Level, format string, args ...any) {
	for _, l := range t {
		if l != nil {
			l.Logf(level, format, args...)
		}
	}
}

// TimeLayout is ctime's layout, as the appliance writes it: "Sun Nov 29 13:26:28 2026".
const TimeLayout = "Mon Jan _2 15:04:05 2006"

// Format renders one line; a zero time leaves out the time stamp. Line breaks in
// text are written as \r and \n so that a line of the log is always one entry.
func Format(t time.Time, level Level, text string) string {
	text = lineBreaks.Replace(text)
	if t.IsZero() {
		return level.String() + ": " + text
	}
	return t.Format(TimeLayout) + " " + level.String() + ": " + text
}

var lineBreaks = strings.NewReplacer("\r", `\r`, "\n", `\n`)
