package app

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"

	"github.com/hibiken/asynqmon"
)

// opsDashboard serves Asynq's queue dashboard (asynqmon) for operators at
// /ops/queues/: queues, retries, dead letters (archived tasks), servers.
// Task payloads hold ids only, never content. It asks for HTTP Basic auth
// with KARERE_OPS_TOKEN as the password (any user name).
func (a *App) opsDashboard() http.Handler {
	mon := asynqmon.New(asynqmon.Options{RootPath: "/ops/queues", RedisConnOpt: a.redis})
	want := sha256.Sum256([]byte(a.cfg.OpsToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pass, ok := r.BasicAuth()
		got := sha256.Sum256([]byte(pass))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="karere operations", charset="UTF-8"`)
			http.Error(w, "operator token required (KARERE_OPS_TOKEN)", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Frame-Options", "DENY")
		mon.ServeHTTP(w, r)
	})
}
