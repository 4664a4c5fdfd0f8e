// Package messaging is secure messaging between a practice and its
// patients: the key directory (patient, staff and team keys, passphrase-
// locked private keys, team key grants), threads and their OpenPGP
// messages, which the server checks without decrypting, and replies that
// arrive by SMS or email, encrypted on arrival. A message from staff plans
// the patient's content-free notice through hub/delivery.
package messaging

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/audit"
)

// Store keeps keys, threads and messages (hub/store implements it).
type Store interface {
	hub.Transactor
	KeyStore
	ThreadStore

	hub.PatientReader
	// FindPatientsByPhone lists a practice's patients with this E.164
	// number, their own or their guardian's (an SMS reply's sender).
	FindPatientsByPhone(ctx context.Context, practiceID, phone string) ([]hub.Patient, error)
	// GetDelivery reads a delivery (an email reply token may name one);
	// practiceID "" reads any practice's.
	GetDelivery(ctx context.Context, practiceID, id string) (*hub.Delivery, error)
	GetStaff(ctx context.Context, practiceID, id string) (*hub.Staff, error)
	ListStaff(ctx context.Context, practiceID string) ([]hub.Staff, error)
}

// KeyStore is the key directory part of Store.
type KeyStore interface {
	// AddKey stores a key and marks every other current key of the same
	// owner superseded (at k.Created). Re-adding a key with the same
	// fingerprint makes it current again (and supersedes the others).
	AddKey(ctx context.Context, k *hub.Key) error
	// CurrentKey is the owner's key not superseded; hub.ErrNoRows when none.
	CurrentKey(ctx context.Context, practiceID, ownerKind, ownerID string) (*hub.Key, error)
	// ListKeys lists all the owner's keys, current first, then newest.
	ListKeys(ctx context.Context, practiceID, ownerKind, ownerID string) ([]hub.Key, error)

	// PutLockedKey inserts or replaces the owner's locked private key.
	PutLockedKey(ctx context.Context, k *hub.LockedKey) error
	GetLockedKey(ctx context.Context, practiceID, ownerKind, ownerID string) (*hub.LockedKey, error)

	// PutTeamGrant inserts or replaces the grant for (practice, staff, team key).
	PutTeamGrant(ctx context.Context, g *hub.TeamGrant) error
	GetTeamGrant(ctx context.Context, practiceID, staffID, teamKeyID string) (*hub.TeamGrant, error)
	// DeleteTeamGrants removes all of a staff member's grants.
	DeleteTeamGrants(ctx context.Context, practiceID, staffID string) (int64, error)
}

// ThreadStore is the threads and messages part of Store.
type ThreadStore interface {
	CreateThread(ctx context.Context, t *hub.Thread) error
	// GetThread reads a practice's thread; practiceID "" reads any
	// practice's (the inbound email path: a reply token names a thread).
	GetThread(ctx context.Context, practiceID, id string) (*hub.Thread, error)
	// UpdateThread writes Category, Status, AssignedTo, LastActivity,
	// LastSender, StaffUnread, PatientUnread and LastNoticeAt.
	UpdateThread(ctx context.Context, t *hub.Thread) error
	// ListThreads lists threads, most recent activity first.
	ListThreads(ctx context.Context, f hub.ThreadFilter) ([]hub.Thread, error)
	// LatestOpenThread is the patient's open thread with the most recent
	// activity; hub.ErrNoRows when none.
	LatestOpenThread(ctx context.Context, practiceID, patientID string) (*hub.Thread, error)
	// AddMessage stores a message; hub.ErrConflict when (PracticeID, Via,
	// ProviderID) was stored before (ProviderID not empty).
	AddMessage(ctx context.Context, m *hub.SecureMessage) error
	// ListMessages lists a thread's messages oldest first, after afterID.
	ListMessages(ctx context.Context, practiceID, threadID, afterID string, limit int) ([]hub.SecureMessage, error)
}

// Planner plans a delivery of a record to a patient, in the transaction
// ctx carries (hub/delivery implements it).
type Planner interface {
	Plan(ctx context.Context, a hub.Actor, p *hub.Patient, recordID, kind string, chans []string) (*hub.Delivery, error)
}

// Publisher tells open pages about a change (hub/events implements it).
type Publisher interface {
	Publish(e hub.Event)
}

// Config is what a Service needs besides its collaborators.
type Config struct {
	Logger *slog.Logger
	Now    func() time.Time
}

// Service runs threads, messages and keys.
type Service struct {
	store  Store
	plan   Planner
	events Publisher
	audit  *audit.Log
	log    *slog.Logger
	now    func() time.Time
}

// New returns a Service.
func New(store Store, plan Planner, events Publisher, log *audit.Log, cfg Config) *Service {
	s := &Service{store: store, plan: plan, events: events, audit: log, log: cfg.Logger, now: cfg.Now}
	s.log, s.now = hub.OrDefaults(s.log, s.now)
	return s
}

// Now is the Service's clock, in UTC.
func (s *Service) Now() time.Time { return s.now().UTC() }

// patient reads a patient of the practice by external id.
func (s *Service) patient(ctx context.Context, practiceID, externalID string) (*hub.Patient, error) {
	p, err := s.store.GetPatient(ctx, practiceID, externalID)
	if errors.Is(err, hub.ErrNoRows) {
		return nil, hub.NotFound("patient")
	}
	return p, err
}
