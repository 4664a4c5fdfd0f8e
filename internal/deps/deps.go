// Package deps pins the project's modules while the packages that use them
// are written. It is removed once each is imported for real.
package deps

import (
	_ "github.com/ProtonMail/go-crypto/openpgp"
	_ "github.com/ProtonMail/go-crypto/openpgp/armor"
	_ "github.com/ProtonMail/go-crypto/openpgp/packet"
	_ "github.com/alicebob/miniredis/v2"
	_ "github.com/chromedp/chromedp"
	_ "github.com/compose-spec/compose-go/v2/loader"
	_ "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/mail"
	_ "github.com/emersion/go-msgauth/dkim"
	_ "github.com/emersion/go-sasl"
	_ "github.com/emersion/go-smtp"
	_ "github.com/hibiken/asynq"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/nyaruka/phonenumbers"
	_ "github.com/oklog/ulid/v2"
	_ "github.com/pressly/goose/v3"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/twilio/twilio-go"
	_ "github.com/twilio/twilio-go/client"
	_ "github.com/twilio/twilio-go/rest/api/v2010"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/time/rate"
	_ "modernc.org/sqlite"
)
