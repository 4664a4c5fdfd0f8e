// Package core is the hub's services as its adapters see them: the JSON
// API, the staff inbox, the channels' inbound handlers and the queue's
// workers each take the services they call from a Services. internal/app
// builds it (constructor injection: every service gets its store port and
// collaborators as arguments).
package core

import (
	"github.com/karerehub/karere/hub/audit"
	"github.com/karerehub/karere/hub/delivery"
	"github.com/karerehub/karere/hub/events"
	"github.com/karerehub/karere/hub/idempotency"
	"github.com/karerehub/karere/hub/identity"
	"github.com/karerehub/karere/hub/messaging"
	"github.com/karerehub/karere/hub/patients"
	"github.com/karerehub/karere/hub/pmshooks"
	"github.com/karerehub/karere/hub/reminders"
	"github.com/karerehub/karere/hub/settings"
	"github.com/karerehub/karere/hub/templating"
)

// Services are the hub's subdomain services.
type Services struct {
	Identity    *identity.Service
	Directory   *identity.Directory
	Settings    *settings.Service
	Patients    *patients.Service
	Delivery    *delivery.Service
	Messaging   *messaging.Service
	Reminders   *reminders.Service
	Templates   *templating.Service
	Hooks       *pmshooks.Service
	Audit       *audit.Log
	Idempotency *idempotency.Keys
	Events      *events.Bus
}
