package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func bigConfig(b *testing.B, s *Session, n int) *Config {
	c := s.Edit()
	c.Destinations.Entries = make([]Destination, n)
	for i := range c.Destinations.Entries {
		c.Destinations.Entries[i] = Destination{
			Domain: fmt.Sprintf("domain%05d.example", i), TLS: "required_verify", DANE: "opportunistic",
			MTASTS: "on", MaxConcurrency: Int(100),
		}
	}
	return c
}

// BenchmarkCommit10000 commits a configuration of 10,000 destination entries, one
// entry changed each time, with the rollback copy: lock, conflict check, two atomic
// durable writes (history and head), pruning.
func BenchmarkCommit10000(b *testing.B) {
	dir := b.TempDir()
	s := session(b, openDir(b, dir))
	c := bigConfig(b, s, 10000)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c = c.Clone()
		c.Destinations.Entries[i%10000].MaxConcurrency = Int(i%1000 + 1)
		s.Set(c)
		if _, err := s.Commit(ctx, "bench", true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWrite10000Plain is the peer of BenchmarkCommit10000: the same configuration
// encoded and written once with os.WriteFile (no fsync, no lock, no rollback copy).
func BenchmarkWrite10000Plain(b *testing.B) {
	dir := b.TempDir()
	s := session(b, openDir(b, dir))
	c := bigConfig(b, s, 10000)
	file := filepath.Join(dir, "plain.toml")
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c = c.Clone()
		c.Destinations.Entries[i%10000].MaxConcurrency = Int(i%1000 + 1)
		data, err := Marshal(c)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(file, data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
}
