package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/karerehub/karere/client"
	"github.com/karerehub/karere/hub/pgp"
)

const usage = `karere: the command-line client of a Karere hub (end-to-end encrypted messages).

Usage:
  karere [global flags] COMMAND [flags]

Keys:
  keygen --name N --email E --out FILE      make a passphrase-locked key pair; prints the fingerprint
  key publish --patient ID | --staff ID     upload the public key and the locked private key

Team key (staff):
  team init --staff MY_ID                   make the practice team key and your grant
  team grant STAFF_ID --staff MY_ID [--pin FPR]
                                            give a colleague the team key
  team rotate --staff MY_ID [--remove ID]...
                                            new team key for everyone but the removed

Threads and messages:
  threads [--unread] [--patient P]          list threads
  thread new --patient P [--category C]     open a thread
  send --thread T --as patient|staff:ID [--pin-patient FPR] [--pin-team FPR]
                                            encrypt, sign and send standard input
  read --thread T [--as patient|staff:ID] [--mark-read]
                                            decrypt and verify a thread

Global flags (each with an environment twin):
  --url URL               hub address (KARERE_URL)
  --api-key KEY           practice API key (KARERE_API_KEY)
  --key-file FILE         your locked private key (KARERE_KEY_FILE)
  --passphrase-file FILE  file holding its passphrase; or set KARERE_PASSPHRASE
`

// errUsage marks a command line that could not be understood (exit 2).
var errUsage = errors.New("usage")

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
func (e *usageError) Is(t error) bool {
	return t == errUsage
}

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// maxPlaintext bounds what send reads from standard input: the hub takes
// OpenPGP messages up to 10 MiB, and encryption adds a little.
const maxPlaintext = 10<<20 - 64<<10

// cli is one invocation.
type cli struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	url, apiKey, keyFile, passphraseFile string
}

// run runs the karere command line args (without the program name).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	c := &cli{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return c.run(args)
}

func (c *cli) run(args []string) error {
	c.url = c.getenv("KARERE_URL")
	c.apiKey = c.getenv("KARERE_API_KEY")
	c.keyFile = c.getenv("KARERE_KEY_FILE")
	fs := c.flags("karere")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	args = fs.Args()
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage)
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	if (cmd == "key" || cmd == "team" || cmd == "thread") && len(rest) > 0 {
		cmd, rest = cmd+" "+rest[0], rest[1:]
	}
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(c.stdout, usage)
		return nil
	case "keygen":
		return c.keygen(rest)
	case "key publish":
		return c.keyPublish(rest)
	case "team init":
		return c.teamInit(rest)
	case "team grant":
		return c.teamGrant(rest)
	case "team rotate":
		return c.teamRotate(rest)
	case "threads":
		return c.threads(rest)
	case "thread new":
		return c.threadNew(rest)
	case "send":
		return c.send(rest)
	case "read":
		return c.read(rest)
	}
	fmt.Fprint(c.stderr, usage)
	return usagef("unknown command %q", cmd)
}

// flags returns a flag set holding the global flags, so they may come
// before or after the command.
func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.StringVar(&c.url, "url", c.url, "hub address (KARERE_URL)")
	fs.StringVar(&c.apiKey, "api-key", c.apiKey, "practice API key (KARERE_API_KEY)")
	fs.StringVar(&c.keyFile, "key-file", c.keyFile, "your locked private key (KARERE_KEY_FILE)")
	fs.StringVar(&c.passphraseFile, "passphrase-file", c.passphraseFile, "file holding the key's passphrase (or KARERE_PASSPHRASE)")
	return fs
}

// parse parses flags that may come before or after positional arguments,
// and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// positional parses args and requires exactly n positional arguments.
func positional(fs *flag.FlagSet, args []string, n int, what string) ([]string, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != n {
		if n == 0 {
			return nil, usagef("%s: unexpected argument %q", fs.Name(), pos[0])
		}
		return nil, usagef("%s: want %s", fs.Name(), what)
	}
	return pos, nil
}

func required(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if fs.Lookup(n).Value.String() == "" {
			return usagef("%s: --%s is required", fs.Name(), n)
		}
	}
	return nil
}

// client returns an API client from --url and --api-key.
func (c *cli) client() (*client.Client, error) {
	if c.url == "" {
		return nil, usagef("the hub address is missing: set --url or KARERE_URL")
	}
	if c.apiKey == "" {
		return nil, usagef("the API key is missing: set --api-key or KARERE_API_KEY")
	}
	return client.New(c.url, c.apiKey, client.WithUserAgent("karere-cli/1"))
}

// passphrase reads the passphrase from --passphrase-file or
// KARERE_PASSPHRASE. It is never a flag value: those show in process
// lists and shell history.
func (c *cli) passphrase() ([]byte, error) {
	if c.passphraseFile != "" {
		b, err := os.ReadFile(c.passphraseFile)
		if err != nil {
			return nil, fmt.Errorf("reading the passphrase: %w", err)
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 {
			return nil, fmt.Errorf("the passphrase file %s is empty", c.passphraseFile)
		}
		return b, nil
	}
	if p := c.getenv("KARERE_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	return nil, usagef("the key's passphrase is missing: set KARERE_PASSPHRASE or --passphrase-file")
}

// privateKey reads --key-file.
func (c *cli) privateKey() ([]byte, error) {
	if c.keyFile == "" {
		return nil, usagef("the key file is missing: set --key-file or KARERE_KEY_FILE (make one with karere keygen)")
	}
	b, err := os.ReadFile(c.keyFile)
	if err != nil {
		return nil, fmt.Errorf("reading the key: %w", err)
	}
	return b, nil
}

// unlock reads and unlocks --key-file.
func (c *cli) unlock() (*openpgp.Entity, error) {
	priv, err := c.privateKey()
	if err != nil {
		return nil, err
	}
	pass, err := c.passphrase()
	if err != nil {
		return nil, err
	}
	e, err := pgp.ReadPrivateKey(priv, pass)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.keyFile, err)
	}
	return e, nil
}

// sender parses --as.
func sender(as string) (client.Sender, error) {
	s, ok := client.ParseSender(as)
	if !ok {
		return "", usagef("--as %q: want patient or staff:<your staff id>", as)
	}
	return s, nil
}

func (c *cli) printf(format string, args ...any) { fmt.Fprintf(c.stdout, format, args...) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
