package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// secKey is a private key of the security tests and the certificate for it.
type secKey struct {
	key  *ecdsa.PrivateKey
	pem  string // PKCS#8 PEM
	cert string // certificate PEM
}

func newSecKey(t *testing.T, cn string) secKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return secKey{key: k,
		pem:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})),
		cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// keyForms returns the forms in which a private key's bytes could leak: the PEM
// body lines, the DER (PKCS#8 and SEC1) raw, as one base64 string, and in hex (both
// cases), and the secret numbers raw and in hex.
func keyForms(t *testing.T, k crypto.Signer) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	p8, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	ders := map[string][]byte{"PKCS#8": p8}
	secrets := map[string][]byte{}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		if ders["SEC1"], err = x509.MarshalECPrivateKey(k); err != nil {
			t.Fatal(err)
		}
		if secrets["scalar"], err = k.Bytes(); err != nil {
			t.Fatal(err)
		}
	case *rsa.PrivateKey:
		ders["PKCS#1"] = x509.MarshalPKCS1PrivateKey(k)
		secrets["private exponent"] = k.D.Bytes()
		secrets["prime"] = k.Primes[0].Bytes()
	default:
		t.Fatalf("unexpected key type %T", k)
	}
	for name, der := range ders {
		out[name+" DER"] = der
		out[name+" base64"] = []byte(base64.StdEncoding.EncodeToString(der))
		out[name+" hex"] = []byte(hex.EncodeToString(der))
		out[name+" HEX"] = []byte(strings.ToUpper(hex.EncodeToString(der)))
		text := pem.EncodeToMemory(&pem.Block{Type: "X", Bytes: der})
		for i, l := range bytes.Split(text, []byte("\n")) {
			if len(l) >= 40 && !bytes.HasPrefix(l, []byte("-----")) {
				out[fmt.Sprintf("%s PEM line %d", name, i)] = l
			}
		}
	}
	for name, b := range secrets {
		out[name] = b
		out[name+" hex"] = []byte(hex.EncodeToString(b))
	}
	return out
}

// pasteAnswers are the answers of `certconfig` > CERTIFICATE > PASTE for k.
func pasteAnswers(name string, k secKey) []string {
	in := []string{"certconfig", "certificate", "paste", name}
	in = append(in, strings.Split(strings.TrimRight(k.cert, "\n"), "\n")...)
	in = append(in, ".", "n")
	in = append(in, strings.Split(strings.TrimRight(k.pem, "\n"), "\n")...)
	return append(in, ".", "", "")
}

// TestNoKeyBytesAnywhere is the security review of private keys, written as a test
// of segcli as it runs: keys pasted (dialog and batch form), generated (NEW) and
// imported (PKCS#12), then exported, listed, committed and saved, in a piped
// session and on a terminal. Bound: no form of any private key (PEM lines, DER,
// base64, hex, the secret scalar) is in standard output, standard error, the
// terminal screen, the line editor's history, mail_logs, or any file of the data
// directory other than the key's own file in keys/; every key file is mode 0600 and
// the keys/ folder and the data directory are not readable by others (checked
// after each path that writes a key).
func TestNoKeyBytesAnywhere(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // made by segcli, with its mode
	work := t.TempDir()
	pasted, batch, typed := newSecKey(t, "pasted.example.com"), newSecKey(t, "batch.example.com"), newSecKey(t, "typed.example.com")
	p12Key := newSecKey(t, "p12.example.com")
	for name, text := range map[string]string{"key.pem": p12Key.pem, "cert.pem": p12Key.cert} {
		if err := os.WriteFile(filepath.Join(work, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("openssl", "pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-passout", "pass:pw", "-out", "server.p12")
	cmd.Dir = work
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl pkcs12: %v\n%s", err, out)
	}
	if _, stderr, code := segcli(t, "", "--data-dir", dir, "-c", "help"); code != 0 {
		t.Fatal(stderr)
	}
	checkKeyModes(t, dir, "factory defaults (Demo key)", 1)
	p12, err := os.ReadFile(filepath.Join(work, "server.p12"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "configuration"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "configuration", "server.p12"), p12, 0o600); err != nil {
		t.Fatal(err)
	}

	outputs := map[string][]byte{}
	// 1. Paste in the dialog (piped: the plain reader echoes what it reads, except
	// secrets).
	out, errs, code := segcli(t, strings.Join(append(pasteAnswers("pasted", pasted), "commit pasted"), "\n")+"\n", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, `Certificate profile "pasted" added.`) {
		t.Fatalf("paste: exit %d\n%s%s", code, out, errs)
	}
	outputs["paste stdout"], outputs["paste stderr"] = []byte(out), []byte(errs)
	checkKeyModes(t, dir, "paste", 2)
	// 2. The batch paste under -c, key and certificate on standard input.
	out, errs, code = segcli(t, batch.pem+batch.cert+".\n", "--data-dir", dir, "-c", `certconfig certificate paste batch; commit "batch"`)
	if code != 0 {
		t.Fatalf("batch paste: exit %d\n%s%s", code, out, errs)
	}
	outputs["batch stdout"], outputs["batch stderr"] = []byte(out), []byte(errs)
	checkKeyModes(t, dir, "batch paste", 3)
	// 3. Import of a PKCS#12 file, a key generated by NEW, exports, list, print,
	// saveconfig.
	in := []string{"certconfig", "certificate", "import", "server.p12", "pw", "p12", "", ""}
	in = append(in, "certconfig", "certificate", "new", "made", "made.example.com", "", "", "", "", "", "", "1", "1", "", "y", "", "")
	in = append(in, "certconfig", "certificate", "print", "", "")
	for _, n := range []string{"pasted", "batch", "p12", "made"} {
		in = append(in, "certconfig certificate export "+n)
	}
	in = append(in, "certconfig certificate list", "showchanges", "commit more keys", "saveconfig saved.toml")
	out, errs, code = segcli(t, strings.Join(in, "\n")+"\n", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "saved.toml has been saved") {
		t.Fatalf("import/new/export: exit %d\n%s%s", code, out, errs)
	}
	outputs["import stdout"], outputs["import stderr"] = []byte(out), []byte(errs)
	checkKeyModes(t, dir, "import and new", 5)
	// 4. A paste typed on a terminal: the screen and the history file.
	s := startTTY(t, "--data-dir", dir)
	pos := s.waitFor(0, "esa.test> ")
	for _, a := range pasteAnswers("typed", typed) {
		s.send(a + "\r")
		time.Sleep(20 * time.Millisecond) // the line editor reads line by line
	}
	pos = s.waitFor(pos, `Certificate profile "typed" added.`)
	pos = s.waitFor(pos, "esa.test> ")
	s.send("commit typed\r")
	pos = s.waitFor(pos, "Changes committed: ")
	s.send("exit\r")
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("terminal session: %v\n%s", err, s.screen())
	}
	outputs["terminal screen"] = []byte(s.screen())
	checkKeyModes(t, dir, "terminal paste", 6)
	if _, err := os.Stat(filepath.Join(dir, "history")); err != nil {
		t.Fatalf("the terminal session kept no history file: %v", err)
	}

	// Every key: the four made here and those segcli generated (Demo, NEW), read
	// back from keys/.
	keyFiles, err := filepath.Glob(filepath.Join(dir, "keys", "*.pem"))
	if err != nil || len(keyFiles) != 6 {
		t.Fatalf("key files %v, %v; want 6 (Demo, pasted, batch, p12, made, typed)", keyFiles, err)
	}
	keys := map[string]crypto.Signer{}
	for _, f := range keyFiles {
		text, _ := os.ReadFile(f)
		b, _ := pem.Decode(text)
		if b == nil {
			t.Fatalf("%s is not PEM", f)
		}
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		keys[f] = k.(crypto.Signer)
	}
	for name, mine := range map[string]secKey{"pasted": pasted, "batch": batch, "typed": typed, "p12": p12Key} {
		found := false
		for _, k := range keys {
			found = found || mine.key.Equal(k)
		}
		if !found {
			t.Errorf("the key of %s is not in keys/", name)
		}
	}

	// The places a key must never be: the outputs, and every file of the data
	// directory but the key files (the operator's own PKCS#12 file aside).
	places := outputs
	scanned := 0
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == filepath.Join("configuration", "server.p12") || keys[p] != nil {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		places[rel] = b
		scanned++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"history", filepath.Join("logs", "mail_logs"), filepath.Join("config", "running.toml"), filepath.Join("configuration", "saved.toml"), filepath.Join("configuration", "made.pem")} {
		if _, ok := places[must]; !ok {
			t.Errorf("%s was not scanned (not written?)", must)
		}
	}
	nforms := 0
	for f, k := range keys {
		forms := keyForms(t, k)
		nforms += len(forms)
		own, _ := os.ReadFile(f)
		if !bytes.Contains(own, forms["PKCS#8 PEM line 1"]) {
			t.Errorf("%s does not hold its own key's PEM: the scan would prove nothing", f)
		}
		for place, data := range places {
			for what, seq := range forms {
				if bytes.Contains(data, seq) {
					t.Errorf("%s of the key in %s found in %s", what, filepath.Base(f), place)
				}
			}
		}
	}
	t.Logf("%d keys, %d byte sequences, searched in %d outputs and %d files of the data directory", len(keys), nforms, len(places)-scanned, scanned)
}

// checkKeyModes checks that the data directory has n key files, each mode 0600, in
// a keys/ folder and a data directory that others cannot read.
func checkKeyModes(t *testing.T, dir, after string, n int) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "keys", "*"))
	if len(files) != n {
		t.Errorf("after %s: %d files in keys/, want %d", after, len(files), n)
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 || !fi.Mode().IsRegular() {
			t.Errorf("after %s: %s has mode %v, want 0600", after, filepath.Base(f), fi.Mode())
		}
	}
	for _, d := range []string{dir, filepath.Join(dir, "keys")} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("after %s: %s has mode %v: readable by others", after, d, fi.Mode().Perm())
		}
	}
}
