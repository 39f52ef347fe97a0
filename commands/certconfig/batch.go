package certconfig

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// takeFlag removes --name from args and reports whether it was there.
func takeFlag(args []string, name string) ([]string, bool) {
	var out []string
	found := false
	for _, a := range args {
		if a == "--"+name {
			found = true
			continue
		}
		out = append(out, a)
	}
	return out, found
}

// batchCertificate runs `certconfig certificate OP ...`.
func batchCertificate(ctx context.Context, e *shell.Env, args []string) error {
	args, overwrite := takeFlag(args, "overwrite")
	op, rest := strings.ToLower(args[0]), args[1:]
	switch {
	case op == "list" && len(rest) == 0:
		return printList(e)
	case op == "print" && len(rest) == 0:
		return printUses(e)
	case op == "paste" && len(rest) == 1:
		return batchPaste(ctx, e, rest[0], overwrite)
	case op == "import" && len(rest) == 2:
		return batchImport(ctx, e, rest[0], rest[1], overwrite)
	case op == "export" && (len(rest) == 1 || len(rest) == 2):
		c := e.Session.Config()
		i := c.CertificateIndex(rest[0])
		if i < 0 {
			return refuse("There is no certificate profile %q: \"certconfig certificate list\" shows them.", rest[0])
		}
		file := rest[0] + ".pem"
		if len(rest) == 2 {
			file = rest[1]
		}
		return exportProfile(e, c.Certificates[i], file)
	case op == "delete" && len(rest) == 1:
		return deleteProfile(e, rest[0])
	}
	return usageError()
}

// checkNewName checks the NAME of a batch form: valid, and new unless overwrite.
func checkNewName(e *shell.Env, name string, overwrite bool) error {
	if err := store.ValidProfileName(name); err != nil {
		return refuse("certconfig: certificate profile name %q: %v", name, err)
	}
	if !overwrite && e.Session.Config().CertificateIndex(name) >= 0 {
		return refuse("A certificate profile named %q already exists: give --overwrite to replace it, or choose another name.", name)
	}
	return nil
}

// qBundle is what the batch form of PASTE reads.
const qBundle = "Paste the certificate, its intermediate certificates and the private key in PEM format (end with '.'):"

// readBlocks reads standard input up to its end or a line ".". No line is echoed:
// the input holds a private key, and a plain reader would otherwise print every line
// it reads (`segcli -c "certconfig certificate paste NAME" < bundle.pem`).
func readBlocks(e *shell.Env) (string, error) {
	var b strings.Builder
	for {
		line, err := e.In.ReadSecret("")
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		}
		if errors.Is(err, shell.ErrInterrupt) {
			return "", fmt.Errorf("%w: %w", shell.ErrAbort, err)
		}
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(line) == "." {
			return b.String(), nil
		}
		if b.Len()+len(line) > maxFile {
			return "", refuse("The input is longer than %d KiB: give the certificate, its intermediates and the private key only.", maxFile>>10)
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
}

// blockSummary is the line that stands for the input of the batch paste on the
// screen: "Read 3 PEM blocks: 2 certificates, 1 private key."
func blockSummary(blocks []*pem.Block) string {
	if len(blocks) == 0 {
		return "Read no PEM block."
	}
	var certs, keys, other int
	for _, b := range blocks {
		switch {
		case b.Type == "CERTIFICATE":
			certs++
		case isKeyBlock(b):
			keys++
		default:
			other++
		}
	}
	var parts []string
	if certs > 0 {
		parts = append(parts, plural(certs, "certificate"))
	}
	if keys > 0 {
		parts = append(parts, plural(keys, "private key"))
	}
	if other > 0 {
		parts = append(parts, plural(other, "other block"))
	}
	return fmt.Sprintf("Read %s: %s.", plural(len(blocks), "PEM block"), strings.Join(parts, ", "))
}

// batchPaste is `certconfig certificate paste NAME`: the certificate, the
// intermediates and the private key as PEM blocks on standard input, in any order.
// The certificate is the one the key belongs to; the others must be its chain. The
// input is read without echo (it holds the key) and a summary line stands for it.
func batchPaste(ctx context.Context, e *shell.Env, name string, overwrite bool) error {
	if err := checkNewName(e, name, overwrite); err != nil {
		return err
	}
	fmt.Fprintf(e.Out, "\n%s\n", qBundle)
	text, err := readBlocks(e)
	if err != nil {
		return err
	}
	blocks := pemBlocks(text)
	fmt.Fprintln(e.Out, blockSummary(blocks))
	var certs []*x509.Certificate
	var keys []*pem.Block
	for _, b := range blocks {
		switch {
		case b.Type == "EC PARAMETERS":
		case b.Type == "OPENSSH PRIVATE KEY":
			return refuse("The input holds an OpenSSH key: convert it to PEM with \"ssh-keygen -p -m PEM -f FILE\". Nothing was stored.")
		case isKeyBlock(b):
			keys = append(keys, b)
		case b.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return refuse("Certificate %d of the input could not be read (%v): nothing was stored.", len(certs)+1, err)
			}
			certs = append(certs, c)
		default:
			return refuse("The input holds a %s block: give the certificate, its intermediates and the private key as PEM. Nothing was stored.", b.Type)
		}
	}
	if len(certs) == 0 {
		return refuse("The input holds no certificate in PEM format: nothing was stored.")
	}
	if len(keys) != 1 {
		return refuse("The input holds %s: give exactly one, the key of the certificate. Nothing was stored.", plural(len(keys), "private key"))
	}
	key, err := unlockKey(e, keys[0], qKeyPass, 1)
	switch {
	case errors.Is(err, shell.ErrAbort) && !errors.Is(err, shell.ErrInterrupt):
		return refuse("The private key is encrypted: give its pass phrase on the line after a line holding only \".\". Nothing was stored.")
	case err != nil:
		var r *refusal
		if errors.As(err, &r) {
			return err
		}
		return refuse("%s Nothing was stored.", err)
	}
	leaf := -1
	for i, c := range certs {
		if keyMatches(c, key) {
			leaf = i
			break
		}
	}
	if leaf < 0 {
		return errMismatch()
	}
	others := append(append([]*x509.Certificate(nil), certs[:leaf]...), certs[leaf+1:]...)
	chain, unrelated := orderChain(certs[leaf], others)
	if len(unrelated) > 0 {
		return refuse("The certificates are not a chain: %q did not issue %q or its issuers. Nothing was stored.", subjectName(unrelated[0].Subject), subjectName(certs[leaf].Subject))
	}
	warn(e, append([]*x509.Certificate{certs[leaf]}, chain...))
	replaced, err := install(ctx, e, store.Certificate{Name: name, CertPEM: certPEM(certs[leaf]), ChainPEM: certPEM(chain...)}, key)
	if err != nil {
		return err
	}
	installed(e, name, replaced)
	return nil
}

// batchImport is `certconfig certificate import FILE NAME`: the pass phrase is read
// from standard input.
func batchImport(ctx context.Context, e *shell.Env, file, name string, overwrite bool) error {
	if err := checkNewName(e, name, overwrite); err != nil {
		return err
	}
	data, err := readConfigFile(e, file)
	if err != nil {
		return err
	}
	pass, err := e.P.Secret(qP12Pass)
	if errors.Is(err, shell.ErrAbort) && !errors.Is(err, shell.ErrInterrupt) {
		return refuse("Give the pass phrase of %s on standard input (an empty line for none). Nothing was stored.", file)
	}
	if err != nil {
		return err
	}
	f, err := decodeP12(data, pass)
	if errors.Is(err, errPassphrase) {
		return refuse("The pass phrase of %s is not correct: nothing was stored.", file)
	}
	if err != nil {
		return refuse("%s", err)
	}
	warnP12(e, f)
	replaced, err := install(ctx, e, store.Certificate{Name: name, CertPEM: certPEM(f.leaf), ChainPEM: certPEM(f.chain...)}, f.key)
	if err != nil {
		return err
	}
	installed(e, name, replaced)
	return nil
}

// batchAuthority runs `certconfig certauthority system|custom OP ...`.
func batchAuthority(ctx context.Context, e *shell.Env, args []string) error {
	list, op, rest := strings.ToLower(args[0]), "", []string(nil)
	if len(args) > 1 {
		op, rest = strings.ToLower(args[1]), args[2:]
	}
	switch {
	case list == "system" && op == "":
		return systemDialog(ctx, e)
	case list == "system" && op == "enable" && len(rest) == 0:
		setSystem(e, true)
		return nil
	case list == "system" && op == "disable" && len(rest) == 0:
		setSystem(e, false)
		return nil
	case list == "custom" && op == "":
		return customMenu(ctx, e)
	case list == "custom" && op == "enable" && len(rest) == 0:
		setCustom(e, true)
		return nil
	case list == "custom" && op == "disable" && len(rest) == 0:
		setCustom(e, false)
		return nil
	case list == "custom" && op == "list" && len(rest) == 0:
		return listCustom(e)
	case list == "custom" && op == "import" && len(rest) == 1:
		data, err := readConfigFile(e, rest[0])
		if err != nil {
			return err
		}
		certs, err := checkCAs(e, rest[0], data)
		if err != nil {
			return err
		}
		addCustom(e, certs, false)
		if !e.Session.Config().CA.CustomEnabled {
			fmt.Fprintln(e.Out, "The custom CA list is disabled: \"certconfig certauthority custom enable\" enables it.")
		}
		return nil
	case list == "custom" && op == "export" && len(rest) == 1:
		return exportCustom(e, rest[0])
	case list == "custom" && op == "delete" && len(rest) == 1:
		n, err := strconv.Atoi(rest[0])
		if err != nil {
			return refuse("%q is not a number: \"certconfig certauthority custom list\" shows the numbers.", rest[0])
		}
		return deleteCustom(e, n)
	}
	return usageError()
}
