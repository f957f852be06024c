package apaleo

import (
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// Options configures a Link. Zero durations take the defaults in their
// comments; tests shorten them.
type Options struct {
	// BaseURL is the API's root (https://api.apaleo.com).
	BaseURL string
	// TokenURL is the identity server's token endpoint.
	TokenURL string
	// ClientID and ClientSecret are the OAuth2 client credentials. The
	// secret is never logged.
	ClientID, ClientSecret string
	// Scope is the scopes asked for; "" for the client's defaults.
	Scope string
	// Property is the apaleo property id.
	Property string
	// Charge is how a call is written on the folio.
	Charge ChargeConfig

	// MinorDigits returns the decimals of a currency's minor unit (2 for
	// EUR, 0 for JPY, 3 for KWD); nil means 2 for every currency.
	MinorDigits func(currency string) (int, bool)

	// PollInterval is the time between two readings of the in-house
	// reservations; 0 means 60 s.
	PollInterval time.Duration
	// AnswerTimeout is how long a charge waits for its answer before it is
	// in doubt; 0 means 30 s. Reads (reservations, folios, token) get the
	// same bound.
	AnswerTimeout time.Duration
	// RequestsPerS is the most requests per second sent, over all
	// endpoints, with a burst of as many; 0 means 5.
	RequestsPerS float64
	// RetryAfterMax caps a 429's Retry-After; 0 means 10 minutes.
	RetryAfterMax time.Duration
	// MinBackoff and MaxBackoff bound the wait before reading the
	// reservations again after a failure; 0 means 1 s and PollInterval.
	MinBackoff, MaxBackoff time.Duration

	// Transport replaces the HTTP transport (tests); nil means a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Logger gets link state changes and each posting's outcome; the zero
	// value logs nothing.
	Logger zerolog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.PollInterval, DefaultPollS*time.Second)
	def(&o.AnswerTimeout, DefaultAnswerS*time.Second)
	def(&o.RetryAfterMax, 10*time.Minute)
	def(&o.MinBackoff, time.Second)
	def(&o.MaxBackoff, o.PollInterval)
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.RequestsPerS <= 0 {
		o.RequestsPerS = DefaultRequestsPerS
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.TokenURL == "" {
		o.TokenURL = DefaultTokenURL
	}
	if o.Charge.ServiceType == "" {
		o.Charge.ServiceType = "Other"
	}
	if o.Charge.VatType == "" {
		o.Charge.VatType = "Normal"
	}
	if o.Charge.NamePrefix == "" {
		o.Charge.NamePrefix = "Telephone"
	}
	if o.MinorDigits == nil {
		o.MinorDigits = func(string) (int, bool) { return 2, true }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
