package certconfig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/segcli/segcli/engine/trust"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// opensslKeys makes one key of each type with openssl, then writes it in every
// encoding an operator may paste. It returns dir; the file names are the test cases'.
func opensslKeys(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.p8")
	run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", "ec.p8")
	run("genpkey", "-algorithm", "ED25519", "-out", "ed.p8")
	run("genpkey", "-algorithm", "X25519", "-out", "x25519.p8")
	run("rsa", "-in", "rsa.p8", "-traditional", "-out", "rsa.p1")
	run("ec", "-in", "ec.p8", "-out", "ec.sec1")
	run("ecparam", "-name", "prime256v1", "-genkey", "-out", "ecparam.sec1") // EC PARAMETERS block first
	for _, c := range []struct{ name, cipher, prf string }{
		{"aes256-sha256", "aes-256-cbc", "hmacWithSHA256"},
		{"aes128-sha1", "aes-128-cbc", "hmacWithSHA1"},
		{"aes192-sha512", "aes-192-cbc", "hmacWithSHA512"},
		{"des3-sha256", "des3", "hmacWithSHA256"},
	} {
		run("pkcs8", "-topk8", "-v2", c.cipher, "-v2prf", c.prf, "-in", "rsa.p8", "-passout", "pass:secret", "-out", "rsa-"+c.name+".enc")
	}
	run("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "ec.p8", "-passout", "pass:secret", "-out", "ec.enc")
	run("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "ed.p8", "-passout", "pass:secret", "-out", "ed.enc")
	run("pkcs8", "-topk8", "-scrypt", "-in", "ec.p8", "-passout", "pass:secret", "-out", "ec-scrypt.enc")
	run("pkcs8", "-topk8", "-v1", "PBE-SHA1-3DES", "-in", "ec.p8", "-passout", "pass:secret", "-out", "ec-pbes1.enc")
	run("rsa", "-in", "rsa.p8", "-traditional", "-aes256", "-passout", "pass:secret", "-out", "rsa-legacy.enc")
	run("ec", "-in", "ec.p8", "-des3", "-passout", "pass:secret", "-out", "ec-legacy.enc")
	return dir
}

func TestParseKey(t *testing.T) {
	dir := opensslKeys(t)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	base := func(name string) crypto.Signer {
		b, _ := keyPaste(read(name))
		k, err := parseKey(b, nil)
		if err != nil {
			t.Fatalf("base key %s: %v", name, err)
		}
		return k
	}
	rsaKey, ecKey, edKey := base("rsa.p8"), base("ec.p8"), base("ed.p8")
	for _, tc := range []struct {
		name      string
		file      string
		pass      string
		want      crypto.Signer // nil: only check that it parses
		encrypted bool
		wantErr   error // errPassphrase, errUnsupportedEncryption{} or any error (errAny)
	}{
		{name: "RSA PKCS#8", file: "rsa.p8", want: rsaKey},
		{name: "RSA PKCS#1", file: "rsa.p1", want: rsaKey},
		{name: "ECDSA PKCS#8", file: "ec.p8", want: ecKey},
		{name: "ECDSA SEC1", file: "ec.sec1", want: ecKey},
		{name: "ECDSA SEC1 after EC PARAMETERS", file: "ecparam.sec1"},
		{name: "Ed25519 PKCS#8", file: "ed.p8", want: edKey},
		{name: "PBES2 AES-256 SHA-256", file: "rsa-aes256-sha256.enc", pass: "secret", want: rsaKey, encrypted: true},
		{name: "PBES2 AES-128 SHA-1", file: "rsa-aes128-sha1.enc", pass: "secret", want: rsaKey, encrypted: true},
		{name: "PBES2 AES-192 SHA-512", file: "rsa-aes192-sha512.enc", pass: "secret", want: rsaKey, encrypted: true},
		{name: "PBES2 3DES", file: "rsa-des3-sha256.enc", pass: "secret", want: rsaKey, encrypted: true},
		{name: "PBES2 ECDSA", file: "ec.enc", pass: "secret", want: ecKey, encrypted: true},
		{name: "PBES2 Ed25519", file: "ed.enc", pass: "secret", want: edKey, encrypted: true},
		{name: "legacy PEM AES-256 RSA", file: "rsa-legacy.enc", pass: "secret", want: rsaKey, encrypted: true},
		{name: "legacy PEM 3DES EC", file: "ec-legacy.enc", pass: "secret", want: ecKey, encrypted: true},
		{name: "PBES2 wrong pass phrase", file: "rsa-aes256-sha256.enc", pass: "guess", encrypted: true, wantErr: errPassphrase},
		{name: "PBES2 3DES wrong pass phrase", file: "rsa-des3-sha256.enc", pass: "guess", encrypted: true, wantErr: errPassphrase},
		{name: "PBES2 empty pass phrase", file: "ec.enc", pass: "", encrypted: true, wantErr: errPassphrase},
		{name: "legacy wrong pass phrase", file: "rsa-legacy.enc", pass: "guess", encrypted: true, wantErr: errPassphrase},
		{name: "scrypt refused", file: "ec-scrypt.enc", pass: "secret", encrypted: true, wantErr: errUnsupportedEncryption{}},
		{name: "PBES1 refused", file: "ec-pbes1.enc", pass: "secret", encrypted: true, wantErr: errUnsupportedEncryption{}},
		{name: "X25519 cannot sign", file: "x25519.p8", wantErr: errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := keyPaste(read(tc.file))
			if err != nil {
				t.Fatalf("keyPaste: %v", err)
			}
			if got := keyEncrypted(b); got != tc.encrypted {
				t.Errorf("keyEncrypted = %v, want %v", got, tc.encrypted)
			}
			k, err := parseKey(b, []byte(tc.pass))
			switch {
			case tc.wantErr == errAny:
				if err == nil {
					t.Fatal("parseKey succeeded, want an error")
				}
				return
			case tc.wantErr == errPassphrase:
				if !errors.Is(err, errPassphrase) {
					t.Fatalf("parseKey = %v, want errPassphrase", err)
				}
				return
			case tc.wantErr != nil:
				var u errUnsupportedEncryption
				if !errors.As(err, &u) {
					t.Fatalf("parseKey = %v, want errUnsupportedEncryption", err)
				}
				if !strings.Contains(err.Error(), "openssl pkcs8") {
					t.Errorf("message %q does not say how to convert the key", err)
				}
				return
			case err != nil:
				t.Fatalf("parseKey: %v", err)
			}
			if tc.want != nil {
				if eq, ok := k.(interface{ Equal(crypto.PrivateKey) bool }); !ok || !eq.Equal(tc.want) {
					t.Errorf("parseKey returned another key")
				}
			}
		})
	}
}

// errAny in a test case means "some error".
var errAny = errors.New("any error")

func TestKeyPasteRefuses(t *testing.T) {
	cert := "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
	key := "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "That is not a private key"},
		{"text", "hello\n", "That is not a private key"},
		{"certificate", cert, "That is a certificate"},
		{"two keys", key + key, "more than one private key"},
		{"openssh", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n", "ssh-keygen"},
		{"public key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "PUBLIC KEY block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := keyPaste(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("keyPaste(%q) = %v, want an error containing %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestParseCertPasteRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "not a certificate in PEM format"},
		{"key", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", "That is a private key"},
		{"csr", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "CERTIFICATE REQUEST block"},
		{"bad DER", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "could not be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseCertPaste(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseCertPaste(%q) = %v, want an error containing %q", tc.in, err, tc.want)
			}
		})
	}
}

// chainFixture is root -> intermediate -> leaf, and an unrelated self-signed root.
type chainFixture struct{ root, inter, leaf, other *x509.Certificate }

func makeCert(t *testing.T, cn string, ca bool, parent *x509.Certificate, parentKey crypto.Signer, from, to time.Time) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: from, NotAfter: to, IsCA: ca, BasicConstraintsValid: true,
	}
	if ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign
	}
	if parent == nil {
		parent, parentKey = tmpl, k
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, k.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, k
}

var (
	from = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to   = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
)

func newChain(t *testing.T) chainFixture {
	root, rk := makeCert(t, "Root", true, nil, nil, from, to)
	inter, ik := makeCert(t, "Inter", true, root, rk, from, to)
	leaf, _ := makeCert(t, "leaf.example", false, inter, ik, from, to)
	other, _ := makeCert(t, "Other", true, nil, nil, from, to)
	return chainFixture{root, inter, leaf, other}
}

func TestOrderChain(t *testing.T) {
	f := newChain(t)
	subjects := func(cs []*x509.Certificate) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Subject.CommonName)
		}
		return out
	}
	for _, tc := range []struct {
		name          string
		in            []*x509.Certificate
		want, wantOut []string
	}{
		{"in order", []*x509.Certificate{f.inter, f.root}, []string{"Inter", "Root"}, nil},
		{"reversed", []*x509.Certificate{f.root, f.inter}, []string{"Inter", "Root"}, nil},
		{"intermediate only", []*x509.Certificate{f.inter}, []string{"Inter"}, nil},
		{"root without intermediate", []*x509.Certificate{f.root}, nil, []string{"Root"}},
		{"unrelated", []*x509.Certificate{f.inter, f.other}, []string{"Inter"}, []string{"Other"}},
		{"none", nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chain, out := orderChain(f.leaf, tc.in)
			if d := cmp.Diff(tc.want, subjects(chain)); d != "" {
				t.Errorf("chain (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantOut, subjects(out)); d != "" {
				t.Errorf("unrelated (-want +got):\n%s", d)
			}
		})
	}
}

func TestValidityProblems(t *testing.T) {
	now := time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC)
	old, _ := makeCert(t, "Old", false, nil, nil, from, from.AddDate(0, 1, 0))
	early, _ := makeCert(t, "Early", false, nil, nil, to, to.AddDate(1, 0, 0))
	good, _ := makeCert(t, "Good", false, nil, nil, from, to)
	got := validityProblems([]*x509.Certificate{good, old, early}, now)
	want := []string{
		`Warning: the certificate "Old" expired on Sun Feb  1 00:00:00 2026 UTC.`,
		`Warning: the certificate "Early" is not valid before Tue Jan  1 00:00:00 2030 UTC.`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("validityProblems (-want +got):\n%s", d)
	}
	if s := status(old, now); s != "Expired" {
		t.Errorf("status(expired) = %q", s)
	}
	if s := status(early, now); s != "Not Yet Valid" {
		t.Errorf("status(not yet valid) = %q", s)
	}
	if r := remaining(old, now); r != "0 days" {
		t.Errorf("remaining(expired) = %q, want 0 days", r)
	}
}

func TestParseSANs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		dns     []string
		ips     []string
		wantErr bool
	}{
		{name: "one name", in: "mail.example.com", dns: []string{"mail.example.com"}},
		{name: "names and addresses", in: "Mail.Example.com., 192.0.2.1, *.example.com, 2001:db8::1", dns: []string{"mail.example.com", "*.example.com"}, ips: []string{"192.0.2.1", "2001:db8::1"}},
		{name: "empty", in: ""},
		{name: "space inside", in: "mail example", wantErr: true},
		{name: "underscore", in: "a_b.example", wantErr: true},
		{name: "bad wildcard", in: "a.*.example", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dns, ips, err := parseSANs(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseSANs(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			}
			var gotIPs []string
			for _, ip := range ips {
				gotIPs = append(gotIPs, ip.String())
			}
			if d := cmp.Diff(tc.dns, dns); d != "" {
				t.Errorf("DNS names (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.ips, gotIPs); d != "" {
				t.Errorf("IP addresses (-want +got):\n%s", d)
			}
		})
	}
}

func TestTrustOptions(t *testing.T) {
	pem1, pem2 := "-----BEGIN CERTIFICATE-----\nA\n", "-----BEGIN CERTIFICATE-----\nB\n"
	custom := []store.CustomCA{{Name: "a", PEM: pem1}, {Name: "b", PEM: pem2}}
	for _, tc := range []struct {
		name string
		in   store.CAConfig
		want trust.Options
	}{
		{"factory", store.CAConfig{System: true}, trust.Options{System: true}},
		{"custom disabled", store.CAConfig{System: true, Custom: custom}, trust.Options{System: true}},
		{"custom only", store.CAConfig{CustomEnabled: true, Custom: custom}, trust.Options{Custom: [][]byte{[]byte(pem1), []byte(pem2)}}},
		{"nothing", store.CAConfig{}, trust.Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := TrustOptions(&store.Config{CA: tc.in})
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("TrustOptions (-want +got):\n%s", d)
			}
		})
	}
}

func TestDefaultName(t *testing.T) {
	for in, want := range map[string]string{"server.p12": "server", "my cert.pfx": "", "a.b.p12": "", "web-1.pfx": "web-1", "noext": "noext"} {
		if got := defaultName(in); got != want {
			t.Errorf("defaultName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSelfSigned(t *testing.T) {
	f := newChain(t)
	server, _ := makeCert(t, "self.example", false, nil, nil, from, to) // not a CA
	for _, tc := range []struct {
		name string
		in   *x509.Certificate
		want bool
	}{
		{"root CA", f.root, true},
		{"self-signed server certificate", server, true},
		{"intermediate", f.inter, false},
		{"leaf", f.leaf, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := selfSigned(tc.in); got != tc.want {
				t.Errorf("selfSigned(%s) = %v, want %v", tc.in.Subject.CommonName, got, tc.want)
			}
		})
	}
}

func TestPasteCertificates(t *testing.T) {
	const q = "Paste public certificate in PEM format (end with '.'):"
	tests := []struct {
		name, in   string
		want       string // the answer
		wantScreen string // after the question
		wantErr    bool
	}{
		{"certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n.\n",
			"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
			"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n.\n", false},
		{"key, then certificate", "-----BEGIN PRIVATE KEY-----\nSECRET\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n.\n",
			"-----BEGIN PRIVATE KEY-----\nSECRET\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
			"-----BEGIN PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n.\n", false},
		{"mangled BEGIN line", "  -----BEGIN RSA Private Key----\nSECRET\n-----END RSA PRIVATE KEY-----\n.\n",
			"  -----BEGIN RSA Private Key----\nSECRET\n-----END RSA PRIVATE KEY-----\n",
			"  -----BEGIN RSA Private Key----\n.\n", false},
		{"no END line: hidden up to the dot", "-----BEGIN EC PRIVATE KEY-----\nSECRET\nMORE\n.\n",
			"-----BEGIN EC PRIVATE KEY-----\nSECRET\nMORE\n",
			"-----BEGIN EC PRIVATE KEY-----\n", false},
		{"end of input inside a key", "-----BEGIN PRIVATE KEY-----\nSECRET\n", "", "-----BEGIN PRIVATE KEY-----\n", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			e := &shell.Env{Out: &out, In: shell.NewPlainReader(strings.NewReader(tc.in), &out)}
			got, err := pasteCertificates(e, q)
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, shell.ErrAbort)) {
				t.Fatalf("pasteCertificates(%q) error = %v, want error %v (ErrAbort)", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("pasteCertificates(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if d := cmp.Diff("\n"+q+"\n"+tc.wantScreen, out.String()); d != "" {
				t.Errorf("screen (-want +got):\n%s", d)
			}
			if strings.Contains(out.String(), "SECRET") {
				t.Errorf("the screen shows the key: %q", out.String())
			}
		})
	}
}

func TestBlockSummary(t *testing.T) {
	cert := "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
	key := func(typ string) string { return "-----BEGIN " + typ + "-----\nAAAA\n-----END " + typ + "-----\n" }
	tests := []struct {
		name, in, want string
	}{
		{"nothing", "not PEM\n", "Read no PEM block."},
		{"bundle", key("ENCRYPTED PRIVATE KEY") + cert + cert, "Read 3 PEM blocks: 2 certificates, 1 private key."},
		{"certificate only", cert, "Read 1 PEM block: 1 certificate."},
		{"EC parameters and keys", key("EC PARAMETERS") + key("EC PRIVATE KEY") + key("RSA PRIVATE KEY"), "Read 3 PEM blocks: 2 private keys, 1 other block."},
	}
	for _, tc := range tests {
		if got := blockSummary(pemBlocks(tc.in)); got != tc.want {
			t.Errorf("%s: blockSummary = %q, want %q", tc.name, got, tc.want)
		}
	}
}
