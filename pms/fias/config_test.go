package fias

import (
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/internal/serialport"
)

func TestConfigCheckAndOptions(t *testing.T) {
	c := DefaultConfig()
	c.Address = "10.0.0.20:5010"
	k := &gateway.Checker{}
	c.Check(k)
	if len(k.Problems) != 0 {
		t.Fatalf("defaults with an address: %v", k.Problems)
	}
	if ryMin, ryMax, naPoll := c.Retry.Waits(); ryMin != 2*time.Second || ryMax != time.Minute || naPoll != time.Minute {
		t.Errorf("the default pms.retry: %v, %v, %v", ryMin, ryMax, naPoll)
	}
	o := c.FIASOptions()
	if o.Address != c.Address || o.CodePage != "windows-1252" || o.AnswerTimeout != 30*time.Second || o.AliveInterval != 300*time.Second || o.Serial != nil {
		t.Errorf("options %+v", o)
	}
	c = DefaultConfig()
	c.Serial = &serialport.Config{Device: "/dev/ttyS1", Baud: 9600, DataBits: 8, Parity: "none", StopBits: "2", FlowControl: "none"}
	if o := c.FIASOptions(); o.Serial == nil || o.Serial.StopBits != 2 || o.Serial.Device != "/dev/ttyS1" {
		t.Errorf("serial options %+v", o.Serial)
	}
	for _, tc := range []struct {
		set  func(*Config)
		want string
	}{
		{func(c *Config) {}, "pms.address: missing: give the PMS interface's address"},
		{func(c *Config) { c.Address, c.Serial = "10.0.0.20:5010", &serialport.Config{} }, "pms.serial: given with pms.address"},
		{func(c *Config) { c.Address, c.Protocol = "10.0.0.20:5010", "hl7" }, `pms.protocol: "hl7" is not one of fias`},
		{func(c *Config) { c.Address, c.AmountExponent = "10.0.0.20:5010", 5 }, "pms.amount_exponent: 5 is not from 0 to 4"},
		{func(c *Config) { c.Address, c.CodePage = "10.0.0.20:5010", "ebcdic" }, `pms.code_page: "ebcdic" is not one of`},
		{func(c *Config) { c.Address, c.Posting.SalesOutlet = "10.0.0.20:5010", "123456" }, `pms.posting.sales_outlet: "123456" is not a number of at most 5 digits`},
		{func(c *Config) { c.Address, c.AnswerTimeoutS = "10.0.0.20:5010", 5 }, "pms.answer_timeout_s: "},
		{func(c *Config) { c.Address, c.Retry.RYMinS = "10.0.0.20:5010", 0 }, "pms.retry.ry_min_s: 0 is not from 1 to 600: it is the seconds the gateway waits before sending a posting again after the PMS answered RY (busy)"},
		{func(c *Config) { c.Address, c.Retry.RYMinS, c.Retry.RYMaxS = "10.0.0.20:5010", 10, 5 }, "pms.retry.ry_max_s: 5 is less than pms.retry.ry_min_s (10)"},
		{func(c *Config) { c.Address, c.Retry.RYMaxS = "10.0.0.20:5010", 7200 }, "pms.retry.ry_max_s: 7200 is more than 3600"},
		{func(c *Config) { c.Address, c.Retry.NAPollS = "10.0.0.20:5010", -1 }, "pms.retry.na_poll_s: -1 is not from 1 to 3600"},
	} {
		c := DefaultConfig()
		tc.set(&c)
		k := &gateway.Checker{}
		c.Check(k)
		if !strings.Contains(k.Problems.Error(), tc.want) {
			t.Errorf("%q, want %q", k.Problems.Error(), tc.want)
		}
	}
}
