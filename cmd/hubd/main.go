// Command hubd runs Karere: the JSON API, the delivery workers, the
// sweeper and the inbound SMTP server, in one process or split by role.
//
//	hubd dev                      everything in one process, embedded SQLite and Redis
//	hubd serve                    production: PostgreSQL (or SQLite) and Redis
//	hubd migrate                  apply database migrations
//	hubd practice create --name N create a practice and print its first API key
//	hubd key create --practice ID add an API key (live or test)
//	hubd staff add --practice ID  add a staff login (password on stdin)
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `hubd: Karere, the secure messaging and notification hub for patient portals.

Usage:
  hubd dev                        try it: embedded SQLite + in-process Redis, demo practice
  hubd serve [flags]              run the API, workers and inbound SMTP (see hubd serve --help)
  hubd migrate [flags]            apply database migrations
  hubd practice create --name N [--timezone TZ] [--mode live|test] [--json]
  hubd key create --practice ID [--mode live|test] [--label L] [--json]
  hubd staff add --practice ID --email E --name N   (password read from stdin)
  hubd version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := runCommand(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hubd:", err)
		os.Exit(1)
	}
}

// runCommand dispatches a command line; it is main without the exits, so
// tests can call it.
func runCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "dev":
		return cmdDev(ctx, rest, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, stdout, stderr)
	case "practice":
		return cmdPractice(ctx, rest, stdout, stderr)
	case "key":
		return cmdKey(ctx, rest, stdout, stderr)
	case "staff":
		return cmdStaff(ctx, rest, stdin, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "hubd", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
