package netguard_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/karerehub/karere/internal/netguard"
)

// An on-premises deployment allows its PMS subnet; the hub's own API
// listens on every address at port 8080.
func ExampleGuard_Check() {
	allow, err := netguard.Parse("10.20.0.0/16") // from KARERE_ALLOWED_PRIVATE_TARGETS
	if err != nil {
		panic(err)
	}
	g, err := netguard.New(netguard.Config{Allow: allow, Listeners: []string{":8080"}})
	if err != nil {
		panic(err)
	}
	for _, target := range []string{
		"10.20.1.5:8443",     // the PMS
		"10.30.0.1:443",      // another private network
		"169.254.169.254:80", // the cloud metadata service
		"127.0.0.1:6379",     // the hub's Redis
		"127.0.0.1:8080",     // the hub's own API
		"1.1.1.1:443",        // the Internet
	} {
		err := g.Check(context.Background(), netip.MustParseAddrPort(target))
		if err == nil {
			fmt.Printf("%-19s allowed\n", target)
			continue
		}
		// Classify(err) for the API client, err itself for the log.
		fmt.Printf("%-19s %s\n", target, netguard.Classify(err))
	}
	// Output:
	// 10.20.1.5:8443      allowed
	// 10.30.0.1:443       refused by target policy
	// 169.254.169.254:80  refused by target policy
	// 127.0.0.1:6379      refused by target policy
	// 127.0.0.1:8080      refused by target policy
	// 1.1.1.1:443         allowed
}

func ExampleParse_error() {
	_, err := netguard.Parse("10.20.0.0/16, 10.20.0.5")
	fmt.Println(err)
	// Output:
	// netguard: allow-list entry 2 "10.20.0.5": no port: write 10.20.0.5:PORT for one port, or 10.20.0.5/32 for every port
}
