// Package queue puts Karere's work on Asynq (Redis): every delivery is a
// task whose id is the delivery id, so enqueueing twice is harmless.
//
// Queues are weighted: "critical" (secure-message notices, a patient is
// waiting), "default" (notices, reminders) and "bulk" (campaign-like
// sends). Temporary failures are retried with exponential backoff and
// jitter; after the last retry the task is archived (Asynq's dead letters)
// and the delivery is marked failed with the reason.
//
// Payloads carry ids only, never content. The database is the source of
// truth: a Sweeper re-enqueues pending deliveries whose task Redis lost.
package queue
