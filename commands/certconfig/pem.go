package certconfig

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/segcli/segcli/shell"
)

// pemBlocks splits pasted text into PEM blocks. Text around the blocks (the
// "Bag Attributes" and "subject=" lines openssl prints) is ignored.
func pemBlocks(text string) []*pem.Block {
	var out []*pem.Block
	rest := []byte(text)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return out
		}
		out = append(out, b)
	}
}

// isKeyBlock reports whether a PEM block holds a private key.
func isKeyBlock(b *pem.Block) bool { return strings.HasSuffix(b.Type, "PRIVATE KEY") }

// parseCertPaste reads the answer to a certificate question: one or more
// CERTIFICATE blocks and nothing else. The error is the line shown to the operator.
func parseCertPaste(text string) ([]*x509.Certificate, error) {
	blocks := pemBlocks(text)
	if len(blocks) == 0 {
		return nil, errors.New("That is not a certificate in PEM format: paste the lines from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----.")
	}
	var certs []*x509.Certificate
	for _, b := range blocks {
		switch {
		case isKeyBlock(b):
			return nil, errors.New("That is a private key: paste the certificate here; the private key is asked for later.")
		case b.Type != "CERTIFICATE":
			return nil, fmt.Errorf("That is a %s block, not a certificate: paste the lines from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----.", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("The certificate could not be read (%v): paste it again as it was issued.", err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// keyPaste is the private key block of an answer (an EC PARAMETERS block before it
// is allowed, as `openssl ecparam -genkey` writes one).
func keyPaste(text string) (*pem.Block, error) {
	var key *pem.Block
	for _, b := range pemBlocks(text) {
		switch {
		case b.Type == "EC PARAMETERS":
			continue
		case b.Type == "CERTIFICATE":
			return nil, errors.New("That is a certificate: paste the private key here.")
		case b.Type == "OPENSSH PRIVATE KEY":
			return nil, errors.New("That is an OpenSSH key: convert it to PEM with \"ssh-keygen -p -m PEM -f FILE\" and paste it again.")
		case !isKeyBlock(b):
			return nil, fmt.Errorf("That is a %s block, not a private key: paste the lines from -----BEGIN ... PRIVATE KEY----- to -----END ... PRIVATE KEY-----.", b.Type)
		case key != nil:
			return nil, errors.New("That is more than one private key: paste only the key of this certificate.")
		}
		key = b
	}
	if key == nil {
		return nil, errors.New("That is not a private key in PEM format: paste the lines from -----BEGIN ... PRIVATE KEY----- to -----END ... PRIVATE KEY-----.")
	}
	return key, nil
}

// keyEncrypted reports whether a key block needs a pass phrase: PKCS#8
// "ENCRYPTED PRIVATE KEY", or the legacy OpenSSL "Proc-Type: 4,ENCRYPTED" header.
func keyEncrypted(b *pem.Block) bool {
	return b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED")
}

// parseKey decodes a private key block: PKCS#1 (RSA PRIVATE KEY), SEC1 (EC PRIVATE
// KEY) or PKCS#8 (PRIVATE KEY) holding an RSA, ECDSA or Ed25519 key, decrypting it
// with passphrase when it is encrypted. A wrong pass phrase gives errPassphrase; other
// errors are lines for the operator.
func parseKey(b *pem.Block, passphrase []byte) (crypto.Signer, error) {
	der := b.Bytes
	typ := b.Type
	switch {
	case typ == "ENCRYPTED PRIVATE KEY":
		d, err := decryptPKCS8(der, passphrase)
		if err != nil {
			return nil, err
		}
		der, typ = d, "PRIVATE KEY"
		k, err := parsePlainKey(typ, der)
		if err != nil {
			return nil, errPassphrase // good padding by chance, garbage inside
		}
		return k, nil
	case keyEncrypted(b):
		//lint:ignore SA1019 legacy PEM encryption is insecure but still written by old tools; the operator's pass phrase unlocks it once and the key is stored unencrypted with mode 0600.
		d, err := x509.DecryptPEMBlock(b, passphrase)
		if err != nil {
			if errors.Is(err, x509.IncorrectPasswordError) {
				return nil, errPassphrase
			}
			return nil, fmt.Errorf("The encrypted private key could not be read (%v): paste it again, or paste it unencrypted.", err)
		}
		k, err := parsePlainKey(typ, d)
		if err != nil {
			return nil, errPassphrase
		}
		return k, nil
	}
	return parsePlainKey(typ, der)
}

func parsePlainKey(typ string, der []byte) (crypto.Signer, error) {
	var k any
	var err error
	switch typ {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(der)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(der)
	default:
		return nil, fmt.Errorf("A %s is not supported: paste an RSA, ECDSA or Ed25519 key (PKCS#1, SEC1 or PKCS#8).", typ)
	}
	if err != nil {
		return nil, fmt.Errorf("The private key could not be read (%v): paste it again as it was generated.", err)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("A %T key cannot sign: paste an RSA, ECDSA or Ed25519 key.", k)
}

// keyMatches reports whether key is the private key of cert.
func keyMatches(cert *x509.Certificate, key crypto.Signer) bool {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}

// keyPEM encodes key as the unencrypted PKCS#8 PEM the key store keeps.
func keyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("certconfig: encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// certPEM encodes certificates as PEM text.
func certPEM(certs ...*x509.Certificate) string {
	var b strings.Builder
	for _, c := range certs {
		b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	return b.String()
}

// issued reports whether parent issued child (names and signature).
func issued(parent, child *x509.Certificate) bool {
	return bytes.Equal(child.RawIssuer, parent.RawSubject) && child.CheckSignatureFrom(parent) == nil
}

// selfSigned reports whether c is its own issuer (a root CA, or a self-signed server
// certificate, which CheckSignatureFrom would refuse as not a CA).
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// orderChain puts others in chain order after leaf: each certificate issued the one
// before it. Certificates that do not fit are returned apart.
func orderChain(leaf *x509.Certificate, others []*x509.Certificate) (chain, unrelated []*x509.Certificate) {
	left := append([]*x509.Certificate(nil), others...)
	cur := leaf
	for !selfSigned(cur) {
		i := -1
		for j, c := range left {
			if issued(c, cur) {
				i = j
				break
			}
		}
		if i < 0 {
			break
		}
		cur = left[i]
		chain = append(chain, cur)
		left = append(left[:i], left[i+1:]...)
	}
	return chain, left
}

// subjectName is how a certificate is named on the screen: its subject's common name, else
// its whole subject.
func subjectName(n pkix.Name) string {
	if n.CommonName != "" {
		return n.CommonName
	}
	if s := n.String(); s != "" {
		return s
	}
	return "(no subject)"
}

// validityProblems describes what is wrong with the validity of certs at now: one
// line each for an expired certificate or one not valid yet.
func validityProblems(certs []*x509.Certificate, now time.Time) []string {
	var out []string
	for _, c := range certs {
		switch {
		case now.After(c.NotAfter):
			out = append(out, fmt.Sprintf("Warning: the certificate %q expired on %s.", subjectName(c.Subject), shell.FormatTime(c.NotAfter.UTC())))
		case now.Before(c.NotBefore):
			out = append(out, fmt.Sprintf("Warning: the certificate %q is not valid before %s.", subjectName(c.Subject), shell.FormatTime(c.NotBefore.UTC())))
		}
	}
	return out
}
