package apaleo

import (
	"net/http"
	"time"

	"callgate/gateway"

	"github.com/rs/zerolog"
)

// settings are a link's options flattened, the secret read, the defaults
// applied.
type settings struct {
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

	Transport http.RoundTripper
	Logger    zerolog.Logger
	Now       func() time.Time
}

// Options configures a Link: the pms section of the config file and what
// the caller adds. Durations left at zero come from Config; tests shorten
// them.
type Options struct {
	// Config is the pms section (Check it first: Open checks only what it
	// cannot work without).
	Config Config
	// ClientSecret, when set, is used instead of reading Config's secret
	// file or environment variable (tests).
	ClientSecret string
	// MinorDigits returns the decimals of a currency's minor unit (2 for
	// EUR, 0 for JPY, 3 for KWD); nil means 2 for every currency.
	MinorDigits func(currency string) (int, bool)
	// Transport replaces the HTTP transport (tests); nil means a clone of
	// http.DefaultTransport. Redirects are never followed.
	Transport http.RoundTripper
	// Logger gets link state changes and each posting's outcome (never a
	// secret or a token; a dialed number only at debug level); the zero
	// value logs nothing.
	Logger zerolog.Logger
	// Now is the clock of results, events and token expiry; nil means
	// time.Now.
	Now func() time.Time

	// PollInterval overrides Config.PollS; AnswerTimeout overrides
	// Config.AnswerTimeoutS.
	PollInterval, AnswerTimeout time.Duration
	// RetryAfterMax caps a 429's Retry-After; 0 means 10 minutes.
	RetryAfterMax time.Duration
	// MinBackoff and MaxBackoff bound the wait before reading the
	// reservations again after a failure; 0 means 1 s and the poll
	// interval.
	MinBackoff, MaxBackoff time.Duration
}

// settings reads the secret (unless given) and flattens the options.
func (o Options) settings() (settings, error) {
	c := o.Config
	secret := o.ClientSecret
	if secret == "" {
		s, err := c.Secret()
		if err != nil {
			return settings{}, gateway.Wrap(gateway.KindInvalid, err, "")
		}
		secret = s
	}
	st := settings{
		BaseURL: c.BaseURL, TokenURL: c.Auth.TokenURL, ClientID: c.Auth.ClientID, ClientSecret: secret, Scope: c.Auth.Scope,
		Property: c.Property, Charge: c.Charge, MinorDigits: o.MinorDigits,
		PollInterval: time.Duration(c.PollS) * time.Second, AnswerTimeout: time.Duration(c.AnswerTimeoutS) * time.Second,
		RequestsPerS: float64(c.RequestsPerS), RetryAfterMax: o.RetryAfterMax, MinBackoff: o.MinBackoff, MaxBackoff: o.MaxBackoff,
		Transport: o.Transport, Logger: o.Logger, Now: o.Now,
	}
	if o.PollInterval > 0 {
		st.PollInterval = o.PollInterval
	}
	if o.AnswerTimeout > 0 {
		st.AnswerTimeout = o.AnswerTimeout
	}
	return st.withDefaults(), nil
}

func (o settings) withDefaults() settings {
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
