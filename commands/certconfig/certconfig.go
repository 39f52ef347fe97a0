// Package certconfig holds certconfig, the appliance dialog for certificate profiles
// (the certificate the gateway presents for outbound TLS, with its private key) and
// for the certificate authorities it trusts (the system CA list and a custom one).
//
// Private keys go to the key store of the data directory (Session.PutKey, mode 0600)
// as unencrypted PKCS#8; the configuration keeps only a reference. No command prints
// or exports a key, and none echoes one as it reads it: a pasted key is read with
// LineReader.ReadSecret, so that even a piped session's output (where every line read
// is echoed) never shows it. TrustOptions turns the CA settings into the plain values of the
// engine's trust pool.
package certconfig

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/segcli/segcli/engine/trust"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// Command returns certconfig.
func Command() shell.Command {
	return shell.Command{
		Name:    "certconfig",
		Usage:   "certconfig [certificate [list|print|paste NAME|import FILE NAME|export NAME [FILE]|delete NAME] | certauthority [system enable|disable | custom enable|disable|list|import FILE|export FILE|delete NUMBER]]",
		Summary: "Configure security certificates and keys.",
		Description: `Without arguments, the dialog: CERTIFICATE manages the certificate profiles (the
certificate and private key presented for outbound TLS: paste, PKCS#12 import, a new
self-signed certificate with its signing request, export, delete); CERTAUTHORITY
enables the system CA list and manages the custom CA list that TLS verification,
MTA-STS policy fetches and MTA-STS MX checks trust.

A private key is never shown, not even as it is pasted: its lines are read without
echo, also when standard input is piped (a key pasted by mistake at a certificate
question shows its BEGIN line only).

Batch forms:
  certconfig certificate list             the List of Certificates
  certconfig certificate print            which services use which certificate
  certconfig certificate paste NAME       reads the certificate, its intermediates and
                                          the private key as PEM blocks from standard
                                          input (up to the end, or a line "."); the
                                          input holds the key, so none of it is shown:
                                          one line says what was read ("Read 3 PEM
                                          blocks: 2 certificates, 1 private key."); an
                                          encrypted key's pass phrase is read from the
                                          line after the "." line
  certconfig certificate import FILE NAME a PKCS#12 file of the "configuration" folder;
                                          its pass phrase is read from standard input
  certconfig certificate export NAME [FILE]   certificate and chain (never the key)
  certconfig certificate delete NAME
  certconfig certauthority system enable|disable
  certconfig certauthority custom enable|disable|list
  certconfig certauthority custom import FILE   PEM file of the "configuration" folder
  certconfig certauthority custom export FILE
  certconfig certauthority custom delete NUMBER (the number shown by "list")
paste and import refuse an existing NAME unless --overwrite is given. Changes take
effect with "commit".`,
		Menu:     []string{"certificate", "certauthority"},
		Complete: complete,
		Run:      run,
	}
}

// complete offers the words of the batch forms.
func complete(e *shell.Env, before []string) []string {
	switch len(before) {
	case 0:
		return []string{"certificate", "certauthority"}
	case 1:
		switch strings.ToLower(before[0]) {
		case "certificate":
			return []string{"list", "print", "paste", "import", "export", "delete"}
		case "certauthority":
			return []string{"system", "custom"}
		}
	case 2:
		switch strings.ToLower(before[0]) + " " + strings.ToLower(before[1]) {
		case "certauthority system":
			return []string{"enable", "disable"}
		case "certauthority custom":
			return []string{"enable", "disable", "list", "import", "export", "delete"}
		case "certificate export", "certificate delete":
			var names []string
			for _, c := range e.Session.Config().Certificates {
				names = append(names, c.Name)
			}
			return names
		}
	}
	return nil
}

// topMenu is the first question of the dialog.
func topMenu() []shell.MenuItem {
	return []shell.MenuItem{
		{Name: "CERTIFICATE", Description: "Import, Create a request, Edit or Remove Certificate Profiles"},
		{Name: "CERTAUTHORITY", Description: "Manage System and Customized Authorities"},
	}
}

func run(ctx context.Context, e *shell.Env, args []string) error {
	if len(args) == 0 {
		for {
			op, err := e.P.Menu(topMenu())
			if err != nil || op == "" {
				return err
			}
			switch op {
			case "CERTIFICATE":
				err = certificateMenu(ctx, e)
			case "CERTAUTHORITY":
				err = authorityMenu(ctx, e)
			}
			if err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(args[0]) {
	case "certificate":
		if len(args) == 1 {
			return certificateMenu(ctx, e)
		}
		return batchCertificate(ctx, e, args[1:])
	case "certauthority":
		if len(args) == 1 {
			return authorityMenu(ctx, e)
		}
		return batchAuthority(ctx, e, args[1:])
	}
	return usageError()
}

func usageError() error {
	return errors.New(`certconfig: unknown operation: type "help certconfig" for the batch forms, or "certconfig" alone for the dialog`)
}

// refusal is an operator-facing reason why an operation changed nothing. Inside the
// dialog it is printed and the menu asked again; a batch form returns it (exit
// status 1).
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func refuse(format string, args ...any) error { return &refusal{msg: fmt.Sprintf(format, args...)} }

// menuLoop runs the operation the operator picks, again and again, until an empty
// answer. show, if set, prints what the menu is about before each question. A
// refusal is printed and the menu asked again; abort and other errors end the loop.
func menuLoop(ctx context.Context, e *shell.Env, show func() error, items func() []shell.MenuItem, ops map[string]func(context.Context, *shell.Env) error) error {
	for {
		if show != nil {
			if err := show(); err != nil {
				return err
			}
		}
		op, err := e.P.Menu(items())
		if err != nil || op == "" {
			return err
		}
		err = ops[op](ctx, e)
		var r *refusal
		switch {
		case errors.As(err, &r):
			e.P.Say("%s", r.msg)
		case err != nil:
			return err
		}
	}
}

// TrustOptions returns the trust pool sources the configuration selects: the system
// CA list when enabled, the custom CA list when enabled. The caller adds the
// --ca-file certificates as Extra, then calls trust.New.
func TrustOptions(c *store.Config) trust.Options {
	o := trust.Options{System: c.CA.System}
	if c.CA.CustomEnabled {
		for _, ca := range c.CA.Custom {
			o.Custom = append(o.Custom, []byte(ca.PEM))
		}
	}
	return o
}

// TrustPool builds the trust pool of c plus extra PEM data (the --ca-file contents).
func TrustPool(c *store.Config, extra ...[]byte) (*trust.Pool, error) {
	o := TrustOptions(c)
	o.Extra = extra
	return trust.New(o)
}

// fileQuestion is how the dialogs ask for a file of the "configuration" folder.
func fileQuestion(e *shell.Env, verb string) string {
	return fmt.Sprintf("Enter the name of the file on machine %q to %s:", e.Hostname(), verb)
}

// plural renders "1 certificate", "2 certificates".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
