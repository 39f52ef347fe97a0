package certconfig

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"path"
	"strings"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// p12 is the content of a PKCS#12 file: a private key, its certificate, the chain
// (in order) and the certificates of the file that are not part of the chain.
type p12 struct {
	key       crypto.Signer
	leaf      *x509.Certificate
	chain     []*x509.Certificate
	unrelated []*x509.Certificate
}

// decodeP12 reads a PKCS#12 file. A wrong pass phrase gives errPassphrase; other
// errors are lines for the operator.
func decodeP12(data []byte, pass string) (p12, error) {
	k, leaf, cas, err := pkcs12.DecodeChain(data, pass)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return p12{}, errPassphrase
	}
	if err != nil {
		return p12{}, fmt.Errorf("The file could not be read as PKCS#12 (%v): export it again with its private key and certificate.", err)
	}
	var key crypto.Signer
	switch k := k.(type) {
	case *rsa.PrivateKey:
		key = k
	case *ecdsa.PrivateKey:
		key = k
	case ed25519.PrivateKey:
		key = k
	case *ed25519.PrivateKey:
		key = *k
	default:
		return p12{}, fmt.Errorf("The private key of the file (%T) is not supported: use an RSA, ECDSA or Ed25519 key.", k)
	}
	if !keyMatches(leaf, key) {
		return p12{}, errors.New("The private key of the file does not match its certificate: nothing was stored.")
	}
	chain, unrelated := orderChain(leaf, cas)
	return p12{key: key, leaf: leaf, chain: chain, unrelated: unrelated}, nil
}

// warnP12 reports the validity problems of an imported chain and the certificates
// left out of it.
func warnP12(e *shell.Env, f p12) {
	warn(e, append([]*x509.Certificate{f.leaf}, f.chain...))
	for _, c := range f.unrelated {
		fmt.Fprintf(e.Out, "Warning: the certificate %q of the file is not part of the chain of %q: it was left out.\n", subjectName(c.Subject), subjectName(f.leaf.Subject))
	}
}

// defaultName proposes a profile name from a file name: its base without the
// extension, when that is a valid name.
func defaultName(file string) string {
	n := strings.TrimSuffix(file, path.Ext(file))
	if store.ValidProfileName(n) != nil {
		return ""
	}
	return n
}

// importDialog is IMPORT: a PKCS#12 file of the configuration folder, its pass
// phrase, then the profile name.
func importDialog(ctx context.Context, e *shell.Env) error {
	file, data, err := askFile(e, fileQuestion(e, "import"))
	if err != nil || file == "" {
		return err
	}
	var f p12
	for i := 0; ; i++ {
		pass, err := e.P.Secret(qP12Pass)
		if err != nil {
			return err
		}
		f, err = decodeP12(data, pass)
		if errors.Is(err, errPassphrase) {
			if i == maxPassTries-1 {
				return refuse("The pass phrase is not correct: nothing was stored.")
			}
			reject(e, wrongPass)
			continue
		}
		if err != nil {
			return refuse("%s", err)
		}
		break
	}
	warnP12(e, f)
	name, ok, err := askName(e, defaultName(file))
	if err != nil || !ok {
		return err
	}
	replaced, err := install(ctx, e, store.Certificate{Name: name, CertPEM: certPEM(f.leaf), ChainPEM: certPEM(f.chain...)}, f.key)
	if err != nil {
		return err
	}
	installed(e, name, replaced)
	return nil
}
