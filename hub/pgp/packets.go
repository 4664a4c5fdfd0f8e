package pgp

import (
	"encoding/binary"
)

// OpenPGP packet tags (RFC 9580 section 5).
const (
	tagPKESK         = 1
	tagSignature     = 2
	tagSKESK         = 3
	tagOnePassSig    = 4
	tagSecretKey     = 5
	tagPublicKey     = 6
	tagSecretSubkey  = 7
	tagCompressed    = 8
	tagSED           = 9
	tagMarker        = 10
	tagLiteral       = 11
	tagTrust         = 12
	tagUserID        = 13
	tagPublicSubkey  = 14
	tagUserAttribute = 17
	tagSEIPD         = 18
	tagAEAD          = 20
	tagPadding       = 21
)

// headLen is how much of a packet body rawPacket keeps in head: enough for
// the fixed fields of every encrypted data packet.
const headLen = 64

// rawPacket is one packet located in a byte slice, its body not parsed.
type rawPacket struct {
	tag     uint8
	start   int    // offset of the first header octet
	end     int    // offset just past the body
	body    []byte // the body when it has one definite length; nil otherwise
	head    []byte // the first bytes of the body (at most headLen), across partial chunks
	size    int64  // body length, all chunks together
	partial bool   // the body used partial body lengths
}

// raw returns the whole packet, header included.
func (p rawPacket) raw(data []byte) []byte { return data[p.start:p.end] }

// dataPacket reports whether a tag may use partial body lengths (RFC 9580
// section 4.2.1.4: only data packets may).
func dataPacket(tag uint8) bool {
	switch tag {
	case tagLiteral, tagCompressed, tagSED, tagSEIPD, tagAEAD:
		return true
	}
	return false
}

// nextPacket frames the packet that starts at data[off:]. It reads only
// lengths, never trusts them beyond len(data), and allocates nothing but
// head for a partial body. The errors are ErrTruncated (a length runs past
// the data) and ErrMalformed (not a packet header, or a partial length on a
// packet that may not have one).
func nextPacket(data []byte, off int) (p rawPacket, err error) {
	p.start = off
	if off < 0 || off >= len(data) {
		return p, wrap(ErrTruncated, "packet header missing at offset %d", off)
	}
	b := data[off]
	off++
	if b&0x80 == 0 {
		return p, wrap(ErrMalformed, "no packet header at offset %d", p.start)
	}
	if b&0x40 == 0 {
		// Legacy (old) format: 4-bit tag and a length type.
		p.tag = (b >> 2) & 0x0f
		var n int64
		switch b & 3 {
		case 0:
			if len(data)-off < 1 {
				return p, wrap(ErrTruncated, "packet length missing at offset %d", p.start)
			}
			n = int64(data[off])
			off++
		case 1:
			if len(data)-off < 2 {
				return p, wrap(ErrTruncated, "packet length missing at offset %d", p.start)
			}
			n = int64(binary.BigEndian.Uint16(data[off:]))
			off += 2
		case 2:
			if len(data)-off < 4 {
				return p, wrap(ErrTruncated, "packet length missing at offset %d", p.start)
			}
			n = int64(binary.BigEndian.Uint32(data[off:]))
			off += 4
		default:
			// Indeterminate length: the packet runs to the end of the data.
			n = int64(len(data) - off)
		}
		if p.tag == 0 {
			return p, wrap(ErrMalformed, "reserved packet tag 0 at offset %d", p.start)
		}
		return p.definite(data, off, n)
	}

	p.tag = b & 0x3f
	if p.tag == 0 {
		return p, wrap(ErrMalformed, "reserved packet tag 0 at offset %d", p.start)
	}
	for {
		if off >= len(data) {
			return p, wrap(ErrTruncated, "packet length missing at offset %d", off)
		}
		l0 := data[off]
		off++
		var n int64
		partial := false
		switch {
		case l0 < 192:
			n = int64(l0)
		case l0 < 224:
			if off >= len(data) {
				return p, wrap(ErrTruncated, "packet length cut at offset %d", off)
			}
			n = (int64(l0)-192)<<8 + int64(data[off]) + 192
			off++
		case l0 == 255:
			if len(data)-off < 4 {
				return p, wrap(ErrTruncated, "packet length cut at offset %d", off)
			}
			n = int64(binary.BigEndian.Uint32(data[off:]))
			off += 4
		default:
			if !dataPacket(p.tag) {
				return p, wrap(ErrMalformed, "partial body length on packet tag %d", p.tag)
			}
			n = 1 << (l0 & 0x1f)
			partial = true
		}
		if !partial && !p.partial {
			return p.definite(data, off, n)
		}
		if int64(len(data)-off) < n {
			return p, wrap(ErrTruncated, "packet body cut at offset %d", len(data))
		}
		if room := headLen - len(p.head); room > 0 {
			p.head = append(p.head, data[off:off+int(min(n, int64(room)))]...)
		}
		p.size += n
		off += int(n)
		p.partial = true
		if !partial {
			p.end = off
			return p, nil
		}
	}
}

// definite finishes a packet whose body is data[off:off+n].
func (p rawPacket) definite(data []byte, off int, n int64) (rawPacket, error) {
	if int64(len(data)-off) < n {
		return p, wrap(ErrTruncated, "packet body cut at offset %d", len(data))
	}
	p.body = data[off : off+int(n)]
	p.head = p.body[:min(len(p.body), headLen)]
	p.size = n
	p.end = off + int(n)
	return p, nil
}
