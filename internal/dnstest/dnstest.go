// Package dnstest is a DNS server on a loopback UDP socket for tests: it
// answers A and AAAA questions from a table the test can change while it
// runs (a name that resolves to a public address when a setting is saved
// and to 127.0.0.1 when the hub connects: DNS rebinding), and NXDOMAIN for
// any other name. Only what Go's own resolver needs is implemented.
package dnstest

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// Server is a running fake DNS server.
type Server struct {
	pc net.PacketConn

	mu      sync.Mutex
	records map[string][]netip.Addr // lower case, no trailing dot
	queries map[string]int
}

// Start starts a server answering from records (name -> addresses) and
// stops it when the test ends.
func Start(tb testing.TB, records map[string][]string) *Server {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	d := &Server{pc: pc, records: map[string][]netip.Addr{}, queries: map[string]int{}}
	for name, addrs := range records {
		d.Set(name, addrs...)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := d.answer(buf[:n]); resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	tb.Cleanup(func() { pc.Close(); <-done })
	return d
}

// Set makes name resolve to addrs from now on (no addresses: NXDOMAIN).
func (d *Server) Set(name string, addrs ...string) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(addrs) == 0 {
		delete(d.records, name)
		return
	}
	ips := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		ips = append(ips, netip.MustParseAddr(a))
	}
	d.records[name] = ips
}

// Resolver returns a pure-Go resolver that sends every query to d (Go's
// resolver keeps no cache, so a change by Set shows at the next lookup).
func (d *Server) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dd net.Dialer
		return dd.DialContext(ctx, "udp", d.pc.LocalAddr().String())
	}}
}

// Queries is how many questions d was asked about name.
func (d *Server) Queries(name string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queries[name]
}

func (d *Server) answer(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	var labels []string
	i := 12
	for {
		if i >= len(q) {
			return nil
		}
		l := int(q[i])
		i++
		if l == 0 {
			break
		}
		if l&0xC0 != 0 || i+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i:i+l]))
		i += l
	}
	if i+4 > len(q) {
		return nil
	}
	qtype, qend := binary.BigEndian.Uint16(q[i:]), i+4
	name := strings.ToLower(strings.Join(labels, "."))
	d.mu.Lock()
	d.queries[name]++
	addrs, known := d.records[name]
	d.mu.Unlock()

	var answers [][]byte
	for _, a := range addrs {
		switch {
		case qtype == 1 && a.Is4():
			b := a.As4()
			answers = append(answers, b[:])
		case qtype == 28 && a.Is6():
			b := a.As16()
			answers = append(answers, b[:])
		}
	}
	resp := make([]byte, 12, 512)
	copy(resp, q[:2])                            // id
	binary.BigEndian.PutUint16(resp[2:], 0x8180) // response, recursion desired and available
	if !known {
		resp[3] |= 3 // NXDOMAIN
	}
	binary.BigEndian.PutUint16(resp[4:], 1)
	binary.BigEndian.PutUint16(resp[6:], uint16(len(answers)))
	resp = append(resp, q[12:qend]...)
	for _, rdata := range answers {
		resp = append(resp, 0xC0, 0x0C) // the name in the question
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = binary.BigEndian.AppendUint16(resp, 1) // IN
		resp = binary.BigEndian.AppendUint32(resp, 0) // TTL 0: nothing may cache it
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdata)))
		resp = append(resp, rdata...)
	}
	return resp
}
