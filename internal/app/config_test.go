package app

import (
	"flag"
	"io"
	"strings"
	"testing"
)

// TestConfigAllowedPrivateTargets: a bad allow-list entry stops the hub
// at start, naming the setting, the entry and what to write instead.
func TestConfigAllowedPrivateTargets(t *testing.T) {
	tests := []struct {
		name, allow string
		want        []string // all in the error; none: valid
	}{
		{"empty", "", nil},
		{"CIDR and host:port", "10.20.0.0/16, pms.surgery.local:8443", nil},
		{"address without port", "10.20.0.0/16,10.20.0.5", []string{"KARERE_ALLOWED_PRIVATE_TARGETS", `entry 2 "10.20.0.5"`, "10.20.0.5:PORT"}},
		{"host bits", "10.20.0.5/16", []string{"KARERE_ALLOWED_PRIVATE_TARGETS", "10.20.0.0/16"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.BindFlags(fs)
			c.AllowedPrivateTargets = tt.allow
			err := c.Validate(false, false)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
