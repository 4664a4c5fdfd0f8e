package main

import (
	"strings"
)

// teamInit makes the practice team key and the caller's grant.
func (c *cli) teamInit(args []string) error {
	fs := c.flags("team init")
	staff := fs.String("staff", "", "your staff id")
	if _, err := positional(fs, args, 0, ""); err != nil {
		return err
	}
	if err := required(fs, "staff"); err != nil {
		return err
	}
	me, err := c.unlock()
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	tk, err := cl.TeamInit(c.ctx, *staff, me)
	if err != nil {
		return err
	}
	c.printf("team key %s registered; granted to %s\n", tk.Fingerprint, *staff)
	return nil
}

// teamGrant gives a colleague the team key from the caller's grant.
func (c *cli) teamGrant(args []string) error {
	fs := c.flags("team grant")
	staff := fs.String("staff", "", "your staff id")
	pin := fs.String("pin", "", "the colleague's key fingerprint, as they read it to you")
	pos, err := positional(fs, args, 1, "the colleague's STAFF_ID")
	if err != nil {
		return err
	}
	if err := required(fs, "staff"); err != nil {
		return err
	}
	me, err := c.unlock()
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	if _, err := cl.TeamGrant(c.ctx, *staff, me, pos[0], *pin); err != nil {
		return err
	}
	c.printf("granted the team key to %s\n", pos[0])
	return nil
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// teamRotate makes a new team key for every staff member but the removed.
func (c *cli) teamRotate(args []string) error {
	fs := c.flags("team rotate")
	staff := fs.String("staff", "", "your staff id")
	var remove listFlag
	fs.Var(&remove, "remove", "staff id to remove from the team key (repeatable)")
	if _, err := positional(fs, args, 0, ""); err != nil {
		return err
	}
	if err := required(fs, "staff"); err != nil {
		return err
	}
	me, err := c.unlock()
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	tk, granted, err := cl.TeamRotate(c.ctx, *staff, me, remove...)
	if err != nil {
		return err
	}
	c.printf("new team key %s; granted to %s\n", tk.Fingerprint, strings.Join(granted, ", "))
	if len(remove) > 0 {
		c.printf("removed: %s\n", strings.Join(remove, ", "))
	}
	return nil
}
