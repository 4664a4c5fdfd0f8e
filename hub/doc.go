// Package hub is Karere's domain core: the types that every part shares
// (practices, patients, notices, deliveries, threads), the Service that
// accepts work and delivers it, and the small interfaces the Service
// consumes: Store (persistence), Enqueuer (the work queue) and Channel
// (a way to reach a patient).
//
// The path of a delivery (see DESIGN.md):
//
//  1. An API call is validated, then one Store transaction writes the domain
//     record, one Delivery per planned send (state pending), and the audit
//     event. The call answers with ids.
//  2. After commit each delivery is handed to the Enqueuer with the delivery
//     id as task id, so enqueueing twice is harmless. A sweeper re-enqueues
//     pending deliveries that Redis lost: the database is the source of truth.
//  3. The worker calls Service.Deliver, which does nothing unless the
//     delivery is still pending, checks opt-outs, calls the Channel and
//     records the outcome before the task is acknowledged.
//  4. Channel errors are classified: temporary errors are retried with
//     backoff by the queue, permanent ones fail the delivery and start the
//     next channel in the patient's order.
//
// Package hub imports none of its siblings; channels, queue, store and api
// import hub.
package hub
