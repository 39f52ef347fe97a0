package store

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Revision describes one committed configuration.
type Revision struct {
	Number  int       `toml:"number"`
	Time    time.Time `toml:"time"`
	User    string    `toml:"user"`
	Comment string    `toml:"comment"`
}

// revisionFile is the on-disk form of a revision: its description, then the
// configuration.
type revisionFile struct {
	Revision Revision `toml:"revision"`
	Config   *Config  `toml:"config"`
}

// Marshal renders c as TOML. The output is deterministic: the same configuration
// always gives the same bytes, which `showchanges` and the commit check rely on.
func Marshal(c *Config) ([]byte, error) {
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(c); err != nil {
		return nil, fmt.Errorf("store: encode configuration: %w", err)
	}
	return b.Bytes(), nil
}

// Unmarshal parses a configuration written by Marshal (or by `saveconfig`). Unknown
// keys are refused, so that a typing error in a hand-edited file is not silently lost.
func Unmarshal(data []byte) (*Config, error) {
	c := new(Config)
	md, err := toml.Decode(string(data), c)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("store: unknown keys: %s", strings.Join(keys, ", "))
	}
	return c, nil
}

func marshalRevision(r Revision, c *Config) ([]byte, error) {
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(revisionFile{Revision: r, Config: c}); err != nil {
		return nil, fmt.Errorf("store: encode revision %d: %w", r.Number, err)
	}
	return b.Bytes(), nil
}

func unmarshalRevision(data []byte) (Revision, *Config, error) {
	var f revisionFile
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		return Revision{}, nil, err
	}
	if !md.IsDefined("revision", "number") || f.Config == nil {
		return Revision{}, nil, fmt.Errorf("incomplete revision file")
	}
	return f.Revision, f.Config, nil
}
