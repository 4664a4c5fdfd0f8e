package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/karerehub/karere/internal/app"
	"github.com/karerehub/karere/internal/hubtest"
	"github.com/karerehub/karere/internal/testenv"
)

// TestOpsDashboard: the queue dashboard answers only with the operator
// token, and shows Karere's queues.
func TestOpsDashboard(t *testing.T) {
	const token = "an-operator-token-for-tests"
	h := hubtest.Start(t, hubtest.Options{Backend: hubtest.Postgres, RedisDB: testenv.RedisDBApp,
		Configure: func(c *app.Config) { c.OpsToken = token }})
	h.MustDo(201, "PUT", "/v1/patients/p-1", map[string]any{"given_name": "Aroha"})
	h.MustDo(202, "POST", "/v1/notices", map[string]any{"patient": "p-1", "text": "hello"})
	get := func(path, pass string) (int, string) {
		req, _ := http.NewRequest("GET", h.URL+path, nil)
		if pass != "" {
			req.SetBasicAuth("ops", pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, _ := get("/ops/queues/", ""); st != 401 {
		t.Errorf("no token: %d", st)
	}
	if st, _ := get("/ops/queues/", "wrong-token-wrong-token"); st != 401 {
		t.Errorf("wrong token: %d", st)
	}
	if st, body := get("/ops/queues/", token); st != 200 || !strings.Contains(body, "<html") {
		t.Errorf("dashboard: %d %.200s", st, body)
	}
	if st, body := get("/ops/queues/api/queues", token); st != 200 || !strings.Contains(body, `"default"`) {
		t.Errorf("queues API: %d %.300s", st, body)
	}
}

// TestOpsDashboardOff: without a token there is no dashboard.
func TestOpsDashboardOff(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{Backend: hubtest.SQLite})
	if r := h.Do("GET", "/ops/queues/", "-", nil); r.Status != 404 {
		t.Errorf("dashboard without a token configured: %d", r.Status)
	}
}
