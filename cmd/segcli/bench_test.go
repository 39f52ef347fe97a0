package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// BenchmarkStartup measures a session from process arguments to the first prompt:
// flags, opening the store (reading the committed revision), building the shell.
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	run(context.Background(), []string{"--data-dir", dir, "-c", "help"}, strings.NewReader(""), io.Discard, io.Discard)
	b.ResetTimer()
	for b.Loop() {
		if code := run(context.Background(), []string{"--data-dir", dir}, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
			b.Fatal(code)
		}
	}
}

// BenchmarkStartupFloor is the peer of BenchmarkStartup: only reading and decoding the
// committed configuration, the work no start-up can skip.
func BenchmarkStartupFloor(b *testing.B) {
	dir := b.TempDir()
	run(context.Background(), []string{"--data-dir", dir, "-c", "help"}, strings.NewReader(""), io.Discard, io.Discard)
	file := filepath.Join(dir, "config", "running.toml")
	b.ResetTimer()
	for b.Loop() {
		data, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		var v map[string]any
		if _, err := toml.Decode(string(data), &v); err != nil {
			b.Fatal(err)
		}
	}
}
