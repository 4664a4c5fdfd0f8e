package netguard_test

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// fakeDNS is a DNS server on a loopback UDP socket that answers A and
// AAAA questions from a fixed table and NXDOMAIN for other names. Only
// what Go's own resolver needs is implemented.
type fakeDNS struct {
	pc      net.PacketConn
	records map[string][]netip.Addr // lower case, no trailing dot

	mu      sync.Mutex
	queries map[string]int
}

func startFakeDNS(t *testing.T, records map[string][]string) *fakeDNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDNS{pc: pc, records: map[string][]netip.Addr{}, queries: map[string]int{}}
	for name, addrs := range records {
		for _, a := range addrs {
			d.records[name] = append(d.records[name], netip.MustParseAddr(a))
		}
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
	t.Cleanup(func() { pc.Close(); <-done })
	return d
}

// Resolver returns a pure-Go resolver that sends every query to d.
func (d *fakeDNS) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dd net.Dialer
		return dd.DialContext(ctx, "udp", d.pc.LocalAddr().String())
	}}
}

// Queries is how many questions d was asked about name.
func (d *fakeDNS) Queries(name string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queries[name]
}

func (d *fakeDNS) answer(q []byte) []byte {
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
	d.mu.Unlock()

	addrs, known := d.records[name]
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
		resp = binary.BigEndian.AppendUint32(resp, 60)
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdata)))
		resp = append(resp, rdata...)
	}
	return resp
}
