package certconfig

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/engine/trust"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

func authorityItems() []shell.MenuItem {
	return []shell.MenuItem{
		{Name: "SYSTEM", Description: "Enable or disable the system CA list."},
		{Name: "CUSTOM", Description: "Manage the custom CA list (import, export, list, delete)."},
	}
}

func enabled(on bool) string {
	if on {
		return "Enabled"
	}
	return "Disabled"
}

// authoritySummary prints the state of both CA lists.
func authoritySummary(e *shell.Env) error {
	ca := e.Session.Config().CA
	fmt.Fprintln(e.Out, "\nCertificate Authority Summary")
	fmt.Fprintf(e.Out, "System List: %s\n", enabled(ca.System))
	fmt.Fprintf(e.Out, "Custom List: %s (%s)\n", enabled(ca.CustomEnabled), plural(len(ca.Custom), "certificate"))
	return nil
}

// authorityMenu is the CERTAUTHORITY dialog.
func authorityMenu(ctx context.Context, e *shell.Env) error {
	return menuLoop(ctx, e, func() error { return authoritySummary(e) }, authorityItems, map[string]func(context.Context, *shell.Env) error{
		"SYSTEM": systemDialog,
		"CUSTOM": customMenu,
	})
}

// trustWarning says so when no CA is trusted any more.
func trustWarning(e *shell.Env, ca store.CAConfig) {
	if !ca.System && (!ca.CustomEnabled || len(ca.Custom) == 0) {
		e.P.Say("No certificate authority is trusted now: TLS verification (the Verify TLS modes, MTA-STS) fails for every host until a CA list is enabled.")
	}
}

// setSystem enables or disables the system CA list.
func setSystem(e *shell.Env, on bool) {
	c := e.Session.Edit()
	c.CA.System = on
	e.Session.Set(c)
	e.P.Say("The system CA list is %s.", strings.ToLower(enabled(on)))
	trustWarning(e, c.CA)
}

// systemDialog is SYSTEM.
func systemDialog(ctx context.Context, e *shell.Env) error {
	on := e.Session.Config().CA.System
	q, def := "Do you want to disable the system CA list?", false
	if !on {
		q, def = "Do you want to enable the system CA list?", true
	}
	yes, err := e.P.YesNo(q, def)
	if err != nil || !yes {
		return err
	}
	setSystem(e, !on)
	return nil
}

func customItems(on bool) []shell.MenuItem {
	toggle := shell.MenuItem{Name: "ENABLE", Description: "Enable the custom CA list."}
	if on {
		toggle = shell.MenuItem{Name: "DISABLE", Description: "Disable the custom CA list."}
	}
	return []shell.MenuItem{
		toggle,
		{Name: "IMPORT", Description: "Import CA certificates from a PEM file."},
		{Name: "LIST", Description: "List the custom CA certificates."},
		{Name: "DELETE", Description: "Remove a custom CA certificate."},
		{Name: "EXPORT", Description: "Export the custom CA list to a PEM file."},
	}
}

// customMenu is CUSTOM.
func customMenu(ctx context.Context, e *shell.Env) error {
	show := func() error {
		ca := e.Session.Config().CA
		fmt.Fprintf(e.Out, "\nCustom List: %s (%s)\n", enabled(ca.CustomEnabled), plural(len(ca.Custom), "certificate"))
		return nil
	}
	items := func() []shell.MenuItem { return customItems(e.Session.Config().CA.CustomEnabled) }
	return menuLoop(ctx, e, show, items, map[string]func(context.Context, *shell.Env) error{
		"ENABLE":  func(_ context.Context, e *shell.Env) error { setCustom(e, true); return nil },
		"DISABLE": func(_ context.Context, e *shell.Env) error { setCustom(e, false); return nil },
		"IMPORT":  customImportDialog,
		"LIST":    func(_ context.Context, e *shell.Env) error { return listCustom(e) },
		"DELETE":  customDeleteDialog,
		"EXPORT":  customExportDialog,
	})
}

// setCustom enables or disables the custom CA list.
func setCustom(e *shell.Env, on bool) {
	c := e.Session.Edit()
	c.CA.CustomEnabled = on
	e.Session.Set(c)
	e.P.Say("The custom CA list is %s.", strings.ToLower(enabled(on)))
	if on && len(c.CA.Custom) == 0 {
		e.P.Say("The custom CA list is empty: IMPORT adds certificates to it.")
	}
	trustWarning(e, c.CA)
}

// checkCAs reads the certificates of a PEM file and checks that each can join the
// custom CA list: a CA certificate (basic constraints CA flag, and key usage allowing
// certificate signing when it is restricted), valid now, not already in the list or
// twice in the file, and issued by a certificate of the list, of the file, or (when
// the system list is enabled) of the system list. All or nothing: the first problem
// refuses the whole file.
func checkCAs(e *shell.Env, file string, data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for _, b := range pemBlocks(string(data)) {
		if isKeyBlock(b) {
			return nil, refuse("The file %s holds a private key: a CA file holds only certificates. Nothing was imported.", file)
		}
		if b.Type != "CERTIFICATE" {
			return nil, refuse("The file %s holds a %s block: a CA file holds only certificates. Nothing was imported.", file, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, refuse("Certificate %d of %s could not be read (%v): nothing was imported.", len(certs)+1, file, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, refuse("The file %s holds no certificate in PEM format: nothing was imported.", file)
	}
	cfg := e.Session.Config()
	var list []*x509.Certificate
	for _, ca := range cfg.CA.Custom {
		if cs, err := store.ParseCertificates(ca.PEM); err == nil {
			list = append(list, cs...)
		}
	}
	now := e.Now()
	var system *trust.Pool
	for i, c := range certs {
		n := subjectName(c.Subject)
		switch {
		case !c.BasicConstraintsValid || !c.IsCA:
			return nil, refuse("The certificate %q is not a CA certificate (the CA flag of its basic constraints is not set): nothing was imported.", n)
		case c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0:
			return nil, refuse("The certificate %q may not sign certificates (its key usage lacks certificate signing): nothing was imported.", n)
		case now.After(c.NotAfter):
			return nil, refuse("The CA certificate %q expired on %s: nothing was imported.", n, shell.FormatTime(c.NotAfter.UTC()))
		case now.Before(c.NotBefore):
			return nil, refuse("The CA certificate %q is not valid before %s: nothing was imported.", n, shell.FormatTime(c.NotBefore.UTC()))
		}
		for _, l := range list {
			if bytes.Equal(l.Raw, c.Raw) {
				return nil, refuse("The certificate %q is already in the custom CA list: nothing was imported.", n)
			}
		}
		for _, o := range certs[:i] {
			if bytes.Equal(o.Raw, c.Raw) {
				return nil, refuse("The certificate %q is twice in %s: nothing was imported.", n, file)
			}
		}
		if selfSigned(c) || issuedByAny(c, list) || issuedByAny(c, certs) {
			continue
		}
		if cfg.CA.System {
			if system == nil {
				var err error
				if system, err = trust.New(trust.Options{System: true}); err != nil {
					return nil, err
				}
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: system.CertPool(), CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err == nil {
				continue
			}
		}
		return nil, refuse("The issuer of %q (%q) is not in the custom CA list: import the issuer first, or put it in the same file. Nothing was imported.", n, subjectName(c.Issuer))
	}
	return certs, nil
}

func issuedByAny(c *x509.Certificate, parents []*x509.Certificate) bool {
	for _, p := range parents {
		if issued(p, c) {
			return true
		}
	}
	return false
}

// addCustom adds checked certificates to the custom CA list, enabling it if asked.
func addCustom(e *shell.Env, certs []*x509.Certificate, enable bool) {
	c := e.Session.Edit()
	for _, x := range certs {
		c.CA.Custom = append(c.CA.Custom, store.CustomCA{Name: subjectName(x.Subject), PEM: certPEM(x)})
	}
	if enable {
		c.CA.CustomEnabled = true
	}
	e.Session.Set(c)
	e.P.Say("%s imported into the custom CA list.", plural(len(certs), "certificate"))
	if enable {
		fmt.Fprintln(e.Out, "The custom CA list is enabled.")
	}
}

// customImportDialog is IMPORT of CUSTOM.
func customImportDialog(ctx context.Context, e *shell.Env) error {
	file, data, err := askFile(e, fileQuestion(e, "import"))
	if err != nil || file == "" {
		return err
	}
	certs, err := checkCAs(e, file, data)
	if err != nil {
		return err
	}
	enable := false
	if !e.Session.Config().CA.CustomEnabled {
		if enable, err = e.P.YesNo("The custom CA list is disabled. Do you want to enable it?", true); err != nil {
			return err
		}
	}
	addCustom(e, certs, enable)
	return nil
}

// listCustom prints the custom CA list, numbered.
func listCustom(e *shell.Env) error {
	ca := e.Session.Config().CA
	fmt.Fprintf(e.Out, "\nCustom CA List (%s)\n", enabled(ca.CustomEnabled))
	if len(ca.Custom) == 0 {
		fmt.Fprintln(e.Out, "The custom CA list is empty.")
		return nil
	}
	var rows [][]string
	for i, x := range ca.Custom {
		row := []string{strconv.Itoa(i + 1), x.Name, "-", "-"}
		if cs, err := store.ParseCertificates(x.PEM); err == nil && len(cs) == 1 {
			row[2], row[3] = subjectName(cs[0].Issuer), shell.FormatTime(cs[0].NotAfter.UTC())
		}
		rows = append(rows, row)
	}
	table(e.Out, []int{2, 4, 9, 7}, []string{"#", "Name", "Issued By", "Expires"}, rows)
	return nil
}

// deleteCustom removes entry n (1-based) of the custom CA list.
func deleteCustom(e *shell.Env, n int) error {
	c := e.Session.Edit()
	if n < 1 || n > len(c.CA.Custom) {
		return refuse("There is no custom CA number %d: \"certconfig certauthority custom list\" shows the numbers.", n)
	}
	gone := c.CA.Custom[n-1].Name
	c.CA.Custom = append(c.CA.Custom[:n-1], c.CA.Custom[n:]...)
	e.Session.Set(c)
	e.P.Say("The CA certificate %q was removed from the custom CA list.", gone)
	trustWarning(e, c.CA)
	return nil
}

// customDeleteDialog is DELETE of CUSTOM.
func customDeleteDialog(ctx context.Context, e *shell.Env) error {
	ca := e.Session.Config().CA
	if len(ca.Custom) == 0 {
		return refuse("The custom CA list is empty.")
	}
	names := make([]string, len(ca.Custom))
	for i, x := range ca.Custom {
		names[i] = x.Name
	}
	n, err := e.P.Choose("Select the CA certificate you want to delete:", names, 0)
	if err != nil {
		return err
	}
	ok, err := e.P.YesNo(fmt.Sprintf("Are you sure you want to delete %q from the custom CA list?", names[n-1]), false)
	if err != nil || !ok {
		return err
	}
	return deleteCustom(e, n)
}

// exportCustom writes the custom CA list as PEM to file.
func exportCustom(e *shell.Env, file string) error {
	ca := e.Session.Config().CA
	if len(ca.Custom) == 0 {
		return refuse("The custom CA list is empty: there is nothing to export.")
	}
	path, err := e.ConfigPath(file)
	if err != nil {
		return refuse("%s.", err)
	}
	var b bytes.Buffer
	for _, x := range ca.Custom {
		b.WriteString(x.PEM)
	}
	if err := afero.WriteFile(e.Fs, path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("certconfig: export %s: %w", file, err)
	}
	e.P.Say("The custom CA list (%s) has been exported to %s in the configuration directory.", plural(len(ca.Custom), "certificate"), file)
	return nil
}

// customExportDialog is EXPORT of CUSTOM.
func customExportDialog(ctx context.Context, e *shell.Env) error {
	if len(e.Session.Config().CA.Custom) == 0 {
		return refuse("The custom CA list is empty: there is nothing to export.")
	}
	file, err := e.P.Text(fileQuestion(e, "export to"), "custom_ca.pem", nil)
	if err != nil {
		return err
	}
	ok, err := askOverwrite(e, file)
	if err != nil || !ok {
		return err
	}
	return exportCustom(e, file)
}
