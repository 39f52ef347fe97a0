package certconfig_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"
	"golang.org/x/tools/txtar"

	"github.com/segcli/segcli/commands/certconfig"
	"github.com/segcli/segcli/commands/commit"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
	"github.com/segcli/segcli/transcripts"
)

var update = flag.Bool("update", false, "rewrite the transcripts replayed here with what the sessions print now")

// clock is the transcripts' default clock.
var clock = time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC)

// newShell opens a store in dir and returns a shell with certconfig and the lifecycle
// commands, reading from in and printing to out.
func newShell(t testing.TB, dir string, in shell.LineReader, out io.Writer, hostname string) *shell.Shell {
	t.Helper()
	fsys := afero.NewBasePathFs(afero.NewOsFs(), dir)
	st, err := store.Open(context.Background(), fsys, store.Options{
		Locker: store.FileLocker{Path: filepath.Join(dir, "config", ".lock")},
		Now:    func() time.Time { return clock }, User: "admin", Hostname: hostname,
		// The Demo certificate of the transcripts (transcripts/transcripts_test.go).
		DemoSeed: []byte("segcli transcripts"),
	})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := st.NewSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cmds := append(commit.Commands(), certconfig.Command())
	return shell.New(shell.Config{In: in, Out: out, Err: out, Session: sess, Fs: fsys, Now: func() time.Time { return clock }}, cmds...)
}

// runner replays a transcript with certconfig and the lifecycle commands.
func runner(dir string) transcripts.Runner {
	return func(ctx context.Context, tr *transcripts.Transcript, in shell.LineReader, out io.Writer) int {
		sh := newShell(nopTB{}, dir, in, out, tr.Hostname)
		if tr.Command != "" {
			return sh.RunBatch(ctx, tr.Command)
		}
		return sh.Run(ctx)
	}
}

// nopTB lets newShell run inside a Runner (its errors would show in the screen diff).
type nopTB struct{ testing.TB }

func (nopTB) Helper()                      {}
func (nopTB) Fatal(args ...any)            { panic(fmt.Sprint(args...)) }
func (nopTB) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

// scripted is a LineReader that answers from a list and echoes nothing, so that the
// output holds only what the commands printed.
type scripted struct {
	lines   []string
	secrets []string
}

func (s *scripted) ReadLine(prompt string, _ shell.Completer) (string, error) {
	if len(s.lines) == 0 {
		return "", io.EOF
	}
	l := s.lines[0]
	s.lines = s.lines[1:]
	return l, nil
}

func (s *scripted) ReadSecret(prompt string) (string, error) {
	if len(s.secrets) == 0 {
		return "", io.EOF
	}
	l := s.secrets[0]
	s.secrets = s.secrets[1:]
	return l, nil
}

func (s *scripted) AddHistory(string) {}
func (s *scripted) Close() error      { return nil }

// piped is standard input that is not a terminal, holding answers one a line: the
// plain reader echoes each line read with ReadLine to out, as segcli does.
func piped(answers []string, out io.Writer) shell.LineReader {
	text := ""
	if len(answers) > 0 {
		text = strings.Join(answers, "\n") + "\n"
	}
	return shell.NewPlainReader(strings.NewReader(text), out)
}

// lines splits PEM text (or several) into answer lines and ends the paste with ".".
func lines(texts ...string) []string {
	var out []string
	for _, t := range texts {
		out = append(out, strings.Split(strings.TrimRight(t, "\n"), "\n")...)
	}
	return append(out, ".")
}

// pki is test material: a root CA and certificates it issued, with their keys.
type pki struct {
	root    *x509.Certificate
	rootKey crypto.Signer
}

func date(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }

func newPKI(t testing.TB, cn string) pki {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: date(2026, 1, 1), NotAfter: date(2036, 1, 1),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return pki{root: c, rootKey: k}
}

// issue makes a server certificate for cn with key's public key.
func (p pki) issue(t testing.TB, cn string, key crypto.Signer, from, to time.Time) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: from, NotAfter: to,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.root, key.Public(), p.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func certText(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// openssl runs openssl; it fails the test when openssl is missing (it is installed on
// every machine of this project).
func openssl(t testing.TB, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func writeFile(t testing.TB, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// makeP12 writes a key, a certificate for p12.example.com issued by a test CA (fixed
// dates, so that the list reads the same every run) and the CA to dir, and has
// openssl bundle them into a PKCS#12 file protected by pass. extra are more openssl
// arguments (algorithms). It returns the file's bytes and the key.
func makeP12(t testing.TB, dir, pass string, extra ...string) ([]byte, crypto.Signer) {
	t.Helper()
	ca := newPKI(t, "segcli Test PKCS12 CA")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := ca.issue(t, "p12.example.com", key, date(2026, 1, 1), date(2028, 1, 1))
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "key.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	writeFile(t, filepath.Join(dir, "cert.pem"), certText(leaf))
	writeFile(t, filepath.Join(dir, "ca.pem"), certText(ca.root))
	args := append([]string{"pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-certfile", "ca.pem",
		"-passout", "pass:" + pass, "-out", "server.p12"}, extra...)
	openssl(t, dir, args...)
	data, err := os.ReadFile(filepath.Join(dir, "server.p12"))
	if err != nil {
		t.Fatal(err)
	}
	return data, key
}

// TestTranscripts replays transcripts/certconfig with certconfig and the lifecycle
// commands only, so that these dialogs are checked even while another command's
// package is being rebuilt (the transcripts package replays the .txt files with the
// whole command table too). import-pkcs12.txtar needs configuration/server.p12, which
// openssl makes here first: that is why it is a .txtar, which only this test reads.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("../../transcripts/certconfig/*.txt*")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("%d transcripts found, want the certconfig ones", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := transcripts.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			fixtures := len(tr.Files)
			if strings.HasSuffix(file, ".txtar") {
				p12, _ := makeP12(t, t.TempDir(), "s3cret")
				tr.Files = append(tr.Files, txtar.File{Name: "configuration/server.p12", Data: p12})
			}
			dir := t.TempDir()
			res, err := transcripts.Replay(context.Background(), tr, afero.NewBasePathFs(afero.NewOsFs(), dir), transcripts.Vars{}, runner(dir))
			if err != nil {
				t.Fatal(err)
			}
			if err := transcripts.Check(file, data, tr, res.Got); err != nil {
				if !*update {
					t.Fatal(err)
				}
				tr.Files = tr.Files[:fixtures]
				tr.Screen = res.Got
				if err := os.WriteFile(file, tr.Format(), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("updated %s", file)
			}
		})
	}
}

// TestNoPrivateKeyLeaks runs sessions that add keys every way certconfig can (paste
// of PKCS#1, SEC1, PKCS#8, encrypted PKCS#8 and legacy-encrypted keys, the batch
// paste, PKCS#12 import, NEW), then export, print, list, commit and saveconfig. No
// private key byte sequence may appear in the output, the committed TOML, the
// history or the configuration folder; key files are mode 0600.
func TestNoPrivateKeyLeaks(t *testing.T) {
	dir := t.TempDir()
	work := t.TempDir()
	ca := newPKI(t, "segcli Leak CA")

	type pair struct{ cert, key string }
	var pairs []pair
	var keys []crypto.Signer
	mk := func(name string, keyArgs ...string) pair {
		t.Helper()
		openssl(t, work, append([]string{"genpkey", "-out", name + ".key"}, keyArgs...)...)
		text, err := os.ReadFile(filepath.Join(work, name+".key"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode(text)
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		s := k.(crypto.Signer)
		keys = append(keys, s)
		p := pair{cert: certText(ca.issue(t, name+".example.com", s, date(2026, 1, 1), date(2027, 1, 1))), key: string(text)}
		pairs = append(pairs, p)
		return p
	}
	rsaP := mk("rsa", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048")
	ecP := mk("ec", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")
	edP := mk("ed", "-algorithm", "ED25519")
	// Other encodings of the same keys, as operators paste them.
	openssl(t, work, "rsa", "-in", "rsa.key", "-traditional", "-out", "rsa1.key")
	openssl(t, work, "ec", "-in", "ec.key", "-out", "sec1.key")
	openssl(t, work, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "ed.key", "-passout", "pass:pw", "-out", "ed-enc.key")
	openssl(t, work, "rsa", "-in", "rsa.key", "-traditional", "-aes256", "-passout", "pass:pw", "-out", "rsa-legacy.key")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(work, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	p12, p12Key := makeP12(t, work, "pw")
	keys = append(keys, p12Key)
	if err := os.MkdirAll(filepath.Join(dir, "configuration"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "configuration", "server.p12"), p12, 0o600); err != nil {
		t.Fatal(err)
	}

	// The session is piped, as from a script: one stream of answers read by the
	// plain reader, which echoes every line it reads with ReadLine to the output.
	var in []string
	paste := func(name string, cert, key string, pass ...string) {
		in = append(in, "certconfig", "certificate", "paste", name)
		in = append(in, lines(cert)...)
		in = append(in, "n")
		in = append(in, lines(key)...)
		in = append(in, pass...)
		in = append(in, "", "")
	}
	paste("rsa8", rsaP.cert, rsaP.key)
	paste("rsa1", rsaP.cert, read("rsa1.key"))
	paste("ec8", ecP.cert, ecP.key)
	paste("sec1", ecP.cert, read("sec1.key"))
	paste("ed", edP.cert, edP.key)
	paste("edenc", edP.cert, read("ed-enc.key"), "pw")
	paste("legacy", rsaP.cert, read("rsa-legacy.key"), "pw")
	// The whole bundle pasted by mistake at the certificate question: refused, and
	// the key is not shown; then the right answers.
	in = append(in, "certconfig", "certificate", "paste", "mistake")
	in = append(in, lines(rsaP.cert, read("rsa1.key"))...)
	in = append(in, lines(ecP.key)...)
	in = append(in, lines(ecP.cert)...)
	in = append(in, "n")
	in = append(in, lines(ecP.key)...)
	in = append(in, "", "")
	in = append(in, "certconfig certificate paste batch")
	in = append(in, lines(ecP.key, ecP.cert)...)
	in = append(in, "certconfig", "certificate", "import", "server.p12", "pw", "p12", "", "")
	in = append(in, "certconfig", "certificate", "new", "made", "made.example.com", "", "", "", "", "", "", "1", "1", "", "y", "", "")
	in = append(in, "certconfig", "certificate", "print", "", "")
	for _, n := range []string{"rsa8", "ec8", "ed", "p12", "made"} {
		in = append(in, "certconfig certificate export "+n)
	}
	in = append(in, "certconfig certificate list", "certconfig certauthority custom list", "showchanges", "commit keys", "saveconfig saved.toml")
	var out bytes.Buffer
	sh := newShell(t, dir, piped(in, &out), &out, "esa.test")
	if status := sh.Run(context.Background()); status != 0 {
		t.Fatalf("session exit status %d:\n%s", status, out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "configuration", "saved.toml")); err != nil {
		t.Fatalf("the session did not reach its last command (%v):\n%s", err, out.String())
	}

	// `segcli -c "certconfig certificate paste NAME; certconfig; ..." < FILE`: the
	// batch paste and the dialog from one piped standard input, with a plain key
	// and an encrypted one (its pass phrase on the line after ".").
	in = lines(read("sec1.key"), ecP.cert)
	in = append(in, "certificate", "paste", "dialog")
	in = append(in, lines(rsaP.cert)...)
	in = append(in, "n")
	in = append(in, lines(read("rsa1.key"))...)
	in = append(in, "", "")
	in = append(in, lines(rsaP.cert, read("rsa-legacy.key"))...)
	in = append(in, "pw")
	var cOut bytes.Buffer
	sh = newShell(t, dir, piped(in, &cOut), &cOut, "esa.test")
	if status := sh.RunBatch(context.Background(), "certconfig certificate paste piped; certconfig; certconfig certificate paste piped2"); status != 0 {
		t.Fatalf("-c session exit status %d:\n%s", status, cOut.String())
	}
	for _, want := range []string{`Certificate profile "piped" added.`, `Certificate profile "dialog" added.`, `Certificate profile "piped2" added.`} {
		if !strings.Contains(cOut.String(), want) {
			t.Errorf("the -c session did not print %q:\n%s", want, cOut.String())
		}
	}
	// No line of a pasted key's body (encrypted ones too) is on the screen.
	for _, name := range []string{"rsa.key", "rsa1.key", "ec.key", "sec1.key", "ed.key", "ed-enc.key", "rsa-legacy.key"} {
		for place, data := range map[string]string{"piped session": out.String(), "-c session": cOut.String()} {
			n := 0
			for _, l := range strings.Split(read(name), "\n") {
				if len(l) >= 40 && !strings.HasPrefix(l, "-----") && strings.Contains(data, l) {
					n++
				}
			}
			if n > 0 {
				t.Errorf("the %s shows %s of %s", place, plural(n, "line"), name)
			}
		}
	}

	// Every profile is there.
	got, err := os.ReadFile(filepath.Join(dir, "config", "running.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"rsa8", "rsa1", "ec8", "sec1", "ed", "edenc", "legacy", "mistake", "batch", "p12", "made"} {
		if !bytes.Contains(got, []byte(`name = "`+n+`"`)) {
			t.Errorf("profile %s is not in the committed configuration; session:\n%s", n, out.String())
		}
	}

	// Key files: mode 0600, and the key made by NEW is among them.
	keyFiles, err := filepath.Glob(filepath.Join(dir, "keys", "*.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if len(keyFiles) < 6 {
		t.Errorf("%d key files, want at least 6 (Demo, RSA, EC, Ed25519, PKCS#12, NEW)", len(keyFiles))
	}
	for _, f := range keyFiles {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, fi.Mode().Perm())
		}
		text, _ := os.ReadFile(f)
		b, _ := pem.Decode(text)
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		keys = append(keys, k.(crypto.Signer))
	}

	// The places a key must never be.
	places := map[string][]byte{"piped session output": out.Bytes(), "-c session output": cOut.Bytes()}
	for _, pattern := range []string{"config/*.toml", "config/history/*.toml", "configuration/*"} {
		files, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, f := range files {
			if filepath.Base(f) == "server.p12" {
				continue // the operator's own file
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			places[f] = b
		}
	}
	for _, k := range keys {
		found := make(map[string][]string)
		for what, seq := range keySequences(t, k) {
			for place, data := range places {
				if bytes.Contains(data, seq) {
					found[place] = append(found[place], what)
				}
			}
		}
		for place, what := range found {
			sort.Strings(what)
			t.Errorf("%s of a %T private key found in %s: %s", plural(len(what), "sequence"), k, place, strings.Join(what, ", "))
		}
	}
	// The exports hold certificates only.
	for _, n := range []string{"rsa8", "ec8", "ed", "p12", "made"} {
		b, err := os.ReadFile(filepath.Join(dir, "configuration", n+".pem"))
		if err != nil {
			t.Fatalf("export %s: %v", n, err)
		}
		if bytes.Contains(b, []byte("PRIVATE KEY")) {
			t.Errorf("export %s holds a private key", n)
		}
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// keySequences returns byte sequences that only the private key k has: its DER in
// every encoding, those encodings' base64 lines as PEM writes them, and the secret
// numbers themselves.
func keySequences(t testing.TB, k crypto.Signer) map[string][]byte {
	t.Helper()
	out := make(map[string][]byte)
	add := func(what string, der []byte) {
		out[what+" DER"] = der
		text := pem.EncodeToMemory(&pem.Block{Type: "X", Bytes: der})
		for i, l := range bytes.Split(text, []byte("\n")) {
			if len(l) >= 40 && !bytes.HasPrefix(l, []byte("-----")) {
				out[fmt.Sprintf("%s PEM line %d", what, i)] = l
			}
		}
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	add("PKCS#8", der)
	switch k := k.(type) {
	case ed25519.PrivateKey:
		out["Ed25519 seed"] = k.Seed()
	case *ecdsa.PrivateKey:
		sec1, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		add("SEC1", sec1)
		out["ECDSA scalar"] = k.D.Bytes()
	case *rsa.PrivateKey:
		add("PKCS#1", x509.MarshalPKCS1PrivateKey(k))
		out["RSA private exponent"] = k.D.Bytes()
		out["RSA prime"] = k.Primes[0].Bytes()
	default:
		t.Fatalf("unexpected key type %T", k)
	}
	return out
}

// TestEndOfInputChangesNothing cuts each dialog's answers short at every point (the
// answers are piped, pass phrases and key lines included, as a script gives them):
// the session ends there, the candidate is unchanged and no key was written.
func TestEndOfInputChangesNothing(t *testing.T) {
	work := t.TempDir()
	ca := newPKI(t, "segcli Abort CA")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := certText(ca.issue(t, "abort.example.com", key, date(2026, 1, 1), date(2027, 1, 1)))
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyText := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	p12, _ := makeP12(t, work, "pw")
	dialogs := []struct {
		name    string
		answers []string
	}{
		{"paste", append(append(append([]string{"certconfig", "certificate", "paste", "web"}, lines(cert)...), "y"), append(lines(certText(ca.root)), lines(keyText)...)...)},
		{"import", []string{"certconfig", "certificate", "import", "server.p12", "pw", "server"}},
		{"new", []string{"certconfig", "certificate", "new", "made", "made.example.com", "Org", "Unit", "City", "State", "US", "30", "2", "1", "made.example.com", "n"}},
		{"delete", []string{"certconfig", "certificate", "delete", "2", "y"}},
		{"custom import", []string{"certconfig", "certauthority", "custom", "import", "ca.pem", "y"}},
		{"system", []string{"certconfig", "certauthority", "system", "y"}},
		{"batch paste", append([]string{"certconfig certificate paste web"}, strings.Split(strings.TrimSpace(cert+keyText), "\n")...)},
	}
	for _, d := range dialogs {
		t.Run(d.name, func(t *testing.T) {
			// The full answers change something (else the test proves nothing)...
			for n := 0; n <= len(d.answers); n++ {
				dir := t.TempDir()
				seed := append([]string{"certconfig certificate paste spare"}, lines(cert, keyText)...)
				seed = append(seed, "commit seed")
				var out bytes.Buffer
				if st := newShell(t, dir, piped(seed, &out), &out, "esa.test").Run(context.Background()); st != 0 {
					t.Fatalf("seed session: %d\n%s", st, out.String())
				}
				if err := os.MkdirAll(filepath.Join(dir, "configuration"), 0o700); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(dir, "configuration", "ca.pem"), certText(ca.root))
				if err := os.WriteFile(filepath.Join(dir, "configuration", "server.p12"), p12, 0o600); err != nil {
					t.Fatal(err)
				}
				before, _ := filepath.Glob(filepath.Join(dir, "keys", "*"))
				out.Reset()
				sh := newShell(t, dir, piped(d.answers[:n], &out), &out, "esa.test")
				sh.Run(context.Background())
				pending, err := sh.Env().Session.Pending()
				if err != nil {
					t.Fatal(err)
				}
				after, _ := filepath.Glob(filepath.Join(dir, "keys", "*"))
				if n < len(d.answers) {
					if pending {
						t.Errorf("input ended after %d of %d answers: the candidate changed\n%s", n, len(d.answers), out.String())
					}
					if len(after) != len(before) {
						t.Errorf("input ended after %d of %d answers: %d key files, want %d", n, len(d.answers), len(after), len(before))
					}
				} else if !pending {
					t.Errorf("all %d answers: nothing changed\n%s", n, out.String())
				}
			}
		})
	}
}

// TestBatchPasteEncrypted reads the pass phrase after the "." line; a wrong one or
// none is refused and nothing is stored.
func TestBatchPasteEncrypted(t *testing.T) {
	work := t.TempDir()
	ca := newPKI(t, "segcli Batch CA")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := certText(ca.issue(t, "batch.example.com", key, date(2026, 1, 1), date(2027, 1, 1)))
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	writeFile(t, filepath.Join(work, "k.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	openssl(t, work, "pkcs8", "-topk8", "-v2", "aes-128-cbc", "-in", "k.pem", "-passout", "pass:right", "-out", "enc.pem")
	enc, err := os.ReadFile(filepath.Join(work, "enc.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		secrets []string
		want    string
		wantErr bool
	}{
		{"right", []string{"right"}, `Certificate profile "web" added.`, false},
		{"wrong", []string{"wrong"}, "The pass phrase is not correct: nothing was stored.", true},
		{"none", nil, `The private key is encrypted: give its pass phrase on the line after a line holding only ".".`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			sh := newShell(t, t.TempDir(), piped(append(lines(string(enc), cert), tc.secrets...), &out), &out, "esa.test")
			status := sh.RunBatch(context.Background(), "certconfig certificate paste web")
			if (status != 0) != tc.wantErr || !strings.Contains(out.String(), tc.want) {
				t.Errorf("status %d, output:\n%s\nwant status error %v and %q", status, out.String(), tc.wantErr, tc.want)
			}
			pending, _ := sh.Env().Session.Pending()
			if pending == tc.wantErr {
				t.Errorf("pending = %v after %s", pending, tc.name)
			}
		})
	}
}

// TestImportPKCS12Compat imports a PKCS#12 file in the older SHA-1/3DES format that
// many appliances and Windows write.
func TestImportPKCS12Compat(t *testing.T) {
	dir := t.TempDir()
	p12, _ := makeP12(t, t.TempDir(), "pw", "-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1")
	if err := os.MkdirAll(filepath.Join(dir, "configuration"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "configuration", "old.p12"), p12, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sh := newShell(t, dir, &scripted{secrets: []string{"pw"}}, &out, "esa.test")
	if st := sh.RunBatch(context.Background(), "certconfig certificate import old.p12 old; certconfig certificate list"); st != 0 {
		t.Fatalf("status %d:\n%s", st, out.String())
	}
	if !strings.Contains(out.String(), "old       p12.example.com  segcli Test PKCS12 CA  Active    397 days") {
		t.Errorf("the list does not show the imported certificate:\n%s", out.String())
	}
	c := sh.Env().Session.Config()
	if _, err := sh.Env().Session.TLSCertificate(context.Background(), c.Certificates[c.CertificateIndex("old")]); err != nil {
		t.Errorf("TLSCertificate(old): %v", err)
	}
}

// TestCustomImportRefuses covers the custom CA checks the transcript does not show.
func TestCustomImportRefuses(t *testing.T) {
	dir := t.TempDir()
	ca := newPKI(t, "segcli Good CA")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	noSign := &x509.Certificate{
		SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "No Sign CA"},
		NotBefore: date(2026, 1, 1), NotAfter: date(2030, 1, 1), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, noSign, noSign, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	files := map[string]string{
		"nosign.pem":  string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		"withkey.pem": certText(ca.root) + string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})),
		"twice.pem":   certText(ca.root) + certText(ca.root),
		"empty.pem":   "nothing here\n",
		"good.pem":    certText(ca.root),
	}
	if err := os.MkdirAll(filepath.Join(dir, "configuration"), 0o700); err != nil {
		t.Fatal(err)
	}
	for n, text := range files {
		writeFile(t, filepath.Join(dir, "configuration", n), text)
	}
	for _, tc := range []struct {
		name, file, want string
		wantErr          bool
	}{
		{"key usage without certificate signing", "nosign.pem", "may not sign certificates", true},
		{"private key in the file", "withkey.pem", "holds a private key", true},
		{"twice in the file", "twice.pem", "is twice in twice.pem", true},
		{"no certificate", "empty.pem", "holds no certificate", true},
		{"file name with a folder", "../x.pem", "is not a file name", true},
		{"good", "good.pem", "1 certificate imported", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			sh := newShell(t, dir, &scripted{}, &out, "esa.test")
			st := sh.RunBatch(context.Background(), "certconfig certauthority custom import "+tc.file)
			if (st != 0) != tc.wantErr || !strings.Contains(out.String(), tc.want) {
				t.Errorf("status %d, output:\n%s\nwant error %v and %q", st, out.String(), tc.wantErr, tc.want)
			}
			if strings.Contains(out.String(), "PRIVATE KEY") {
				t.Errorf("output shows a private key:\n%s", out.String())
			}
			if pending, _ := sh.Env().Session.Pending(); pending == tc.wantErr {
				t.Errorf("pending = %v", pending)
			}
		})
	}
}

// TestHelp checks that help names every batch form.
func TestHelp(t *testing.T) {
	var out bytes.Buffer
	sh := newShell(t, t.TempDir(), &scripted{}, &out, "esa.test")
	if st := sh.RunBatch(context.Background(), "help certconfig"); st != 0 {
		t.Fatalf("status %d", st)
	}
	for _, want := range []string{"certificate paste NAME", "certauthority custom import FILE", "certificate list"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help certconfig does not mention %q:\n%s", want, out.String())
		}
	}
}
