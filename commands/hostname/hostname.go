// Package hostname holds sethostname, the appliance command that renames the gateway.
package hostname

import (
	"context"
	"fmt"
	"strings"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// Command returns sethostname.
func Command() shell.Command {
	return shell.Command{
		Name:    "sethostname",
		Usage:   "sethostname [NAME]",
		Summary: "Set the name of the machine.",
		Description: `Changes the gateway's host name (shown in the prompt once committed). Without NAME
it asks for it. The change takes effect with "commit".`,
		Run: run,
	}
}

func run(ctx context.Context, e *shell.Env, args []string) error {
	cur := e.Session.Config().Hostname
	var name string
	switch len(args) {
	case 0:
		var err error
		name, err = e.P.Text("Enter the new hostname.", cur, func(s string) error {
			if err := store.ValidHostname(s); err != nil {
				return fmt.Errorf("Invalid hostname: %s.", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	case 1:
		name = args[0]
		if err := store.ValidHostname(name); err != nil {
			return fmt.Errorf("sethostname: invalid hostname: %w", err)
		}
	default:
		return fmt.Errorf("usage: sethostname [NAME]")
	}
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == cur {
		return nil
	}
	c := e.Session.Edit()
	c.Hostname = name
	e.Session.Set(c)
	return nil
}
