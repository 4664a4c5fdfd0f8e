// Package netguard decides which network addresses the hub may connect to
// on a practice's behalf: PMS webhook POSTs, SMTP relays and provider base
// URLs (the Twilio API base URL can be overridden). Without it a practice
// admin could point the hub at 127.0.0.1:6379 and have it POST to its own
// Redis, read the cloud metadata service at 169.254.169.254, or tell open
// from closed ports on the hub's network by the error it got back.
//
// # Checked at dial time, on the resolved address
//
// A check of the host name when a setting is saved is not enough: the name
// can resolve to a public address when saved and to 127.0.0.1 when the
// webhook fires (DNS rebinding), and a redirect can lead anywhere. The
// Guard therefore checks every connection in [Guard.Control], the
// net.Dialer hook that runs after the name has been resolved and the socket
// created, just before connect(2), with the exact IP and port. Every address
// the dialer tries (both families, every A and AAAA record, every redirect
// hop and every new pooled connection of an HTTP client) passes through it.
// [Guard.Dialer], [Guard.Transport] and [Guard.HTTPClient] build dialers and
// HTTP clients with the hook in place; the transport uses no proxy, since a
// proxy would connect to the target out of the guard's sight.
// [Guard.CheckHost] is the friendly save-time check: it resolves the name
// and refuses it if any address is refused, so an admin learns at once that
// "pms.example.org" points at loopback. It is a convenience, never the
// protection.
//
// # What is refused
//
// Every address that is not a public Internet destination: loopback,
// private (RFC 1918, fc00::/7), link-local (169.254.0.0/16 including the
// metadata service, fe80::/10), multicast, unspecified (0.0.0.0, ::),
// broadcast, the "this network" block 0.0.0.0/8, shared address space
// 100.64.0.0/10 (see ranges.go for why), documentation, benchmarking and
// reserved blocks, and the deprecated site-local and IPv4-compatible IPv6
// forms. IPv4-mapped IPv6 addresses (::ffff:127.0.0.1) are unmapped first;
// NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses are judged by the IPv4
// address they embed, so 64:ff9b::7f00:1 is loopback but the NAT64 form of
// a public address still works on an IPv6-only network with DNS64. Only TCP
// and UDP are dialled; any other network is refused.
//
// The hub's own listening addresses (Config.Listeners: the API, SMTP and
// metrics listeners) are refused too, so the hub cannot be made to call its
// own API with its own network position. A listener on an unspecified
// address (":8080", "0.0.0.0:8080", "[::]:8080") or a host name makes that
// port refused on every local address: loopback and every address of every
// interface, looked up when such a port is dialled.
//
// # The allow-list
//
// An on-premises deployment whose PMS lives on the practice network lists
// it in KARERE_ALLOWED_PRIVATE_TARGETS, parsed by [Parse]: comma-separated
// entries, each a CIDR prefix ("10.20.0.0/16": every port) or a
// host:port / ip:port ("pms.surgery.local:8443", "[fd00::5]:443": that port
// only). A host name entry allows the addresses the name resolves to when
// the connection is made, on that port. The hub's own listeners stay
// refused under a CIDR entry; only an exact ip:port or host:port entry
// naming a listener lets the hub connect to itself.
//
// # Uniform errors
//
// A refusal is an error that matches [ErrRefused] with errors.Is; its
// concrete type, [*RefusedError], carries the address and the reason for
// the operator's logs. What reaches an API client must not help it map the
// hub's network: API layers must show only [Classify]'s output, which turns
// any dial or I/O error into exactly one of "connection failed", "timed
// out" or "refused by target policy", never a remote banner, an address or
// an errno. (A client can still time a failure; the policy's job is that
// nothing internal is reachable to time.)
//
// # Disabled mode
//
// [AllowAll] returns a Guard that permits everything, for "hubd dev" and
// for tests that talk to fake servers on loopback. A nil *Guard does not:
// it applies the default policy (no allow-list, no known listeners), so a
// component whose guard was never wired fails closed. Tests that want the
// policy but need loopback allow it explicitly:
//
//	g, _ := netguard.New(netguard.Config{Allow: netguard.MustParse("127.0.0.0/8,::1/128")})
//
// A Guard is immutable after New and safe for concurrent use.
package netguard
