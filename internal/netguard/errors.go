package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
)

// The only three texts an API client is shown about a connection the hub
// made for it; see Classify.
const (
	TextFailed   = "connection failed"
	TextTimedOut = "timed out"
	TextRefused  = "refused by target policy"
)

// ErrRefused matches, with errors.Is, every refusal by a Guard however it
// is wrapped (by net.Dialer, http.Client or the caller). Its text is the
// client-facing TextRefused; the details are in the *RefusedError.
var ErrRefused = errors.New(TextRefused)

// RefusedError is a refusal with its details, for the operator's logs
// only: API clients are shown Classify's output, never this error's text.
type RefusedError struct {
	Host   string         // the name that was checked, when there was one (CheckHost)
	Addr   netip.AddrPort // the address refused; invalid when it could not be parsed
	Reason string         // why, for example "loopback" or "the hub's own listener"
}

func (e *RefusedError) Error() string {
	s := "netguard: "
	switch {
	case e.Host != "" && e.Addr.IsValid():
		s += e.Host + " (" + e.Addr.String() + ") "
	case e.Host != "":
		s += e.Host + " "
	case e.Addr.IsValid():
		s += e.Addr.String() + " "
	}
	return s + TextRefused + ": " + e.Reason
}

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Classify turns any error from dialling, TLS, a request or a protocol
// exchange into one of TextFailed, TextTimedOut or TextRefused, and ""
// for nil. API layers must show only this, and log the error itself: an
// error's own text may quote a remote banner ("554 redis-server ..."), an
// address or an errno, and so tell an API client which ports are open on
// the hub's network.
//
// Refusals by a Guard are TextRefused; timeouts of any kind (dial,
// deadline, http.Client.Timeout, context deadline) are TextTimedOut;
// everything else, including a refused TCP connection, a reset, EOF, a TLS
// failure or an unexpected reply, is TextFailed.
func Classify(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrRefused):
		return TextRefused
	case isTimeout(err):
		return TextTimedOut
	default:
		return TextFailed
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
