package deploy

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/karerehub/karere/internal/app"
)

// repoRoot is the module root, where the deployment files live.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	return root
}

func testSecretKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// loadCompose loads and validates docker-compose.yml the way `docker
// compose` does, with only env for interpolation (never this process's
// environment or a .env file).
func loadCompose(t *testing.T, env []string, profiles ...string) (*types.Project, error) {
	t.Helper()
	root := repoRoot(t)
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnv(env),
		cli.WithName("karere"),
		cli.WithProfiles(profiles),
	)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func mustLoadCompose(t *testing.T, profiles ...string) *types.Project {
	t.Helper()
	p, err := loadCompose(t, []string{"KARERE_SECRET_KEY=" + testSecretKey(t)}, profiles...)
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

// settingEnvNames is every KARERE_* variable hubd reads, from the flags
// app.Config binds (same rule as app's envName).
func settingEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	var c app.Config
	fs := flag.NewFlagSet("settings", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.BindFlags(fs)
	names := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		names["KARERE_"+strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))] = true
	})
	if len(names) == 0 {
		t.Fatal("app.Config bound no flags")
	}
	return names
}

func TestComposeLoads(t *testing.T) {
	p := mustLoadCompose(t, "scale")
	if p.Name != "karere" {
		t.Errorf("project name = %q, want karere", p.Name)
	}
	for _, name := range []string{"postgres", "redis", "mail", "migrate", "hubd", "worker"} {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("service %q missing (have %v)", name, slices.Sorted(maps.Keys(p.Services)))
		}
	}
	for _, v := range []string{"postgres-data", "redis-data"} {
		if _, ok := p.Volumes[v]; !ok {
			t.Errorf("named volume %q missing", v)
		}
	}
}

func TestComposeWorkerIsOptIn(t *testing.T) {
	p := mustLoadCompose(t)
	if _, ok := p.Services["worker"]; ok {
		t.Error(`worker runs without the "scale" profile; it should be opt-in`)
	}
	if _, ok := p.DisabledServices["worker"]; !ok {
		t.Error(`worker service missing (expected it behind the "scale" profile)`)
	}
	for _, name := range []string{"postgres", "redis", "mail", "migrate", "hubd"} {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("service %q does not run by default", name)
		}
	}
}

func TestComposeRequiresSecretKey(t *testing.T) {
	_, err := loadCompose(t, nil)
	if err == nil {
		t.Fatal("docker-compose.yml loaded without KARERE_SECRET_KEY; it must refuse")
	}
	if !strings.Contains(err.Error(), "KARERE_SECRET_KEY") {
		t.Errorf("error does not name KARERE_SECRET_KEY: %v", err)
	}
	if !strings.Contains(err.Error(), "openssl rand") {
		t.Errorf("error does not say how to make a key: %v", err)
	}
}

func TestComposeHubdDependsOnHealthyStores(t *testing.T) {
	p := mustLoadCompose(t, "scale")
	want := map[string]string{
		"postgres": types.ServiceConditionHealthy,
		"redis":    types.ServiceConditionHealthy,
		"migrate":  types.ServiceConditionCompletedSuccessfully,
	}
	for _, name := range []string{"hubd", "worker"} {
		s := p.Services[name]
		for dep, cond := range want {
			got, ok := s.DependsOn[dep]
			if !ok {
				t.Errorf("%s does not depend on %s", name, dep)
				continue
			}
			if got.Condition != cond {
				t.Errorf("%s depends on %s with condition %q, want %q", name, dep, got.Condition, cond)
			}
		}
	}
	m := p.Services["migrate"]
	if got := m.DependsOn["postgres"].Condition; got != types.ServiceConditionHealthy {
		t.Errorf("migrate depends on postgres with condition %q, want %q", got, types.ServiceConditionHealthy)
	}
	if m.Restart != "no" {
		t.Errorf("migrate restart = %q, want \"no\" (it is one-shot)", m.Restart)
	}
	if !slices.Equal([]string(m.Command), []string{"migrate"}) {
		t.Errorf("migrate command = %q, want [migrate]", m.Command)
	}
}

func TestComposeRedisAppendOnly(t *testing.T) {
	p := mustLoadCompose(t)
	cmd := strings.Join(p.Services["redis"].Command, " ")
	for _, want := range []string{"--appendonly yes", "--appendfsync everysec"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("redis command %q lacks %q: queued work would not survive a restart", cmd, want)
		}
	}
	if vols := p.Services["redis"].Volumes; len(vols) == 0 || vols[0].Target != "/data" {
		t.Errorf("redis has no volume on /data: %+v", vols)
	}
}

// TestComposeHealthchecks: everything others wait on must report health.
// migrate is one-shot; the hubd image is distroless (no shell or curl), so
// hubd processes are probed on /healthz and /readyz by whatever runs them.
func TestComposeHealthchecks(t *testing.T) {
	p := mustLoadCompose(t, "scale")
	for name, s := range p.Services {
		if name == "migrate" || isHubd(t, s) {
			continue
		}
		if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
			t.Errorf("service %q has no healthcheck", name)
		}
	}
	checks := map[string]string{
		"postgres": "pg_isready -U karere -d karere",
		"redis":    "redis-cli ping",
	}
	for name, want := range checks {
		hc := p.Services[name].HealthCheck
		if hc == nil || !strings.Contains(strings.Join(hc.Test, " "), want) {
			t.Errorf("%s healthcheck = %+v, want it to run %q", name, hc, want)
		}
	}
}

// isHubd reports whether s runs the image built from this repository.
func isHubd(t *testing.T, s types.ServiceConfig) bool {
	return s.Build != nil && s.Build.Context == repoRoot(t)
}

func TestComposeHubdEnvironment(t *testing.T) {
	p := mustLoadCompose(t, "scale")
	hubd := p.Services["hubd"]
	env := hubd.Environment
	get := func(k string) string {
		if v := env[k]; v != nil {
			return *v
		}
		return ""
	}
	if v := get("KARERE_DATABASE_URL"); !strings.HasPrefix(v, "postgres://") || !strings.Contains(v, "@postgres:5432/karere") {
		t.Errorf("hubd KARERE_DATABASE_URL = %q, want postgres://...@postgres:5432/karere", v)
	}
	if v := get("KARERE_REDIS_URL"); !strings.HasPrefix(v, "redis://redis:6379") {
		t.Errorf("hubd KARERE_REDIS_URL = %q, want redis://redis:6379/...", v)
	}
	if v := get("KARERE_SECRET_KEY"); v == "" {
		t.Error("hubd KARERE_SECRET_KEY is empty")
	}
	if v := get("KARERE_MIGRATE"); v != "false" {
		t.Errorf("hubd KARERE_MIGRATE = %q, want false (the migrate service runs them)", v)
	}
	if v := get("KARERE_SMTP_RELAY"); v != "mail:1025" {
		t.Errorf("hubd KARERE_SMTP_RELAY = %q, want mail:1025 (the mail catcher)", v)
	}
	if got := p.Services["migrate"].Environment["KARERE_DATABASE_URL"]; got == nil || *got != get("KARERE_DATABASE_URL") {
		t.Errorf("migrate and hubd use different databases: %v vs %q", got, get("KARERE_DATABASE_URL"))
	}
	var published []string
	for _, port := range hubd.Ports {
		published = append(published, port.Published+":"+strconv.FormatUint(uint64(port.Target), 10))
	}
	for _, want := range []string{"8080:8080", "2525:2525"} {
		if !slices.Contains(published, want) {
			t.Errorf("hubd does not publish %s (has %v)", want, published)
		}
	}
	if hubd.Restart != types.RestartPolicyUnlessStopped {
		t.Errorf("hubd restart = %q, want unless-stopped", hubd.Restart)
	}
	if hubd.StopGracePeriod == nil || hubd.StopGracePeriod.String() != "30s" {
		t.Errorf("hubd stop_grace_period = %v, want 30s (longer than KARERE_SHUTDOWN_TIMEOUT)", hubd.StopGracePeriod)
	}
}

// TestComposeConfigAcceptedByHubd feeds each hubd process's environment and
// command to app.Config, as `hubd serve` would, and validates it.
func TestComposeConfigAcceptedByHubd(t *testing.T) {
	p := mustLoadCompose(t, "scale")
	for _, name := range []string{"hubd", "worker"} {
		t.Run(name, func(t *testing.T) {
			s := p.Services[name]
			if len(s.Command) == 0 || s.Command[0] != "serve" {
				t.Fatalf("%s command = %q, want serve ...", name, s.Command)
			}
			for k, v := range s.Environment {
				if v != nil {
					t.Setenv(k, *v)
				}
			}
			var c app.Config
			fs := flag.NewFlagSet("hubd serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.BindFlags(fs)
			if err := fs.Parse(s.Command[1:]); err != nil {
				t.Fatalf("%s command %q: %v", name, s.Command, err)
			}
			if err := c.Validate(true, true); err != nil {
				t.Fatalf("hubd would refuse the %s service's settings: %v", name, err)
			}
		})
	}
}

func TestComposeBuildsFromRepoDockerfile(t *testing.T) {
	p := mustLoadCompose(t, "scale")
	root := repoRoot(t)
	for _, name := range []string{"migrate", "hubd", "worker"} {
		s := p.Services[name]
		if s.Build == nil {
			t.Errorf("%s has no build section", name)
			continue
		}
		if s.Build.Context != root {
			t.Errorf("%s builds from %q, want the repository root %q", name, s.Build.Context, root)
		}
		if df := s.Build.Dockerfile; df != "Dockerfile" && df != filepath.Join(root, "Dockerfile") {
			t.Errorf("%s builds with Dockerfile %q, want Dockerfile", name, df)
		}
	}
}

var karereVarRE = regexp.MustCompile(`KARERE_[A-Z0-9_]+`)

// TestComposeUsesRealSettings: a misspelt KARERE_* variable is silently
// ignored by hubd, so every one named in docker-compose.yml must be a setting.
func TestComposeUsesRealSettings(t *testing.T) {
	settings := settingEnvNames(t)
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, m := range karereVarRE.FindAllString(string(raw), -1) {
		used[m] = true
	}
	if len(used) == 0 {
		t.Fatal("docker-compose.yml names no KARERE_* settings")
	}
	var unknown []string
	for name := range used {
		if !settings[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("docker-compose.yml names KARERE_* variables that are not hubd settings: %v", unknown)
	}
	// The loaded environments too (catches a name built by interpolation).
	p := mustLoadCompose(t, "scale")
	for sname, s := range p.Services {
		for k := range s.Environment {
			if strings.HasPrefix(k, "KARERE_") && !settings[k] {
				t.Errorf("service %s sets %s, which is not a hubd setting", sname, k)
			}
		}
	}
}

// dockerfileInstructions reads a Dockerfile into instructions (keyword
// upper-cased, rest of the line), joining continuation lines and dropping
// comments. Enough for checks; not a full parser.
func dockerfileInstructions(t *testing.T) [][2]string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	defer f.Close()
	var out [][2]string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		inst := strings.TrimSpace(cur.String())
		cur.Reset()
		if inst == "" {
			continue
		}
		kw, rest, _ := strings.Cut(inst, " ")
		out = append(out, [2]string{strings.ToUpper(kw), strings.TrimSpace(rest)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDockerfile(t *testing.T) {
	insts := dockerfileInstructions(t)
	last := -1
	for i, in := range insts {
		if in[0] == "FROM" {
			last = i
		}
	}
	if last < 0 {
		t.Fatal("Dockerfile has no FROM")
	}
	if from := insts[last][1]; !strings.HasPrefix(from, "gcr.io/distroless/static-debian12:nonroot") {
		t.Errorf("final stage is FROM %q, want gcr.io/distroless/static-debian12:nonroot", from)
	}
	var builder, final [][2]string = insts[:last], insts[last:]

	var build string
	for _, in := range builder {
		if in[0] == "RUN" && strings.Contains(in[1], "go build") {
			build = in[1]
		}
	}
	if build == "" {
		t.Fatal("no RUN ... go build before the final stage")
	}
	if !strings.Contains(build, "./cmd/hubd") && !strings.Contains(build, "./cmd/...") {
		t.Errorf("go build does not build ./cmd/hubd: %s", build)
	}
	for _, want := range []string{"-trimpath", "timetzdata", "-X main.version="} {
		if !strings.Contains(build, want) {
			t.Errorf("go build lacks %s: %s", want, build)
		}
	}
	cgoOff := strings.Contains(build, "CGO_ENABLED=0")
	for _, in := range builder {
		if in[0] == "ENV" && strings.Contains(in[1], "CGO_ENABLED=0") {
			cgoOff = true
		}
	}
	if !cgoOff {
		t.Error("CGO_ENABLED=0 not set for the build: the binary must be static for distroless/static")
	}

	has := func(kw, want string) bool {
		for _, in := range final {
			if in[0] == kw && strings.Contains(in[1], want) {
				return true
			}
		}
		return false
	}
	for _, c := range [][2]string{
		{"USER", "nonroot"},
		{"ENTRYPOINT", `["/hubd"]`},
		{"CMD", `["serve"]`},
		{"EXPOSE", "8080"},
		{"EXPOSE", "2525"},
		{"COPY", "--from="},
	} {
		if !has(c[0], c[1]) {
			t.Errorf("final stage lacks %s %s", c[0], c[1])
		}
	}
}
