package client_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karerehub/karere/client"
	"github.com/karerehub/karere/internal/hubtest"
)

// lossyProxy forwards to the hub and, for the first mutating request,
// throws the hub's answer away and answers 502: the call was done, the
// caller does not know it.
func lossyProxy(t *testing.T, hubURL string) (*httptest.Server, *atomic.Int32, *keyLog) {
	var lost atomic.Int32
	keys := &keyLog{}
	hc := &http.Client{Timeout: 30 * time.Second}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, hubURL+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := hc.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		if r.Method != http.MethodGet {
			keys.add(r.Header.Get("Idempotency-Key"))
			if lost.Add(1) == 1 {
				http.Error(w, "upstream answer lost", http.StatusBadGateway)
				return
			}
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return srv, &lost, keys
}

// keyLog records the Idempotency-Keys the proxy saw.
type keyLog struct {
	mu   sync.Mutex
	keys []string
}

func (l *keyLog) add(k string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys = append(l.keys, k)
}

func (l *keyLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.keys...)
}

// TestRetryIsIdempotent: a call whose answer was lost is retried with the
// same Idempotency-Key, and the hub does it once.
func TestRetryIsIdempotent(t *testing.T) {
	ctx := context.Background()
	h, _ := startHub(t, hubtest.SQLite)
	proxy, _, keys := lossyProxy(t, h.URL)
	c, err := client.New(proxy.URL, h.Key, client.WithRetries(2, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.SendNotice(ctx, client.NoticeInput{Patient: "p-1", Text: "x"})
	if !client.IsCode(err, "not_found") {
		// The patient does not exist: a 404 is not retried, but first the
		// lost answer was.
		t.Fatalf("notice to unknown patient: %+v %v", res, err)
	}
	if ks := keys.get(); len(ks) != 2 || ks[0] != ks[1] || ks[0] == "" {
		t.Fatalf("Idempotency-Keys sent: %q", ks)
	}
	if _, _, err := c.PutPatient(ctx, "p-1", client.PatientInput{GivenName: "Aroha", Channels: []string{"portal"}}); err != nil {
		t.Fatal(err)
	}
	res, err = c.SendNotice(ctx, client.NoticeInput{Patient: "p-1", Text: "Your flu vaccine is due."})
	if err != nil || len(res.Deliveries) != 1 {
		t.Fatalf("SendNotice: %+v %v", res, err)
	}
	ds, err := c.ListDeliveries(ctx, client.DeliveryFilter{Patient: "p-1"})
	if err != nil || len(ds) != 1 || ds[0].ID != res.Deliveries[0].ID {
		t.Fatalf("deliveries after a retried notice: %+v %v", ds, err)
	}
	if d, err := c.GetDelivery(ctx, ds[0].ID); err != nil || d.Kind != "notice" || d.Patient != "p-1" {
		t.Fatalf("GetDelivery: %+v %v", d, err)
	}
	if err := c.DeletePatient(ctx, "p-1"); err != nil {
		t.Fatal(err)
	}

	// Without retries the lost answer is the caller's error, typed.
	proxy2, _, _ := lossyProxy(t, h.URL)
	c2, _ := client.New(proxy2.URL, h.Key, client.WithRetries(0, 0))
	_, _, err = c2.PutPatient(ctx, "p-2", client.PatientInput{GivenName: "Hemi", Channels: []string{"portal"}})
	var e *client.Error
	if !asError(err, &e) || e.Status != 502 || e.Code != "unexpected_response" || !e.Temporary() {
		t.Fatalf("lost answer without retries: %#v", err)
	}
	// A bad API key.
	c3, _ := client.New(h.URL, "not-a-key")
	if _, err := c3.ListThreads(ctx, client.ThreadFilter{}); !client.IsCode(err, "unauthorized") {
		t.Fatalf("bad key: %v", err)
	}
}
