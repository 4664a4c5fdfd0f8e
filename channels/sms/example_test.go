package sms_test

import (
	"log"
	"net/http"
	"time"

	"github.com/karerehub/karere/channels/sms"
)

// service stands for what internal/app assembles from the core's
// services: it implements sms.Hub.
var service sms.Hub

// Wiring in hubd: one Sender for the delivery workers, the two webhooks on
// the API mux. Both use the same public URL, the one Twilio is given.
func Example() {
	cfg := sms.Config{
		BaseURL:    sms.DefaultBaseURL, // KARERE_TWILIO_BASE_URL
		PublicURL:  "https://karere.example.nz",
		HTTPClient: &http.Client{Timeout: 15 * time.Second},
	}
	if err := cfg.Validate(); err != nil {
		log.Fatal(err)
	}
	sender := sms.New(cfg) // a hub.Channel for "sms"; each message carries its practice's settings
	_ = sender

	wh := sms.NewWebhooks(sms.WebhooksConfig{PublicURL: cfg.PublicURL, Hub: service})
	mux := http.NewServeMux()
	mux.Handle("POST "+sms.StatusPath, wh.StatusHandler())
	mux.Handle("POST "+sms.InboundPath, wh.InboundHandler())
}
