package pgp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Armor types.
const (
	messageType    = "PGP MESSAGE"
	publicKeyType  = "PGP PUBLIC KEY BLOCK"
	privateKeyType = "PGP PRIVATE KEY BLOCK"
)

// maxInspectSize caps maxSize so that the limits below cannot overflow.
const maxInspectSize = 1 << 50

// armorOverhead is the room Inspect gives armor headers and line breaks on
// top of the base64 growth (4/3, plus CRLF every 64 characters).
const armorOverhead = 16 << 10

// Envelope is what the server learns from an encrypted message without
// decrypting it.
type Envelope struct {
	// Recipients are the key ids of the public-key encrypted session key
	// packets, in message order, without repeats. None is zero.
	Recipients []uint64
	// Binary is the message without armor: what the server stores.
	Binary []byte
	// Size is len(Binary).
	Size int
	// Armored reports whether the message came ASCII-armored.
	Armored bool
}

// Has reports whether keyID is one of the message's recipients.
func (e *Envelope) Has(keyID uint64) bool {
	for _, id := range e.Recipients {
		if id == keyID {
			return true
		}
	}
	return false
}

// Inspect reads one OpenPGP message, ASCII-armored or binary, and checks
// that it is encrypted to public keys, without decrypting it. It accepts
// exactly this packet sequence (RFC 9580 section 10.3):
//
//	(PKESK | Marker | Padding)*  PKESK ...  EncryptedData  Padding*
//
// where EncryptedData is a SEIPD packet (version 1 with MDC, or version 2)
// or an AEAD Encrypted Data packet (tag 20), and it runs to the end of the
// data. The refusals, each with its own error: ErrNotOpenPGP, ErrMalformed,
// ErrTruncated, ErrTooLarge (more than maxSize bytes once dearmored),
// ErrPlaintext (literal data, signatures, cleartext-signed text),
// ErrCompressed (compressed data outside the encryption), ErrSymmetric (any
// SKESK), ErrNoIntegrity (SED, tag 9), ErrTrailingData, ErrNoRecipient and
// ErrAnonymousRecipient (key id 0).
//
// Inspect reads at most about 1.5*maxSize bytes from r (armor grows data by
// 4/3) and holds the message in memory once dearmored.
func Inspect(r io.Reader, maxSize int64) (*Envelope, error) {
	if maxSize <= 0 {
		return nil, errInvalidMaxSize
	}
	maxSize = min(maxSize, maxInspectSize)
	br := bufio.NewReader(r)
	first, err := br.Peek(1)
	if err == io.EOF || len(first) == 0 {
		return nil, wrap(ErrNotOpenPGP, "empty input")
	}
	if err != nil {
		return nil, fmt.Errorf("pgp: reading message: %w", err)
	}
	env := &Envelope{}
	limit := maxSize
	if first[0]&0x80 == 0 {
		env.Armored = true
		limit = armoredLimit(maxSize)
	}
	raw, err := io.ReadAll(io.LimitReader(br, limit+1))
	if err != nil {
		return nil, fmt.Errorf("pgp: reading message: %w", err)
	}
	if int64(len(raw)) > limit {
		return nil, wrap(ErrTooLarge, "more than %d bytes", maxSize)
	}
	data := raw
	if env.Armored {
		data, err = dearmor(raw, messageType, maxSize)
		if err != nil {
			return nil, err
		}
	}
	recipients, err := scanMessage(data)
	if err != nil {
		return nil, err
	}
	env.Recipients = recipients
	env.Binary = data
	env.Size = len(data)
	return env, nil
}

// armoredLimit is how many armored bytes may carry maxSize binary bytes.
func armoredLimit(maxSize int64) int64 {
	return maxSize + maxSize/2 + armorOverhead
}

// dearmor checks that text is exactly one armored block of the given type
// (surrounding white space aside) and returns its binary contents, at most
// maxSize bytes. The CRC-24 line, optional since RFC 9580, is not checked:
// the packet framing and the encryption's own integrity check catch damage.
func dearmor(text []byte, blockType string, maxSize int64) ([]byte, error) {
	text = bytes.TrimSpace(text)
	begin := []byte("-----BEGIN " + blockType + "-----")
	end := []byte("-----END " + blockType + "-----")
	if !bytes.HasPrefix(text, begin) {
		switch {
		case bytes.HasPrefix(text, []byte("-----BEGIN PGP SIGNED MESSAGE-----")):
			return nil, wrap(ErrPlaintext, "cleartext-signed text")
		case bytes.HasPrefix(text, []byte("-----BEGIN ")):
			return nil, wrap(ErrNotOpenPGP, "armor is not a %s", blockType)
		}
		return nil, wrap(ErrNotOpenPGP, "neither armored nor binary OpenPGP")
	}
	if bytes.Count(text, []byte("-----BEGIN ")) != 1 {
		return nil, wrap(ErrTrailingData, "more than one armored block")
	}
	if !bytes.HasSuffix(text, end) {
		if bytes.Contains(text, end) {
			return nil, wrap(ErrTrailingData, "text after the armor")
		}
		return nil, wrap(ErrTruncated, "armor end line missing")
	}
	block, err := armor.Decode(bytes.NewReader(text))
	if err != nil {
		return nil, wrap(ErrNotOpenPGP, "invalid armor")
	}
	if block.Type != blockType {
		return nil, wrap(ErrNotOpenPGP, "armor is not a %s", blockType)
	}
	data, err := io.ReadAll(io.LimitReader(block.Body, maxSize+1))
	if err != nil {
		return nil, wrap(ErrNotOpenPGP, "invalid armor")
	}
	if int64(len(data)) > maxSize {
		return nil, wrap(ErrTooLarge, "more than %d bytes", maxSize)
	}
	if len(data) == 0 {
		return nil, wrap(ErrNotOpenPGP, "empty armor")
	}
	return data, nil
}

// scanMessage walks the packets of an encrypted message and returns the
// recipients' key ids. See Inspect for the grammar.
func scanMessage(data []byte) ([]uint64, error) {
	if len(data) == 0 {
		return nil, wrap(ErrNotOpenPGP, "empty message")
	}
	if data[0]&0x80 == 0 {
		return nil, wrap(ErrNotOpenPGP, "no packet header")
	}
	var recipients []uint64
	off := 0
	for n := 1; ; n++ {
		if off == len(data) {
			return nil, wrap(ErrTruncated, "no encrypted data packet")
		}
		p, err := nextPacket(data, off)
		if err != nil {
			if n == 1 {
				// A first "packet" that does not frame is most likely not
				// OpenPGP at all (random bytes often have bit 7 set).
				return nil, notOpenPGPUnlessTruncated(err, data, p)
			}
			return nil, err
		}
		off = p.end
		switch p.tag {
		case tagPKESK:
			id, err := parsePKESK(p.raw(data))
			if err != nil {
				return nil, err
			}
			if id == 0 {
				return nil, wrap(ErrAnonymousRecipient, "packet %d", n)
			}
			if !contains(recipients, id) {
				recipients = append(recipients, id)
			}
		case tagMarker, tagPadding:
			// Ignored by readers (RFC 9580 sections 5.8 and 5.14).
		case tagSKESK:
			return nil, wrap(ErrSymmetric, "packet %d", n)
		case tagSED:
			return nil, wrap(ErrNoIntegrity, "symmetrically encrypted data without MDC")
		case tagLiteral, tagOnePassSig, tagSignature:
			return nil, wrap(ErrPlaintext, "packet %d has tag %d", n, p.tag)
		case tagCompressed:
			return nil, wrap(ErrCompressed, "packet %d", n)
		case tagSEIPD, tagAEAD:
			if err := checkEncryptedData(p); err != nil {
				return nil, err
			}
			if len(recipients) == 0 {
				return nil, ErrNoRecipient
			}
			return recipients, checkTrailer(data, off)
		case tagSecretKey, tagPublicKey, tagSecretSubkey, tagPublicSubkey,
			tagUserID, tagUserAttribute, tagTrust:
			return nil, wrap(ErrNotOpenPGP, "a key, not a message")
		default:
			return nil, wrap(ErrMalformed, "unexpected packet tag %d", p.tag)
		}
	}
}

// notOpenPGPUnlessTruncated decides what a framing error in the first packet
// means: a cut-off message if the tag could start one, otherwise not OpenPGP.
func notOpenPGPUnlessTruncated(err error, data []byte, p rawPacket) error {
	switch p.tag {
	case tagPKESK, tagSKESK, tagMarker, tagSEIPD, tagAEAD, tagSED, tagLiteral,
		tagCompressed, tagOnePassSig, tagSignature, tagPadding:
		if errors.Is(err, ErrTruncated) {
			return err
		}
	}
	return wrap(ErrNotOpenPGP, "no valid first packet")
}

// checkTrailer allows only Padding packets after the encrypted data.
func checkTrailer(data []byte, off int) error {
	for off < len(data) {
		p, err := nextPacket(data, off)
		if err != nil || p.tag != tagPadding {
			return wrap(ErrTrailingData, "%d bytes after the encrypted data", len(data)-off)
		}
		off = p.end
	}
	return nil
}

// Minimum body sizes of encrypted data packets: a body shorter than this
// cannot hold its fixed fields and an integrity check.
const (
	minSEIPDv1 = 1 + 8 + 2 + 22 // version, prefix of a 64-bit block cipher, MDC packet
	minSEIPDv2 = 4 + 32 + 16    // version, cipher, mode, chunk size, salt, final tag
	minAEAD    = 4 + 12 + 16    // version, cipher, mode, chunk size, shortest IV, final tag
)

// checkEncryptedData checks the fixed fields of a SEIPD or AEAD packet.
func checkEncryptedData(p rawPacket) error {
	if len(p.head) == 0 {
		return wrap(ErrTruncated, "empty encrypted data packet")
	}
	version := p.head[0]
	switch {
	case p.tag == tagSEIPD && version == 1:
		if p.size < minSEIPDv1 {
			return wrap(ErrTruncated, "encrypted data too short")
		}
	case p.tag == tagSEIPD && version == 2:
		if p.size < minSEIPDv2 {
			return wrap(ErrTruncated, "encrypted data too short")
		}
	case p.tag == tagAEAD && version == 1:
		if p.size < minAEAD {
			return wrap(ErrTruncated, "encrypted data too short")
		}
	default:
		return wrap(ErrMalformed, "encrypted data packet tag %d version %d", p.tag, version)
	}
	return nil
}

// parsePKESK returns the recipient key id of a public-key encrypted session
// key packet (v3, or v6 whose key id is taken from the fingerprint), using
// go-crypto's parser, which also checks the algorithm-specific fields.
func parsePKESK(raw []byte) (id uint64, err error) {
	defer func() {
		// go-crypto's parsers are fuzzed upstream; this only keeps a bug
		// there from taking the server down on hostile input.
		if r := recover(); r != nil {
			id, err = 0, wrap(ErrMalformed, "unparsable session key packet")
		}
	}()
	pkt, err := packet.Read(bytes.NewReader(raw))
	if err != nil {
		return 0, wrap(ErrMalformed, "session key packet: %v", err)
	}
	ek, ok := pkt.(*packet.EncryptedKey)
	if !ok {
		return 0, wrap(ErrMalformed, "session key packet")
	}
	if !ek.Algo.CanEncrypt() {
		return 0, wrap(ErrMalformed, "session key packet for algorithm %d", ek.Algo)
	}
	return ek.KeyId, nil
}

func contains(ids []uint64, id uint64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// Armor returns a binary OpenPGP message ASCII-armored ("-----BEGIN PGP
// MESSAGE-----"), without headers, with the CRC-24 line that GnuPG 2.2
// expects.
func Armor(binary []byte) []byte {
	return armorBlock(binary, messageType)
}

func armorBlock(binary []byte, blockType string) []byte {
	var buf bytes.Buffer
	buf.Grow(len(binary)*4/3 + len(binary)/48 + 128)
	w, err := armor.Encode(&buf, blockType, nil)
	if err != nil {
		panic("pgp: armor.Encode into a buffer failed: " + err.Error()) // cannot happen: bytes.Buffer does not fail
	}
	_, _ = w.Write(binary)
	_ = w.Close()
	return buf.Bytes()
}
