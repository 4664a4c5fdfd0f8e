// Command karere is the command-line client of a Karere hub for patients,
// staff and admins: key generation and publication, the practice team key,
// and end-to-end encrypted secure messages. Encryption, signing,
// decryption and verification happen here, on the user's device; the hub
// sees only ciphertext.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "karere:", err)
		stop()
		os.Exit(exitCode(err))
	}
}
