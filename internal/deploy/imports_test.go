package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/karerehub/karere"

// importRule says which packages of the project a group of packages may
// not depend on, directly or through others (docs/ARCHITECTURE.md,
// "Dependency rules").
type importRule struct {
	name      string
	applies   func(pkg string) bool // the packages the rule is about
	forbidden func(dep string) bool // project packages they must not reach
}

// under reports whether pkg is the project package rel or below it.
func under(pkg, rel string) bool {
	p := module + "/" + rel
	return pkg == p || strings.HasPrefix(pkg, p+"/")
}

// coreAdapters are the packages that sit on the core and may not be
// reached from it.
func coreAdapters(dep string) bool {
	return under(dep, "channels") || under(dep, "hub/api") || under(dep, "hub/inbox") ||
		under(dep, "queue") || under(dep, "hub/store") || under(dep, "internal/app")
}

// isCore: hub and its subdomain packages (not its adapters, the store or
// the OpenPGP leaf).
func isCore(pkg string) bool {
	if !under(pkg, "hub") {
		return false
	}
	for _, not := range []string{"hub/api", "hub/inbox", "hub/store", "hub/pgp"} {
		if under(pkg, not) {
			return false
		}
	}
	return true
}

var importRules = []importRule{
	{
		name:      "hub and its subdomains import no channel, hub/api, hub/inbox, queue or hub/store",
		applies:   isCore,
		forbidden: coreAdapters,
	},
	{
		name:    "channels import no hub/api and no queue",
		applies: func(p string) bool { return under(p, "channels") },
		forbidden: func(d string) bool {
			return under(d, "hub/api") || under(d, "hub/inbox") || under(d, "queue") || under(d, "internal/app")
		},
	},
	{
		name:      "templates imports nothing of the project",
		applies:   func(p string) bool { return under(p, "templates") },
		forbidden: func(d string) bool { return !under(d, "templates") },
	},
	{
		name:      "internal/netguard imports nothing of the project",
		applies:   func(p string) bool { return under(p, "internal/netguard") },
		forbidden: func(d string) bool { return !under(d, "internal/netguard") },
	},
	{
		name:      "hub/pgp imports nothing of the project",
		applies:   func(p string) bool { return under(p, "hub/pgp") },
		forbidden: func(d string) bool { return !under(d, "hub/pgp") },
	},
	{
		name:      "client imports only hub/pgp",
		applies:   func(p string) bool { return under(p, "client") },
		forbidden: func(d string) bool { return !under(d, "client") && !under(d, "hub/pgp") },
	},
}

type listedPackage struct {
	ImportPath string
	Deps       []string
}

// listPackages runs `go list -deps -json ./...` at the module root: every
// package the project builds (tests left out) with its transitive deps.
func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json", "./...")
	cmd.Dir = repoRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.ImportPath == module || strings.HasPrefix(p.ImportPath, module+"/") {
			pkgs = append(pkgs, p)
		}
	}
	return pkgs
}

// violations lists "pkg -> dep" for every rule broken in pkgs.
func violations(pkgs []listedPackage) map[string][]string {
	out := map[string][]string{}
	for _, p := range pkgs {
		for _, r := range importRules {
			if !r.applies(p.ImportPath) {
				continue
			}
			for _, d := range p.Deps {
				if strings.HasPrefix(d, module+"/") && r.forbidden(d) {
					out[r.name] = append(out[r.name], p.ImportPath+" -> "+d)
				}
			}
		}
	}
	return out
}

// TestImportRules fails when a package depends, directly or through
// another, on a package its layer may not reach.
func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d project packages: the listing is broken", len(pkgs))
	}
	seen := map[string]bool{}
	for _, p := range pkgs {
		for _, r := range importRules {
			if r.applies(p.ImportPath) {
				seen[r.name] = true
			}
		}
	}
	for _, r := range importRules {
		if !seen[r.name] {
			t.Errorf("rule %q applies to no package: the layout changed, update the rule", r.name)
		}
	}
	for rule, vs := range violations(pkgs) {
		t.Errorf("%s; broken by:\n  %s", rule, strings.Join(vs, "\n  "))
	}
}

// TestImportRulesCatchViolations shows the check fails on a forbidden
// dependency, direct or transitive.
func TestImportRulesCatchViolations(t *testing.T) {
	for _, tc := range []struct {
		name string
		pkg  listedPackage
		want bool
	}{
		{"core on queue", listedPackage{ImportPath: module + "/hub/delivery", Deps: []string{module + "/queue"}}, true},
		{"core on store", listedPackage{ImportPath: module + "/hub", Deps: []string{module + "/hub/store"}}, true},
		{"core on a channel", listedPackage{ImportPath: module + "/hub/messaging", Deps: []string{module + "/channels/sms"}}, true},
		{"channel on the API", listedPackage{ImportPath: module + "/channels/email", Deps: []string{module + "/hub/api"}}, true},
		{"templates on hub", listedPackage{ImportPath: module + "/templates", Deps: []string{module + "/hub"}}, true},
		{"client on hub", listedPackage{ImportPath: module + "/client", Deps: []string{module + "/hub"}}, true},
		{"client on pgp", listedPackage{ImportPath: module + "/client", Deps: []string{module + "/hub/pgp"}}, false},
		{"subdomain on subdomain", listedPackage{ImportPath: module + "/hub/reminders", Deps: []string{module + "/hub/delivery"}}, false},
		{"store on hub", listedPackage{ImportPath: module + "/hub/store", Deps: []string{module + "/hub"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(violations([]listedPackage{tc.pkg})) > 0; got != tc.want {
				t.Errorf("violation = %v, want %v", got, tc.want)
			}
		})
	}
}
