package email

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// testRelay is a real go-smtp server on loopback that records what it is
// given and fails on demand.
type testRelay struct {
	addr    string
	srv     *smtp.Server
	accepts atomic.Int32 // TCP connections accepted

	mu       sync.Mutex
	msgs     []relayedMsg
	user     string // AUTH PLAIN required when set
	password string
	failMail *smtp.SMTPError
	failRcpt *smtp.SMTPError
	failData *smtp.SMTPError
}

type relayedMsg struct {
	from string
	opts smtp.MailOptions
	to   []string
	data []byte
	tls  bool
	auth string
}

type countingListener struct {
	net.Listener
	n *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// startRelay serves on addr ("127.0.0.1:0" for any port).
func startRelay(t *testing.T, addr string, tlsConfig *tls.Config, opts ...func(*smtp.Server)) *testRelay {
	t.Helper()
	r := &testRelay{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &relaySession{r: r, tls: isTLS}, nil
	}))
	srv.Domain = "relay.test"
	srv.TLSConfig = tlsConfig
	srv.EnableDSN = true
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	for _, o := range opts {
		o(srv)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r.addr = l.Addr().String()
	r.srv = srv
	go srv.Serve(countingListener{l, &r.accepts})
	t.Cleanup(func() { srv.Close() })
	return r
}

func (r *testRelay) fail(mail, rcpt, data *smtp.SMTPError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failMail, r.failRcpt, r.failData = mail, rcpt, data
}

func (r *testRelay) setAuth(user, password string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.user, r.password = user, password
}

func (r *testRelay) messages() []relayedMsg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]relayedMsg(nil), r.msgs...)
}

type relaySession struct {
	r    *testRelay
	tls  bool
	auth string
	cur  relayedMsg
}

func (s *relaySession) AuthMechanisms() []string {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *relaySession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		s.r.mu.Lock()
		defer s.r.mu.Unlock()
		if username != s.r.user || password != s.r.password {
			return smtp.ErrAuthFailed
		}
		s.auth = username
		return nil
	}), nil
}

func (s *relaySession) Reset()        { s.cur = relayedMsg{} }
func (s *relaySession) Logout() error { return nil }

func (s *relaySession) Mail(from string, opts *smtp.MailOptions) error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.user != "" && s.auth == "" {
		return smtp.ErrAuthRequired
	}
	if s.r.failMail != nil {
		return s.r.failMail
	}
	s.cur = relayedMsg{from: from, tls: s.tls, auth: s.auth}
	if opts != nil {
		s.cur.opts = *opts
	}
	return nil
}

func (s *relaySession) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.failRcpt != nil {
		return s.r.failRcpt
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *relaySession) Data(rd io.Reader) error {
	b, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.failData != nil {
		return s.r.failData
	}
	s.cur.data = b
	s.r.msgs = append(s.r.msgs, s.cur)
	return nil
}

// selfSigned returns a server TLS config for 127.0.0.1 and a client
// config that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "relay.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"relay.test"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool}
	return server, client
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func smtpErr(code int, ec smtp.EnhancedCode, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: msg}
}
