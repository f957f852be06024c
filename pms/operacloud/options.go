package operacloud

import (
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Options configures a Link: the pms section of the config file and what
// the caller adds. Durations left at zero come from Config; tests shorten
// them.
type Options struct {
	// Config is the pms section (Check it first: Open checks only what it
	// cannot work without).
	Config Config
	// ClientSecret and Password, when set, are used instead of reading
	// Config's secret files or environment variables (tests).
	ClientSecret, Password string
	// MinorDigits returns the decimals of a currency's minor unit
	// (required: amounts go to OHIP as decimals).
	MinorDigits func(currency string) (int, bool)
	// HTTPClient, if set, sends the requests; nil means a client of its
	// own (no redirects followed in either case).
	HTTPClient *http.Client
	// Logger gets one line per status change, per lookup and per posting
	// in doubt (never a secret, a token or a number dialed; postings at
	// debug level).
	Logger zerolog.Logger
	// Now is the clock of results and guest events; nil means time.Now.
	Now func() time.Time

	// Poll overrides Config.PollS, AnswerTimeout Config.AnswerTimeoutS.
	Poll, AnswerTimeout time.Duration
	// PageSize is the reservations asked for per page; 0 means 100.
	PageSize int
	// MinBackoff and MaxBackoff bound the wait before reading the
	// reservations again after a failure; 0 means 1 s and the poll time.
	MinBackoff, MaxBackoff time.Duration
}

// settings reads the secrets and flattens the options.
func (o Options) settings() (settings, error) {
	c := o.Config
	secret, password := o.ClientSecret, o.Password
	if secret == "" || (c.Auth.Username != "" && password == "") {
		s, p, err := c.Secrets()
		if err != nil {
			return settings{}, err
		}
		if secret == "" {
			secret = s
		}
		if password == "" {
			password = p
		}
	}
	st := settings{
		BaseURL: strings.TrimRight(c.BaseURL, "/"), Hotel: c.Property,
		TokenURL: c.Auth.TokenURL, ClientID: c.Auth.ClientID, ClientSecret: secret, AppKey: c.Auth.AppKey,
		Scope: c.Auth.Scope, EnterpriseID: c.Auth.EnterpriseID, Username: c.Auth.Username, Password: password,
		CashierID: c.Charge.CashierID, Codes: c.Charge.TransactionCodes, ExternalSystem: c.ExternalSystem,
		Poll: time.Duration(c.PollS) * time.Second, AnswerTimeout: time.Duration(c.AnswerTimeoutS) * time.Second,
		RatePerS: c.RatePerS, PageSize: o.PageSize, MinBackoff: o.MinBackoff, MaxBackoff: o.MaxBackoff,
		MinorDigits: o.MinorDigits, HTTPClient: o.HTTPClient, Logger: o.Logger, Now: o.Now,
	}
	if o.Poll > 0 {
		st.Poll = o.Poll
	}
	if o.AnswerTimeout > 0 {
		st.AnswerTimeout = o.AnswerTimeout
	}
	return st, nil
}
