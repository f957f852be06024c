package gateway

import (
	"fmt"
	netmail "net/mail"
	"net/url"
	"strings"
	"time"
)

// The config keys of alarm delivery, the fraud rules and room credit
// (docs/alarms.md):
//
//	alarms:
//	  notify:
//	    - {email: [night@hotel.example]}
//	    - {webhook: "https://ops.example/callgate", secret_file: /etc/callgate/webhook.key}
//	  remind_minutes: 60
//	  fraud: {international_per_hour: 3, cost_per_hour: 10000, night: "00:00-06:00",
//	          premium_classes: [premium], long_call_minutes: 120, destinations: ["882", "881"]}
//	rooms:
//	  credit: {default: 20000, rooms: {"101": 50000}, vip: {"GOLD": 100000}}

// NotifyTarget is one place alarms are sent: e-mail addresses (through the
// config's smtp server) or a webhook.
type NotifyTarget struct {
	Email      []string `yaml:"email"`
	Webhook    string   `yaml:"webhook"`
	SecretFile string   `yaml:"secret_file"` // the webhook's signing key, read and trimmed
}

// Name names the target in logs, alarms and `gateway alarms test`, with no
// secret: the addresses, or the webhook's URL without its query or login.
func (t NotifyTarget) Name() string {
	if t.Webhook != "" {
		u, err := url.Parse(t.Webhook)
		if err != nil {
			return "webhook"
		}
		return "webhook " + u.Scheme + "://" + u.Host + u.Path
	}
	return "e-mail to " + strings.Join(t.Email, ", ")
}

// FraudConfig is alarms.fraud: the toll-fraud and cost rules.
type FraudConfig struct {
	InternationalPerHour int      `yaml:"international_per_hour"`
	CostPerHour          int64    `yaml:"cost_per_hour"` // minor units of the tariff's currency
	Night                string   `yaml:"night"`         // "00:00-06:00"
	PremiumClasses       []string `yaml:"premium_classes"`
	LongCallMinutes      int      `yaml:"long_call_minutes"`
	Destinations         []string `yaml:"destinations"` // E.164 prefixes, country code first
}

// CreditConfig is rooms.credit: the credit limits per stay, in minor units
// of the tariff's currency.
type CreditConfig struct {
	Default int64            `yaml:"default"`
	Rooms   map[string]int64 `yaml:"rooms"`
	VIP     map[string]int64 `yaml:"vip"`
}

// Remind is how often a standing alarm is sent again (default 60 min).
func (a AlarmsConfig) Remind() time.Duration {
	if a.RemindMinutes <= 0 {
		return time.Hour
	}
	return time.Duration(a.RemindMinutes) * time.Minute
}

// NeedsSMTP reports whether a target sends e-mail.
func (a AlarmsConfig) NeedsSMTP() bool {
	for _, t := range a.Notify {
		if len(t.Email) > 0 {
			return true
		}
	}
	return false
}

// FraudRules returns the engine's fraud rules (none without the section).
func (a AlarmsConfig) FraudRules() FraudRules {
	f := a.Fraud
	if f == nil {
		return FraudRules{}
	}
	r := FraudRules{InternationalPerHour: f.InternationalPerHour, CostPerHour: f.CostPerHour,
		LongCallMinutes: f.LongCallMinutes, PremiumClasses: f.PremiumClasses}
	if len(r.PremiumClasses) == 0 {
		r.PremiumClasses = []string{"premium"}
	}
	r.NightFrom, r.NightTo, _ = ParseTimeSpan(f.Night)
	for _, d := range f.Destinations {
		r.Destinations = append(r.Destinations, strings.TrimPrefix(strings.TrimSpace(d), "+"))
	}
	return r
}

// Limits returns the engine's credit limits (none without the section).
func (c *CreditConfig) Limits() CreditLimits {
	if c == nil {
		return CreditLimits{}
	}
	return CreditLimits{Default: c.Default, Rooms: c.Rooms, VIP: c.VIP}
}

func (a AlarmsConfig) checkDelivery(k *Checker) {
	if a.RemindMinutes < 0 {
		k.Add("alarms.remind_minutes", "%d is negative: give the minutes between reminders of a standing alarm (default 60)", a.RemindMinutes)
	}
	for i, t := range a.Notify {
		key := fmt.Sprintf("alarms.notify[%d]", i)
		switch {
		case len(t.Email) > 0 && t.Webhook != "":
			k.Add(key, "a target is either email: [addresses] or webhook: URL, not both: make two targets")
		case len(t.Email) == 0 && t.Webhook == "":
			k.Add(key, "give email: [addresses] or webhook: URL with secret_file: FILE")
		case t.Webhook != "":
			u, err := url.Parse(t.Webhook)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				k.Add(key+".webhook", "%q is not an http:// or https:// address", t.Webhook)
			} else if u.User != nil {
				k.Add(key+".webhook", "the address holds a login: the webhook is signed with secret_file instead")
			}
			k.Required(key+".secret_file", t.SecretFile, "the file holding the webhook's signing key (the message is signed with HMAC-SHA256)")
		default:
			if t.SecretFile != "" {
				k.Add(key+".secret_file", "is for a webhook target; an e-mail target has none")
			}
			for j, addr := range t.Email {
				if _, err := netmail.ParseAddress(addr); err != nil {
					k.Add(fmt.Sprintf("%s.email[%d]", key, j), "%q is not an e-mail address", addr)
				}
			}
		}
	}
	if f := a.Fraud; f != nil {
		if f.InternationalPerHour < 0 {
			k.Add("alarms.fraud.international_per_hour", "%d is negative: give the international calls an extension may make in an hour, or 0 for no limit", f.InternationalPerHour)
		}
		if f.CostPerHour < 0 {
			k.Add("alarms.fraud.cost_per_hour", "%d is negative: give an amount in minor units of the tariff's currency (10000 for 100.00), or 0 for no limit", f.CostPerHour)
		}
		if _, _, err := ParseTimeSpan(f.Night); err != nil {
			k.Add("alarms.fraud.night", "%v", err)
		}
		if f.LongCallMinutes < 0 {
			k.Add("alarms.fraud.long_call_minutes", "%d is negative: give minutes, or 0 for no limit", f.LongCallMinutes)
		}
		for i, d := range f.Destinations {
			if !IsDigits(strings.TrimPrefix(strings.TrimSpace(d), "+")) {
				k.Add(fmt.Sprintf("alarms.fraud.destinations[%d]", i), "%q is not a number prefix with its country code, like 882 or +4470", d)
			}
		}
		for i, c := range f.PremiumClasses {
			if strings.TrimSpace(c) == "" {
				k.Add(fmt.Sprintf("alarms.fraud.premium_classes[%d]", i), "is empty: give a class of the tariff, like premium")
			}
		}
	}
}

func (c *CreditConfig) check(k *Checker) {
	if c == nil {
		return
	}
	if c.Default < 0 {
		k.Add("rooms.credit.default", "%d is negative: give the limit per stay in minor units of the tariff's currency (20000 for 200.00), or 0 for none", c.Default)
	}
	for room, l := range c.Rooms {
		if l < 0 {
			k.Add("rooms.credit.rooms."+room, "%d is negative: give minor units, or 0 for no limit", l)
		}
	}
	for vip, l := range c.VIP {
		if l < 0 {
			k.Add("rooms.credit.vip."+vip, "%d is negative: give minor units, or 0 for no limit", l)
		}
	}
}
