// Package hub is the shared kernel of Karere's domain core: the types every
// part speaks (practices, patients, notices, deliveries, threads, keys,
// appointments), ids, error kinds (no HTTP: hub/api and hub/inbox map
// kinds to statuses), the transaction helper, and the ports more than one
// part needs: Channel (a way to reach a patient) and Transactor (a
// database transaction carried by a context).
//
// The behaviour lives in one package per subdomain, each with a small
// service and the narrow store port it consumes:
//
//	hub/identity     API keys, staff, sessions, TOTP, sign-in; the practice directory
//	hub/settings     sealed practice settings (SMS, email, reminders, webhooks)
//	hub/patients     patients, contact details, opt-outs
//	hub/delivery     notices, planning, sending, fallback, digest, escalation, provider feedback
//	hub/messaging    keys, team grants, threads, secure messages, inbound replies
//	hub/reminders    appointments, reminder planning and firing, confirmations, prescriptions
//	hub/templating   the practice's templates: versions, preview, rendering for a delivery
//	hub/pmshooks     outgoing webhooks to the practice's PMS
//	hub/audit        the audit log
//	hub/idempotency  Idempotency-Key handling
//	hub/events       live events for open inbox pages
//	hub/core         the services together, as the adapters see them
//
// hub and its subdomains import no channel, no adapter (hub/api,
// hub/inbox), no queue and no store: those depend on the core, and
// internal/app wires them together. docs/ARCHITECTURE.md has the package
// map, the path of a delivery and of a reply hop by hop, and where each
// rule lives; internal/deploy's TestImportRules keeps the dependency
// rules.
package hub
