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

// revisionMarker starts the revision table, which a revision file has after the
// configuration, so that the revision can be read without decoding the configuration.
const revisionMarker = "\n[revision]\n"

// revisionFile renders a revision file: the configuration's TOML, then the revision.
func revisionFile(r Revision, config []byte) ([]byte, error) {
	var b bytes.Buffer
	b.Write(config)
	if len(config) > 0 && config[len(config)-1] != '\n' {
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	if err := toml.NewEncoder(&b).Encode(struct {
		Revision Revision `toml:"revision"`
	}{r}); err != nil {
		return nil, fmt.Errorf("store: encode revision %d: %w", r.Number, err)
	}
	if !bytes.Contains(b.Bytes()[len(config):], []byte(revisionMarker)) {
		return nil, fmt.Errorf("store: encode revision %d: unexpected layout", r.Number)
	}
	return b.Bytes(), nil
}

// splitRevision returns the revision and the configuration text of a revision file.
func splitRevision(data []byte) (Revision, []byte, error) {
	i := bytes.LastIndex(data, []byte(revisionMarker))
	if i < 0 {
		return Revision{}, nil, fmt.Errorf("no [revision] table")
	}
	var f struct {
		Revision Revision `toml:"revision"`
	}
	md, err := toml.Decode(string(data[i+1:]), &f)
	if err != nil {
		return Revision{}, nil, err
	}
	if !md.IsDefined("revision", "number") {
		return Revision{}, nil, fmt.Errorf("incomplete revision table")
	}
	return f.Revision, data[:i+1], nil
}
