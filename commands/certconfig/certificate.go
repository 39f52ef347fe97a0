package certconfig

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// The questions of the certificate dialogs (reference/dialogs.md, certconfig).
const (
	qProfileName  = "Enter a name for this certificate profile:"
	qCertificate  = "Paste public certificate in PEM format (end with '.'):"
	qAddInter     = "Do you want to add an intermediate certificate?"
	qAddInterMore = "Do you want to add another intermediate certificate?"
	qIntermediate = "Paste intermediate certificate in PEM format (end with '.'):"
	qKey          = "Paste private key in PEM format (end with '.'):"
	qKeyPass      = "Enter pass phrase for the private key:"
	qP12Pass      = "Enter pass phrase for PKCS#12 file:"
	wrongPass     = "The pass phrase is not correct."
	maxPassTries  = 3
)

// maxFile bounds a certificate, key or PKCS#12 file read from the configuration folder.
const maxFile = 1 << 20

func certificateItems() []shell.MenuItem {
	return []shell.MenuItem{
		{Name: "IMPORT", Description: "Import a certificate from a local PKCS#12 file"},
		{Name: "PASTE", Description: "Paste a certificate into the CLI"},
		{Name: "NEW", Description: "Create a self-signed certificate and CSR"},
		{Name: "EDIT", Description: "Update certificate or view the signing request"},
		{Name: "EXPORT", Description: "Export a certificate"},
		{Name: "DELETE", Description: "Remove a certificate"},
		{Name: "PRINT", Description: "View certificates assigned to services"},
	}
}

// certificateMenu is the CERTIFICATE dialog: the list, then the operations.
func certificateMenu(ctx context.Context, e *shell.Env) error {
	return menuLoop(ctx, e, func() error { return printList(e) }, certificateItems, map[string]func(context.Context, *shell.Env) error{
		"IMPORT": importDialog,
		"PASTE":  pasteDialog,
		"NEW":    newDialog,
		"EDIT":   editDialog,
		"EXPORT": exportDialog,
		"DELETE": deleteDialog,
		"PRINT":  func(_ context.Context, e *shell.Env) error { return printUses(e) },
	})
}

// table prints rows under a header and a line of dashes; each column is as wide as its
// widest cell, at least minWidth[i]. The last column is not padded.
func table(w io.Writer, minWidth []int, header []string, rows [][]string) {
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = max(len(h), minWidth[i])
		for _, r := range rows {
			width[i] = max(width[i], len(r[i]))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			if i == len(cells)-1 {
				b.WriteString(c)
				break
			}
			fmt.Fprintf(&b, "%-*s  ", width[i], c)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(header)
	dashes := make([]string, len(header))
	for i := range header {
		dashes[i] = strings.Repeat("-", width[i])
	}
	line(dashes)
	for _, r := range rows {
		line(r)
	}
}

// status is a certificate's state at now, as the list shows it.
func status(c *x509.Certificate, now time.Time) string {
	switch {
	case now.After(c.NotAfter):
		return "Expired"
	case now.Before(c.NotBefore):
		return "Not Yet Valid"
	}
	return "Active"
}

// remaining is the number of whole days left before c expires (0 once expired).
func remaining(c *x509.Certificate, now time.Time) string {
	d := max(int(c.NotAfter.Sub(now)/(24*time.Hour)), 0)
	if d == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", d)
}

// printList prints the List of Certificates.
func printList(e *shell.Env) error {
	c := e.Session.Config()
	fmt.Fprintln(e.Out, "\nList of Certificates")
	if len(c.Certificates) == 0 {
		fmt.Fprintln(e.Out, "There are no certificate profiles.")
		return nil
	}
	now := e.Now()
	var rows [][]string
	for _, p := range c.Certificates {
		leaf, _, err := p.Parse()
		if err != nil {
			rows = append(rows, []string{p.Name, "-", "-", "Unreadable", "-"})
			continue
		}
		rows = append(rows, []string{p.Name, subjectName(leaf.Subject), subjectName(leaf.Issuer), status(leaf, now), remaining(leaf, now)})
	}
	table(e.Out, []int{8, 14, 14, 8, 9}, []string{"Name", "Common Name", "Issued By", "Status", "Remaining"}, rows)
	return nil
}

// printUses prints which service uses which certificate profile (PRINT).
func printUses(e *shell.Env) error {
	var rows [][]string
	for _, u := range e.Session.Config().CertificateServices() {
		cert := u.Certificate
		if cert == "" {
			cert = "(none)"
		}
		rows = append(rows, []string{u.Service, u.Command, cert})
	}
	fmt.Fprintln(e.Out)
	table(e.Out, []int{0, 0, 0}, []string{"Service", "Selected In", "Certificate"}, rows)
	return nil
}

// validName checks the answer to the profile name question.
func validName(s string) error {
	if s == "" {
		return errors.New("Enter a name: letters, digits, _ and -.")
	}
	return store.ValidProfileName(s)
}

// askName asks for the profile name; when the name exists it asks whether to
// overwrite it. ok is false when the operator does not want to.
func askName(e *shell.Env, def string) (name string, ok bool, err error) {
	name, err = e.P.Text(qProfileName, def, validName)
	if err != nil {
		return "", false, err
	}
	if e.Session.Config().CertificateIndex(name) < 0 {
		return name, true, nil
	}
	ok, err = e.P.YesNo(fmt.Sprintf("A certificate profile named %q already exists. Do you want to overwrite it?", name), false)
	return name, ok, err
}

// reject prints the one line that says why an answer was refused; the question is
// then asked again.
func reject(e *shell.Env, msg string) { fmt.Fprintln(e.Out, msg) }

// warn prints the validity problems of certs.
func warn(e *shell.Env, certs []*x509.Certificate) {
	for _, w := range validityProblems(certs, e.Now()) {
		fmt.Fprintln(e.Out, w)
	}
}

// pasteCertificates reads the answer to a certificate question as Prompter.Paste
// does (question, then lines up to a line holding only "."), except that a private
// key pasted there by mistake is not shown: after a line that begins a private key,
// the lines up to the one that ends it are read without echo (so the screen shows
// the BEGIN line, not the key). The answer is then refused as a private key.
func pasteCertificates(e *shell.Env, question string) (string, error) {
	fmt.Fprintf(e.Out, "\n%s\n", question)
	var b strings.Builder
	inKey := false
	for {
		var line string
		var err error
		if inKey {
			line, err = e.In.ReadSecret("")
		} else {
			line, err = e.In.ReadLine("", nil)
		}
		if err != nil {
			return "", abort(err)
		}
		if strings.TrimSpace(line) == "." {
			return b.String(), nil
		}
		if b.Len()+len(line) > maxFile {
			return "", refuse("The pasted text is longer than %d KiB: paste the certificate only.", maxFile>>10)
		}
		b.WriteString(line)
		b.WriteByte('\n')
		if inKey {
			inKey = !keyBoundary(line, "-----END")
		} else {
			inKey = keyBoundary(line, "-----BEGIN")
		}
	}
}

// keyBoundary reports whether line is the BEGIN (or END) line of a private key, or
// looks like one: a private key is hidden even when its PEM line is mangled.
func keyBoundary(line, mark string) bool {
	return strings.Contains(line, mark) && strings.Contains(strings.ToUpper(line), "PRIVATE KEY")
}

// abort wraps the end of input or Ctrl-C in shell.ErrAbort, as the prompter does.
func abort(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, shell.ErrInterrupt) {
		return fmt.Errorf("%w: %w", shell.ErrAbort, err)
	}
	return err
}

// askCertificate asks question until the answer is a certificate, with or without
// the intermediates after it in chain order. It returns the certificate and the
// intermediates; nil when the operator pasted nothing.
func askCertificate(e *shell.Env, question string) (*x509.Certificate, []*x509.Certificate, error) {
	for {
		text, err := pasteCertificates(e, question)
		if err != nil {
			return nil, nil, err
		}
		if strings.TrimSpace(text) == "" {
			return nil, nil, nil
		}
		certs, err := parseCertPaste(text)
		if err != nil {
			reject(e, err.Error())
			continue
		}
		chain, unrelated := orderChain(certs[0], certs[1:])
		if len(unrelated) > 0 {
			reject(e, fmt.Sprintf("The pasted certificates are not a chain: %q did not issue %q or its issuers. Paste the certificate first, then its issuer, and so on.", subjectName(unrelated[0].Subject), subjectName(certs[0].Subject)))
			continue
		}
		warn(e, certs)
		return certs[0], chain, nil
	}
}

// askIntermediates offers to add intermediate certificates after leaf and chain,
// each one checked to have issued the certificate before it.
func askIntermediates(e *shell.Env, leaf *x509.Certificate, chain []*x509.Certificate) ([]*x509.Certificate, error) {
	for {
		last := leaf
		if len(chain) > 0 {
			last = chain[len(chain)-1]
		}
		if selfSigned(last) {
			return chain, nil // a root: the chain is complete
		}
		q := qAddInter
		if len(chain) > 0 {
			q = qAddInterMore
		}
		yes, err := e.P.YesNo(q, false)
		if err != nil || !yes {
			return chain, err
		}
		for {
			text, err := pasteCertificates(e, qIntermediate)
			if err != nil {
				return nil, err
			}
			if strings.TrimSpace(text) == "" {
				break
			}
			certs, err := parseCertPaste(text)
			if err != nil {
				reject(e, err.Error())
				continue
			}
			more, unrelated := orderChain(last, certs)
			if len(unrelated) > 0 {
				reject(e, fmt.Sprintf("That certificate (%q) did not issue %q: paste the certificate of its issuer %q.", subjectName(unrelated[0].Subject), subjectName(last.Subject), subjectName(last.Issuer)))
				continue
			}
			warn(e, more)
			chain = append(chain, more...)
			break
		}
	}
}

// unlockKey parses a key block, asking for its pass phrase when it is encrypted (up
// to maxPassTries times, or once in a batch form).
func unlockKey(e *shell.Env, b *pem.Block, question string, tries int) (crypto.Signer, error) {
	if !keyEncrypted(b) {
		return parseKey(b, nil)
	}
	for i := 0; i < tries; i++ {
		pass, err := e.P.Secret(question)
		if err != nil {
			return nil, err
		}
		key, err := parseKey(b, []byte(pass))
		if errors.Is(err, errPassphrase) {
			if i < tries-1 {
				reject(e, wrongPass)
			}
			continue
		}
		return key, err
	}
	return nil, refuse("The pass phrase is not correct: nothing was stored.")
}

// askKey asks for the private key of leaf until it reads one; nil when the operator
// pasted nothing.
func askKey(e *shell.Env) (crypto.Signer, error) {
	for {
		text, err := e.P.PasteSecret(qKey)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(text) == "" {
			return nil, nil
		}
		b, err := keyPaste(text)
		if err != nil {
			reject(e, err.Error())
			continue
		}
		key, err := unlockKey(e, b, qKeyPass, maxPassTries)
		var r *refusal
		switch {
		case errors.As(err, &r), errors.Is(err, shell.ErrAbort):
			return nil, err
		case err != nil:
			reject(e, err.Error())
			continue
		}
		return key, nil
	}
}

// errMismatch refuses a key that is not the certificate's.
func errMismatch() error {
	return refuse("The private key does not match the certificate: nothing was stored. Paste the key the certificate was issued for.")
}

// install stores key and adds (or replaces) the profile; it reports whether a profile
// of that name was replaced. It is the last step of a dialog: nothing is written
// before it.
func install(ctx context.Context, e *shell.Env, prof store.Certificate, key crypto.Signer) (bool, error) {
	text, err := keyPEM(key)
	if err != nil {
		return false, err
	}
	ref, err := e.Session.PutKey(ctx, text)
	if err != nil {
		return false, fmt.Errorf("certconfig: store the private key: %w", err)
	}
	prof.Key = ref
	c := e.Session.Edit()
	replaced := false
	if i := c.CertificateIndex(prof.Name); i >= 0 {
		c.Certificates[i] = prof
		replaced = true
	} else {
		c.Certificates = append(c.Certificates, prof)
		sort.SliceStable(c.Certificates, func(i, j int) bool {
			return strings.ToLower(c.Certificates[i].Name) < strings.ToLower(c.Certificates[j].Name)
		})
	}
	e.Session.Set(c)
	return replaced, nil
}

// installed prints the outcome of install.
func installed(e *shell.Env, name string, replaced bool) {
	if replaced {
		e.P.Say("Certificate profile %q replaced.", name)
	} else {
		e.P.Say("Certificate profile %q added.", name)
	}
}

// pasteDialog is PASTE: name, certificate, intermediates, private key.
func pasteDialog(ctx context.Context, e *shell.Env) error {
	name, ok, err := askName(e, "")
	if err != nil || !ok {
		return err
	}
	leaf, chain, err := askCertificate(e, qCertificate)
	if err != nil {
		return err
	}
	if leaf == nil {
		return refuse("No certificate was pasted: nothing was stored.")
	}
	if chain, err = askIntermediates(e, leaf, chain); err != nil {
		return err
	}
	key, err := askKey(e)
	if err != nil {
		return err
	}
	if key == nil {
		return refuse("No private key was pasted: nothing was stored.")
	}
	if !keyMatches(leaf, key) {
		return errMismatch()
	}
	replaced, err := install(ctx, e, store.Certificate{Name: name, CertPEM: certPEM(leaf), ChainPEM: certPEM(chain...)}, key)
	if err != nil {
		return err
	}
	installed(e, name, replaced)
	return nil
}

// readConfigFile reads a file the operator named from the configuration folder.
func readConfigFile(e *shell.Env, file string) ([]byte, error) {
	data, err := e.ReadConfigFile(file, maxFile)
	if err != nil {
		return nil, refuse("%s", shell.Sentence(err))
	}
	return data, nil
}

// askFile asks for a file of the configuration folder until it can be read; "" when
// the operator gave no name.
func askFile(e *shell.Env, question string) (string, []byte, error) {
	for {
		file, err := e.P.Text(question, "", nil)
		if err != nil || file == "" {
			return "", nil, err
		}
		data, err := readConfigFile(e, file)
		var r *refusal
		switch {
		case errors.As(err, &r):
			reject(e, r.msg)
			continue
		case err != nil:
			return "", nil, err
		}
		return file, data, nil
	}
}

// chooseProfile asks which certificate profile to work on.
func chooseProfile(e *shell.Env, question string) (store.Certificate, error) {
	c := e.Session.Config()
	if len(c.Certificates) == 0 {
		return store.Certificate{}, refuse("There are no certificate profiles.")
	}
	names := make([]string, len(c.Certificates))
	for i, p := range c.Certificates {
		names[i] = p.Name
	}
	n, err := e.P.Choose(question, names, 0)
	if err != nil {
		return store.Certificate{}, err
	}
	return c.Certificates[n-1], nil
}

// storedKey reads the private key of a profile from the key store.
func storedKey(ctx context.Context, e *shell.Env, p store.Certificate) (crypto.Signer, error) {
	data, err := e.Session.Key(ctx, p.Key)
	if err != nil {
		return nil, fmt.Errorf("certconfig: certificate %s: %w", p.Name, err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("certconfig: certificate %s: the stored private key is not PEM", p.Name)
	}
	key, err := parseKey(b, nil)
	if err != nil {
		return nil, fmt.Errorf("certconfig: certificate %s: the stored private key cannot be read", p.Name)
	}
	return key, nil
}

func editItems() []shell.MenuItem {
	return []shell.MenuItem{
		{Name: "VIEW", Description: "View the certificate signing request"},
		{Name: "UPDATE", Description: "Replace the certificate with the signed one"},
	}
}

// editDialog is EDIT: view the CSR of a profile, or replace its certificate with the
// one the certificate authority signed (for the same private key).
func editDialog(ctx context.Context, e *shell.Env) error {
	p, err := chooseProfile(e, "Select the certificate you want to edit:")
	if err != nil {
		return err
	}
	op, err := e.P.Menu(editItems())
	if err != nil || op == "" {
		return err
	}
	if op == "VIEW" {
		if strings.TrimSpace(p.CSR) == "" {
			return refuse("The certificate profile %q has no signing request: only profiles made with NEW have one.", p.Name)
		}
		fmt.Fprintln(e.Out)
		return e.Page(p.CSR)
	}
	leaf, chain, err := askCertificate(e, qCertificate)
	if err != nil {
		return err
	}
	if leaf == nil {
		return refuse("No certificate was pasted: nothing was changed.")
	}
	key, err := storedKey(ctx, e, p)
	if err != nil {
		return err
	}
	if !keyMatches(leaf, key) {
		return refuse("This certificate was not issued for the private key of %q: nothing was changed. Paste the certificate signed for its request.", p.Name)
	}
	if chain, err = askIntermediates(e, leaf, chain); err != nil {
		return err
	}
	c := e.Session.Edit()
	i := c.CertificateIndex(p.Name)
	c.Certificates[i].CertPEM = certPEM(leaf)
	c.Certificates[i].ChainPEM = certPEM(chain...)
	e.Session.Set(c)
	e.P.Say("Certificate profile %q updated.", p.Name)
	return nil
}

// exportProfile writes the certificate and chain of p (never the key) to file.
func exportProfile(e *shell.Env, p store.Certificate, file string) error {
	path, err := e.ConfigPath(file)
	if err != nil {
		return refuse("%s.", err)
	}
	if err := afero.WriteFile(e.Fs, path, []byte(p.CertPEM+p.ChainPEM), 0o644); err != nil {
		return fmt.Errorf("certconfig: export %s: %w", file, err)
	}
	e.P.Say("The certificate %s and its chain have been exported to %s in the configuration directory (the private key is never exported).", p.Name, file)
	return nil
}

// askOverwrite asks before an existing file of the configuration folder is replaced.
func askOverwrite(e *shell.Env, file string) (bool, error) {
	path, err := e.ConfigPath(file)
	if err != nil {
		return true, nil // exportProfile reports the bad name
	}
	if ok, _ := afero.Exists(e.Fs, path); !ok {
		return true, nil
	}
	return e.P.YesNo(fmt.Sprintf("The file %s already exists. Do you want to overwrite it?", file), false)
}

// exportDialog is EXPORT.
func exportDialog(ctx context.Context, e *shell.Env) error {
	p, err := chooseProfile(e, "Select the certificate you want to export:")
	if err != nil {
		return err
	}
	file, err := e.P.Text(fileQuestion(e, "export to"), p.Name+".pem", nil)
	if err != nil {
		return err
	}
	ok, err := askOverwrite(e, file)
	if err != nil || !ok {
		return err
	}
	return exportProfile(e, p, file)
}

// deleteProfile removes a profile that no service uses.
func deleteProfile(e *shell.Env, name string) error {
	c := e.Session.Edit()
	i := c.CertificateIndex(name)
	if i < 0 {
		return refuse("There is no certificate profile %q: \"certconfig certificate list\" shows them.", name)
	}
	if uses := c.CertificateUses(name); len(uses) > 0 {
		return refuse("The certificate %q cannot be deleted: it is used for %s, selected in %q. Select another certificate there first.", name, uses[0].Service, uses[0].Command)
	}
	c.Certificates = append(c.Certificates[:i], c.Certificates[i+1:]...)
	e.Session.Set(c)
	e.P.Say("Certificate profile %q deleted.", name)
	return nil
}

// deleteDialog is DELETE.
func deleteDialog(ctx context.Context, e *shell.Env) error {
	p, err := chooseProfile(e, "Select the certificate you want to delete:")
	if err != nil {
		return err
	}
	if uses := e.Session.Config().CertificateUses(p.Name); len(uses) > 0 {
		return deleteProfile(e, p.Name) // refused with the reason
	}
	ok, err := e.P.YesNo(fmt.Sprintf("Are you sure you want to delete the certificate %q?", p.Name), false)
	if err != nil || !ok {
		return err
	}
	return deleteProfile(e, p.Name)
}
