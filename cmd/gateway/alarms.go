package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/notify"
)

// alarmsCommand is `gateway alarms test --config F`: one test alarm to every
// target of alarms.notify, saying which failed (docs/alarms.md).
func alarmsCommand() *command {
	var path string
	register := func(fs *flag.FlagSet) {
		fs.StringVar(&path, "config", path, "the config file (required): its alarms.notify targets and smtp server")
	}
	return &command{
		name:    "alarms",
		args:    "test",
		summary: "send one test alarm to every target of alarms.notify (e-mail and webhooks) and say which failed; exit 1 if any did",
		flags:   func(fs *flag.FlagSet, _ *app) { register(fs) },
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) == 0 || args[0] != "test" {
				return usageError{"alarms needs test: gateway alarms test --config FILE"}
			}
			fs := flag.NewFlagSet("gateway alarms test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			register(fs)
			if err := fs.Parse(args[1:]); err != nil {
				if errors.Is(err, flag.ErrHelp) {
					a.commandUsage(a.stdout, lookup("alarms"))
					return nil
				}
				return usageError{fmt.Sprintf("%s (see gateway alarms --help)", err)}
			}
			if fs.NArg() > 0 {
				return usageError{fmt.Sprintf("alarms test takes no arguments, not %q", fs.Args())}
			}
			if path == "" {
				return usageError{"alarms test needs --config FILE"}
			}
			c, err := loadConfigFor(path, "alarms test", "site", "alarms", "smtp")
			if err != nil {
				return err
			}
			if len(c.Alarms.Notify) == 0 {
				return fmt.Errorf("%s has no alarms.notify targets: add {email: [addresses]} or {webhook: URL, secret_file: FILE}", path)
			}
			n, err := c.notifier(nil, a.log)
			if err != nil {
				return err
			}
			failed := 0
			for _, r := range n.Test(ctx) {
				if r.Err != nil {
					failed++
					fmt.Fprintf(a.stdout, "failed: %s: %v\n", r.Target, r.Err)
					continue
				}
				fmt.Fprintf(a.stdout, "sent: %s\n", r.Target)
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d alarm targets failed", failed, len(c.Alarms.Notify))
			}
			return nil
		},
	}
}

// notifier returns the alarm delivery of c's alarms.notify, raising its
// notify-failed alarms through setAlarm (nil: none).
func (c *Config) notifier(setAlarm func(gateway.Alarm, bool), log zerolog.Logger) (*notify.Notifier, error) {
	o := notify.Options{Site: c.Site.Name, Location: c.Location, Targets: c.Alarms.Notify, Resolve: c.Resolve,
		Remind: c.Alarms.Remind(), SetAlarm: setAlarm, Logger: log.With().Str("component", "notify").Logger()}
	if c.Alarms.NeedsSMTP() {
		o.Mail, o.From = c.mailServer(), c.SMTP.From
	}
	return notify.New(o)
}

// validateAlarms checks what alarms.notify names on this machine: each
// webhook's key file.
func (c *Config) validateAlarms(k *checker) {
	for i, t := range c.Alarms.Notify {
		if t.Webhook == "" || t.SecretFile == "" {
			continue
		}
		if _, err := notify.ReadSecret(c.Resolve(t.SecretFile)); err != nil {
			k.Add(fmt.Sprintf("alarms.notify[%d].secret_file", i), "%v", err)
		}
	}
	if c.Alarms.NeedsSMTP() && c.SMTP.Host == "" {
		k.Add("alarms.notify", "a target sends e-mail: give the mail server in the smtp: section (host, from)")
	}
}

// warnAlarms warns of a webhook over plain HTTP to the network: the
// messages are signed, not encrypted, and name rooms and extensions.
func (c *Config) warnAlarms(k *checker) {
	for i, t := range c.Alarms.Notify {
		u, err := url.Parse(t.Webhook)
		if t.Webhook == "" || err != nil || u.Scheme != "http" || gateway.LoopbackHost(u.Hostname()) {
			continue
		}
		k.Add(fmt.Sprintf("alarms.notify[%d].webhook", i), "%s sends alarms (rooms, extensions, amounts) over plain HTTP to the network: "+
			"they are signed, not encrypted; use https://", t.Name())
	}
}
