package email_test

import (
	"context"
	"log"
	"time"

	"github.com/karerehub/karere/channels/email"
	"github.com/karerehub/karere/hub"
)

// A Sender for a hub whose practices mostly use one relay, and the inbound
// Server for their replies. svc stands for what internal/app assembles from
// the core's services (email.Hub). Each message the Sender gets carries its
// practice's email settings (hub.Message.Email); where they set nothing,
// the Config's defaults apply.
func Example() {
	var svc email.Hub
	secret := []byte("at least 32 random bytes, derived from KARERE_SECRET_KEY")

	cfg := email.Config{
		DefaultRelay: "smtp.relay.example.nz:587", // KARERE_SMTP_RELAY
		DefaultFrom:  "no-reply@karere.example.nz",
		ReplyDomain:  "reply.karere.example.nz",
		HELOName:     "hub.karere.example.nz",
		PublicURL:    "https://hub.karere.example.nz",
		ReplySecret:  secret,
	}
	if err := cfg.Validate(); err != nil {
		log.Fatal(err)
	}
	sender := email.New(cfg)
	defer sender.Close()
	var _ hub.Channel = sender

	srvCfg := email.ServerConfig{
		Addr:        ":25",
		Domains:     []string{"reply.karere.example.nz"},
		ReplySecret: secret,
	}
	if err := srvCfg.Validate(); err != nil {
		log.Fatal(err)
	}
	srv := email.NewServer(srvCfg, svc)
	go srv.ListenAndServe()

	// On SIGTERM:
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}
