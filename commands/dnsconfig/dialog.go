package dnsconfig

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// dialog is dnsconfig without arguments: the status, then the sub-menu until an empty
// answer. It edits a copy of the candidate and installs it only then; the end of the
// input anywhere changes nothing.
func dialog(e *shell.Env) error {
	c := e.Session.Edit()
	d := &c.DNS
	for {
		writeStatus(e.Out, *d)
		items := []shell.MenuItem{{Name: "NEW", Description: "Add a new server."}}
		if len(d.Servers) > 0 {
			items = append(items,
				shell.MenuItem{Name: "EDIT", Description: "Edit a server."},
				shell.MenuItem{Name: "DELETE", Description: "Remove a server."})
		}
		items = append(items, shell.MenuItem{Name: "SETUP", Description: "Choose between the machine's resolvers and your own servers."})
		op, err := e.P.Menu(items)
		if err != nil {
			return err
		}
		switch op {
		case "":
			e.Session.Set(c)
			return nil
		case "NEW":
			err = dialogNew(e, d)
		case "EDIT":
			err = dialogEdit(e, d)
		case "DELETE":
			err = dialogDelete(e, d)
		case "SETUP":
			err = dialogSetup(e, d)
		}
		if err != nil {
			return err
		}
	}
}

// askServer asks for a server's address, port and trust, with base's values as the
// defaults (an empty base for a new server). skip is the position of the server
// being edited (-1 for a new one), so that it does not count as a duplicate.
func askServer(e *shell.Env, d *store.DNSConfig, base store.DNSServer, skip int) (store.DNSServer, error) {
	s := base
	var inlinePort int
	addr, err := e.P.Text("Please enter the IP address of your DNS server.", base.Address, func(v string) error {
		_, _, err := parseAddress(v)
		return capitalize(err)
	})
	if err != nil {
		return s, err
	}
	s.Address, inlinePort, _ = parseAddress(addr)
	if inlinePort != 0 {
		s.Port = inlinePort
	} else {
		def := 53
		if base.Port != 0 {
			def = base.Port
		}
		if s.Port, err = e.P.Int(fmt.Sprintf("Please enter the port of the DNS server %s.", s.Address), def, 1, 65535); err != nil {
			return s, err
		}
	}
	if j := index(d, s.Address, s.Port); j >= 0 && j != skip {
		return s, fmt.Errorf("%s port %d is already in the list (number %d)", s.Address, s.Port, j+1)
	}
	if isLoopback(s.Address) {
		e.P.Say("%s is a loopback address: its DNSSEC validation is always trusted.", s.Address)
		s.Trusted = false
		return s, nil
	}
	e.P.Say("The AD bit of a DNS server's answers counts for DANE only if you trust the server:\n" +
		"it must validate DNSSEC and be reached over a secure path (the same host or a\nprotected network).")
	s.Trusted, err = e.P.YesNo(fmt.Sprintf("Do you trust the DNSSEC validation of %s?", s.Address), base.Trusted)
	return s, err
}

func dialogNew(e *shell.Env, d *store.DNSConfig) error {
	s, err := askServer(e, d, store.DNSServer{}, -1)
	if errors.Is(err, shell.ErrAbort) {
		return err
	}
	if err != nil {
		e.P.Say("%s", capitalize(err))
		return nil
	}
	d.Servers = append(d.Servers, s)
	useOwn(e.Out, d)
	return nil
}

func dialogEdit(e *shell.Env, d *store.DNSConfig) error {
	i, err := askNumber(e, "Enter the number of the server you wish to edit.", len(d.Servers))
	if err != nil {
		return err
	}
	s, err := askServer(e, d, d.Servers[i], i)
	if errors.Is(err, shell.ErrAbort) {
		return err
	}
	if err != nil {
		e.P.Say("%s", capitalize(err))
		return nil
	}
	d.Servers[i] = s
	return nil
}

func dialogDelete(e *shell.Env, d *store.DNSConfig) error {
	i, err := askNumber(e, "Enter the number of the server you wish to delete.", len(d.Servers))
	if err != nil {
		return err
	}
	removeAt(e.Out, d, i)
	return nil
}

func dialogSetup(e *shell.Env, d *store.DNSConfig) error {
	def := 2
	if d.UseResolvConf {
		def = 1
	}
	n, err := e.P.Choose("Do you want to use the machine's resolvers or your own DNS servers?", []string{
		fmt.Sprintf("Use the machine's resolvers (%s)", ResolvConf),
		"Use your own DNS servers",
	}, def)
	if err != nil {
		return err
	}
	if n == 1 {
		d.UseResolvConf = true
		return nil
	}
	if len(d.Servers) == 0 {
		e.P.Say("You have no DNS servers of your own yet: enter one.")
		return dialogNew(e, d)
	}
	d.UseResolvConf = false
	return nil
}

// askNumber asks for a position in a list of n entries and returns it 0-based.
func askNumber(e *shell.Env, question string, n int) (int, error) {
	s, err := e.P.Text(question, "", func(v string) error {
		if k, err := strconv.Atoi(v); err != nil || k < 1 || k > n {
			return fmt.Errorf("You must enter a number between 1 and %d.", n)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	k, _ := strconv.Atoi(s)
	return k - 1, nil
}

// capitalize turns an error into a sentence for the dialog.
func capitalize(err error) error {
	if err == nil {
		return nil
	}
	s := err.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	if s[len(s)-1] != '.' {
		s += "."
	}
	return errors.New(s)
}
