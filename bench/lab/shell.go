package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/commands"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// labShell is a segcli shell session in the driver's process, on a data
// directory of its own: the commands run exactly as typed at the prompt.
type labShell struct {
	sh  *shell.Shell
	out *bytes.Buffer
}

func (l *lab) shell(ctx context.Context) (*labShell, error) {
	dir := l.dataDir("shell")
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o755); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	sh, err := commands.NewShell(ctx, commands.Options{
		Fs:       afero.NewBasePathFs(afero.NewOsFs(), dir),
		Locker:   store.FileLocker{Path: filepath.Join(dir, "config", ".lock")},
		In:       shell.NewPlainReader(strings.NewReader(""), &out),
		Out:      &out,
		Err:      &out,
		User:     "bench",
		Hostname: "esa.test",
		Resolver: dnsAddr,
		ExtraCAs: l.ca,
		DataDir:  dir,
	})
	if err != nil {
		return nil, err
	}
	return &labShell{sh: sh, out: &out}, nil
}

// run runs one command line and returns what it printed.
func (s *labShell) run(ctx context.Context, line string) (string, error) {
	s.out.Reset()
	if status := s.sh.RunBatch(ctx, line); status != 0 {
		return s.out.String(), fmt.Errorf("exit status %d", status)
	}
	return s.out.String(), nil
}
