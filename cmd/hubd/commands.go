package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/alicebob/miniredis/v2"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/audit"
	"github.com/karerehub/karere/hub/identity"
	"github.com/karerehub/karere/hub/patients"
	"github.com/karerehub/karere/internal/app"
)

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hubd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// cmdServe runs the hub until SIGTERM/SIGINT.
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg app.Config
	fs := newFlagSet("serve", stderr)
	cfg.BindFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: hubd serve [flags]\n\nEvery flag can also be set with the environment variable named after it.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := cfg.Validate(true, true); err != nil {
		return err
	}
	log := app.NewLogger(&cfg, stderr)
	if cfg.PublicURL == "" {
		log.Warn("KARERE_PUBLIC_URL is not set: Twilio webhooks cannot be verified (they are refused), SMS go without status callbacks and emails without unsubscribe links")
	}
	a, err := app.New(ctx, &cfg, log, false)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		a.Shutdown(context.Background())
		return err
	}
	log.Info("hubd started", "version", version, "roles", cfg.Roles, "http", a.URL())
	<-ctx.Done()
	log.Info("shutting down: finishing in-flight work")
	a.Shutdown(context.Background())
	log.Info("stopped")
	return nil
}

// cmdDev runs the embedded default: SQLite in the data directory, an
// in-process Redis, everything kept in the outbox, and a demo practice.
func cmdDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg app.Config
	fs := newFlagSet("dev", stderr)
	cfg.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if cfg.HTTPAddr == app.DefaultHTTPAddr {
		cfg.HTTPAddr = "127.0.0.1:8080"
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("KARERE_DATA_DIR: %w", err)
	}
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = "sqlite:" + filepath.Join(cfg.DataDir, "karere.db")
	}
	var mini *miniredis.Miniredis
	if cfg.RedisURL == "" {
		mini = miniredis.NewMiniRedis()
		if err := mini.StartAddr("127.0.0.1:0"); err != nil {
			return fmt.Errorf("embedded redis: %w", err)
		}
		defer mini.Close()
		cfg.RedisURL = "redis://" + mini.Addr() + "/0"
	}
	if cfg.SecretKey == "" {
		key, err := devSecret(cfg.DataDir)
		if err != nil {
			return err
		}
		cfg.SecretKey = key
	}
	if err := cfg.Validate(true, true); err != nil {
		return err
	}
	log := app.NewLogger(&cfg, stderr)
	a, err := app.New(ctx, &cfg, log, true)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		a.Shutdown(context.Background())
		return err
	}
	demo, err := seedDemo(ctx, a, cfg.DataDir)
	if err != nil {
		a.Shutdown(context.Background())
		return err
	}
	url := a.URL()
	fmt.Fprintf(stdout, `Karere is running (embedded default: SQLite in %s, in-process Redis; SMS and email go to the outbox).

  API          %s/v1/   (health: %s/healthz, metrics: %s/metrics)
  Outbox       %s/v1/dev/outbox
  Staff inbox  %s/inbox/
  Practice     %s (%s)
  API key      %s   (new on every start)
  Staff login  %s / %s   (key passphrase, to read secure messages: %s)
  Patient      %s   (has a key and a secure thread waiting in the inbox)

Try:
  curl -s -X POST %s/v1/notices -H 'Authorization: Bearer %s' \
       -H 'Content-Type: application/json' -d '{"patient":"%s","text":"Kia ora! Your flu vaccine is due."}'
  curl -s %s/v1/patients/%s/inbox -H 'Authorization: Bearer %s'

Press Ctrl-C to stop.
`, cfg.DataDir, url, url, url, url, url, demo.practice.Name, demo.practice.ID, demo.key, demo.staffEmail, demo.staffPassword,
		demo.keyPassphrase, demo.patient, url, demo.key, demo.patient, url, demo.patient, demo.key)
	<-ctx.Done()
	a.Shutdown(context.Background())
	return nil
}

// devSecret reads or creates the embedded default's settings key.
func devSecret(dir string) (string, error) {
	path := filepath.Join(dir, "secret.key")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	s := base64.StdEncoding.EncodeToString(k)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("KARERE_DATA_DIR: %w", err)
	}
	return s, nil
}

type demoSeed struct {
	practice                  *hub.Practice
	key                       string
	staffEmail, staffPassword string
	keyPassphrase             string
	patient                   string
}

const demoPracticeName = "Kōwhai Health (demo)"

// seedDemo creates (once) a demo practice, staff login and patient, and a
// fresh API key on every start.
func seedDemo(ctx context.Context, a *app.App, dir string) (*demoSeed, error) {
	ps, err := a.Store().ListPractices(ctx)
	if err != nil {
		return nil, err
	}
	d := &demoSeed{staffEmail: "sione@kowhai.example", patient: "p-1001"}
	for i := range ps {
		if ps[i].Name == demoPracticeName {
			d.practice = &ps[i]
		}
	}
	loginFile := filepath.Join(dir, "demo-login.txt")
	if d.practice == nil {
		p, key, err := a.Core().Directory.CreatePractice(ctx, demoPracticeName, hub.DefaultTimeZone, hub.ModeLive)
		if err != nil {
			return nil, err
		}
		d.practice, d.key = p, key
		pw := make([]byte, 12)
		_, _ = rand.Read(pw)
		d.staffPassword = base64.RawURLEncoding.EncodeToString(pw)
		staff, err := a.Core().Directory.AddStaff(ctx, p.ID, d.staffEmail, "Sione Taufa", d.staffPassword)
		if err != nil {
			return nil, err
		}
		actor := hub.Actor{PracticeID: p.ID, ID: "dev-seed", Mode: hub.ModeLive}
		if _, _, err := a.Core().Patients.PutPatient(ctx, actor, d.patient, patients.PatientInput{
			GivenName: "Aroha", FamilyName: "Ngata", Phone: "+64211234567", Email: "aroha@example.nz",
			Channels: []string{hub.ChannelPortal, hub.ChannelSMS, hub.ChannelEmail}, Locale: "mi-NZ",
		}); err != nil {
			return nil, err
		}
		if d.keyPassphrase, err = seedSecureDemo(ctx, a.URL(), d.key, staff.ID, d.staffEmail, d.patient); err != nil {
			return nil, fmt.Errorf("seeding the secure-messaging demo: %w", err)
		}
		if err := os.WriteFile(loginFile, []byte(d.staffPassword+"\n"+d.keyPassphrase+"\n"), 0o600); err != nil {
			return nil, err
		}
		return d, nil
	}
	if d.key, err = a.Core().Directory.CreateAPIKey(ctx, d.practice.ID, hub.ModeLive, "hubd dev"); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(loginFile); err == nil {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		d.staffPassword = lines[0]
		if len(lines) > 1 {
			d.keyPassphrase = lines[1]
		}
	}
	return d, nil
}

// adminFlags are the flags admin commands share: the database.
func adminStore(ctx context.Context, fs *flag.FlagSet, args []string, cfg *app.Config) error {
	cfg.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return cfg.Validate(true, false)
}

// cmdMigrate applies migrations.
func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg app.Config
	if err := adminStore(ctx, newFlagSet("migrate", stderr), args, &cfg); err != nil {
		return err
	}
	cfg.Migrate = true
	st, err := app.OpenStore(ctx, &cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

// adminService opens the store and the directory of practices, keys and
// staff: all that the admin commands need (no queue, no secret key).
func adminService(ctx context.Context, cfg *app.Config) (*identity.Directory, func(), error) {
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return identity.NewDirectory(st, audit.New(st, nil), nil), func() { st.Close() }, nil
}

func cmdPractice(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: hubd practice create --name NAME [--timezone Pacific/Auckland] [--mode live|test] [--json]")
	}
	var cfg app.Config
	fs := newFlagSet("practice create", stderr)
	name := fs.String("name", "", "the practice's name")
	tz := fs.String("timezone", hub.DefaultTimeZone, "IANA time zone of the practice")
	mode := fs.String("mode", "live", "first API key's mode: live or test")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := adminStore(ctx, fs, args[1:], &cfg); err != nil {
		return err
	}
	svc, done, err := adminService(ctx, &cfg)
	if err != nil {
		return err
	}
	defer done()
	p, key, err := svc.CreatePractice(ctx, *name, *tz, hub.KeyMode(*mode))
	if err != nil {
		return describe(err)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]string{"practice_id": p.ID, "api_key": key, "name": p.Name, "timezone": p.TimeZone})
	}
	fmt.Fprintf(stdout, "practice %s created (%s)\nAPI key (shown once, store it safely): %s\n", p.ID, p.Name, key)
	return nil
}

func cmdKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: hubd key create --practice ID [--mode live|test] [--label L] [--json]")
	}
	var cfg app.Config
	fs := newFlagSet("key create", stderr)
	practice := fs.String("practice", "", "practice id")
	mode := fs.String("mode", "live", "live or test (a test key sends everything to the outbox)")
	label := fs.String("label", "", "what the key is for")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := adminStore(ctx, fs, args[1:], &cfg); err != nil {
		return err
	}
	svc, done, err := adminService(ctx, &cfg)
	if err != nil {
		return err
	}
	defer done()
	key, err := svc.CreateAPIKey(ctx, *practice, hub.KeyMode(*mode), *label)
	if err != nil {
		return describe(err)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]string{"practice_id": *practice, "api_key": key})
	}
	fmt.Fprintf(stdout, "API key (shown once): %s\n", key)
	return nil
}

func cmdStaff(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New("usage: hubd staff add --practice ID --email E --name N  (password on stdin)")
	}
	var cfg app.Config
	fs := newFlagSet("staff add", stderr)
	practice := fs.String("practice", "", "practice id")
	email := fs.String("email", "", "sign-in email")
	name := fs.String("name", "", "display name")
	if err := adminStore(ctx, fs, args[1:], &cfg); err != nil {
		return err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading the password from stdin: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	svc, done, err := adminService(ctx, &cfg)
	if err != nil {
		return err
	}
	defer done()
	st, err := svc.AddStaff(ctx, *practice, *email, *name, password)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "staff %s added\n", st.ID)
	return nil
}

// describe turns an API error into a command-line message.
func describe(err error) error {
	var e *hub.Error
	if errors.As(err, &e) {
		return errors.New(e.Message)
	}
	return err
}
