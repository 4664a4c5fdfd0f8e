package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/karerehub/karere/client"
	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/hubtest"
)

// karere runs the command line against h and returns standard output.
type harness struct {
	t   *testing.T
	h   *hubtest.Hub
	dir string
}

func (k *harness) run(stdin string, args ...string) (string, error) {
	k.t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	all := append([]string{"--url", k.h.URL, "--api-key", k.h.Key}, args...)
	err := run(ctx, all, strings.NewReader(stdin), &out, &errOut)
	if errOut.Len() > 0 {
		k.t.Logf("karere %s: stderr: %s", strings.Join(args, " "), errOut.String())
	}
	return out.String(), err
}

func (k *harness) must(stdin string, args ...string) string {
	k.t.Helper()
	out, err := k.run(stdin, args...)
	if err != nil {
		k.t.Fatalf("karere %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// user makes a passphrase file and a key with karere keygen; it returns
// the global flags that use them and the key's fingerprint.
func (k *harness) user(name, email string) ([]string, string) {
	k.t.Helper()
	slug := strings.ToLower(strings.Fields(name)[0])
	pf := filepath.Join(k.dir, slug+".pass")
	if err := os.WriteFile(pf, []byte("passphrase of "+name+"\n"), 0o600); err != nil {
		k.t.Fatal(err)
	}
	kf := filepath.Join(k.dir, slug+".key")
	out := k.must("", "keygen", "--name", name, "--email", email, "--out", kf, "--passphrase-file", pf)
	fp := regexp.MustCompile(`fingerprint ([0-9A-F]{40})`).FindStringSubmatch(out)
	if fp == nil {
		k.t.Fatalf("keygen printed %q", out)
	}
	st, err := os.Stat(kf)
	if err != nil || st.Mode().Perm() != 0o600 {
		k.t.Fatalf("key file: %v %v", st.Mode(), err)
	}
	return []string{"--key-file", kf, "--passphrase-file", pf}, fp[1]
}

func TestCLISecureMessaging(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{Backend: hubtest.SQLite})
	k := &harness{t: t, h: h, dir: t.TempDir()}
	ctx := context.Background()
	c, err := client.New(h.URL, h.Key)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.PutPatient(ctx, "p-1001", client.PatientInput{GivenName: "Aroha", FamilyName: "Ngata",
		Email: "aroha@example.nz", Channels: []string{"portal"}}); err != nil {
		t.Fatal(err)
	}
	mereID := mustStaff(t, h, "mere@kowhai.example.nz", "Dr Mere Tane")
	hemiID := mustStaff(t, h, "hemi@kowhai.example.nz", "Hemi Walker")

	patient, patientFP := k.user("Aroha Ngata", "aroha@example.nz")
	mere, mereFP := k.user("Mere Tane", "mere@kowhai.example.nz")
	hemi, hemiFP := k.user("Hemi Walker", "hemi@kowhai.example.nz")

	// keygen refuses to overwrite a key.
	if _, err := k.run("", append(patient, "keygen", "--name", "X", "--out", patient[1])...); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("keygen over an existing key: %v", err)
	}

	out := k.must("", append(patient, "key", "publish", "--patient", "p-1001")...)
	if !strings.Contains(out, patientFP) {
		t.Fatalf("publish printed %q", out)
	}
	k.must("", append(mere, "key", "publish", "--staff", mereID)...)
	k.must("", append(hemi, "key", "publish", "--staff", hemiID)...)
	if lk, err := c.StaffLockedKey(ctx, hemiID); err != nil || lk.Fingerprint != hemiFP {
		t.Fatalf("locked key: %+v %v", lk, err)
	}

	out = k.must("", append(mere, "team", "init", "--staff", mereID)...)
	if !strings.Contains(out, "team key ") {
		t.Fatalf("team init printed %q", out)
	}
	// Flags after the positional argument, too.
	k.must("", append(mere, "team", "grant", hemiID, "--staff", mereID, "--pin", hemiFP)...)

	thread := strings.TrimSpace(k.must("", "thread", "new", "--patient", "p-1001", "--category", "results"))
	if !strings.HasPrefix(thread, "thr") {
		t.Fatalf("thread new printed %q", thread)
	}

	question := "Kia ora, are my blood test results back? \x1b[31m(escape)"
	out = k.must(question, append(patient, "send", "--thread", thread, "--as", "patient")...)
	if !strings.Contains(out, "sent ") || !strings.Contains(out, patientFP) {
		t.Fatalf("send printed %q", out)
	}
	out = k.must("", "threads", "--unread")
	if !strings.Contains(out, thread) || !strings.Contains(out, "Aroha Ngata") {
		t.Fatalf("threads --unread printed %q", out)
	}

	// Mere reads through her grant, and answers.
	out = k.must("", append(mere, "read", "--thread", thread, "--as", "staff:"+mereID, "--mark-read")...)
	if !strings.Contains(out, "Kia ora, are my blood test results back?") ||
		!strings.Contains(out, "signature good: signed by patient ("+patientFP+")") {
		t.Fatalf("staff read printed:\n%s", out)
	}
	if strings.Contains(out, "\x1b") {
		t.Fatalf("read printed a terminal escape sequence")
	}
	if out := k.must("", "threads", "--unread"); strings.Contains(out, thread) {
		t.Fatalf("thread still unread after read --mark-read:\n%s", out)
	}
	answer := "Yes, they are normal. Ngā mihi, Mere"
	k.must(answer, append(mere, "send", "--thread", thread, "--as", "staff:"+mereID)...)

	// The patient reads both.
	out = k.must("", append(patient, "read", "--thread", thread)...)
	if !strings.Contains(out, answer) || !strings.Contains(out, "signature good: signed by staff:"+mereID+" ("+mereFP+")") ||
		!strings.Contains(out, "signature good: signed by patient") {
		t.Fatalf("patient read printed:\n%s", out)
	}
	// An SMS reply, sealed by the hub on arrival.
	if _, err := h.App.Core().Messaging.ReceiveReply(ctx, hub.InboundText{PracticeID: h.Practice.ID, Via: "sms",
		From: "+64211234567", ProviderID: "SM-1", ThreadID: thread, Text: "Thanks Mere!"}); err != nil {
		t.Fatal(err)
	}
	out = k.must("", append(patient, "read", "--thread", thread)...)
	if !strings.Contains(out, "arrived unencrypted via sms") || !strings.Contains(out, "Thanks Mere!") {
		t.Fatalf("patient read of the SMS reply:\n%s", out)
	}
	// Hemi reads through the grant Mere made him.
	out = k.must("", append(hemi, "read", "--thread", thread, "--as", "staff:"+hemiID)...)
	if !strings.Contains(out, answer) {
		t.Fatalf("Hemi read printed:\n%s", out)
	}

	// Rotation without Hemi: he cannot open the new team key.
	out = k.must("", append(mere, "team", "rotate", "--staff", mereID, "--remove", hemiID)...)
	if !strings.Contains(out, "granted to "+mereID) || strings.Contains(out, "granted to "+mereID+", ") {
		t.Fatalf("rotate printed %q", out)
	}
	k.must("After the rotation.", append(patient, "send", "--thread", thread, "--as", "patient")...)
	if _, err := k.run("", append(hemi, "read", "--thread", thread, "--as", "staff:"+hemiID)...); !client.IsCode(err, "no_grant") {
		t.Fatalf("Hemi read after removal: %v", err)
	}
	out = k.must("", append(mere, "read", "--thread", thread, "--as", "staff:"+mereID)...)
	if strings.Count(out, "signature good") != 3 || strings.Count(out, "arrived unencrypted via sms") != 1 ||
		!strings.Contains(out, "After the rotation.") {
		t.Fatalf("Mere read after rotation:\n%s", out)
	}
}

func TestCLIUsage(t *testing.T) {
	ctx := context.Background()
	var out, errOut bytes.Buffer
	c := &cli{ctx: ctx, stdin: strings.NewReader(""), stdout: &out, stderr: &errOut,
		getenv: func(string) string { return "" }}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "no command"},
		{"unknown", []string{"frobnicate"}, "unknown command"},
		{"no url", []string{"threads"}, "--url or KARERE_URL"},
		{"keygen without out", []string{"keygen", "--name", "A"}, "--out is required"},
		{"keygen without passphrase", []string{"keygen", "--name", "A", "--out", filepath.Join(t.TempDir(), "k")}, "KARERE_PASSPHRASE"},
		{"passphrase is no flag", []string{"keygen", "--passphrase", "x"}, "not defined"},
		{"bad sender", []string{"--url", "http://x", "--api-key", "k", "send", "--thread", "t", "--as", "doctor"}, "--as"},
		{"grant needs a staff id", []string{"team", "grant", "--staff", "s"}, "STAFF_ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.run(tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, errUsage) || exitCode(err) != 2 {
				t.Fatalf("error %v, want a usage error with %q", err, tt.want)
			}
		})
	}

	// KARERE_PASSPHRASE is read from the environment.
	env := map[string]string{"KARERE_PASSPHRASE": "from the environment"}
	c.getenv = func(k string) string { return env[k] }
	kf := filepath.Join(t.TempDir(), "k.key")
	if err := c.run([]string{"keygen", "--name", "A", "--out", kf}); err != nil {
		t.Fatal(err)
	}
	c.keyFile = kf
	if _, err := c.unlock(); err != nil {
		t.Fatalf("unlock with KARERE_PASSPHRASE: %v", err)
	}
	env["KARERE_PASSPHRASE"] = "wrong"
	if _, err := c.unlock(); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Fatalf("wrong passphrase: %v", err)
	}
}

func mustStaff(t *testing.T, h *hubtest.Hub, email, name string) string {
	t.Helper()
	st, err := h.App.Core().Directory.AddStaff(context.Background(), h.Practice.ID, email, name, "a long enough password 123")
	if err != nil {
		t.Fatal(err)
	}
	return st.ID
}
