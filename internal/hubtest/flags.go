package hubtest

import (
	"flag"
	"io"
)

// flagSetNoEnv gives the defaults of every setting. (Environment variables
// a developer has set would leak into them; tests set what they need.)
func flagSetNoEnv() *flag.FlagSet {
	fs := flag.NewFlagSet("hubtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}
