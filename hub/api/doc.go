// Package api serves Karere's JSON API v1 (README, "API v1"). Handlers return
// errors; writeError renders every one of them the same way:
//
//	{"error": {"code": "invalid_phone", "message": "...", "field": "phone"}}
//
// Callers authenticate with a practice API key (Authorization: Bearer).
// Every mutating call honours Idempotency-Key: a retried call gets the
// first answer and creates nothing new.
package api
