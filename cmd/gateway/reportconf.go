package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"callgate/gateway/report"
	"callgate/tariff"
)

// ReportConfig holds the settings of gateway report and gateway export (the
// report package's section).
type ReportConfig = report.Config

func (c *Config) validateReport(k *checker) {
	for _, p := range c.Report.Problems() {
		k.Add(p.Key, "%s", p.Msg)
	}
	for i, path := range c.Report.Carriers {
		key := fmt.Sprintf("report.carriers[%d]", i)
		if strings.TrimSpace(path) == "" {
			k.Add(key, "is empty: give the path of a tariff file")
			continue
		}
		tariff.CheckFile(k, key, c.Resolve(path))
	}
}

// carrierTariffs loads the tariff files of report.carriers, each named by
// its file name, for the carriers report.
func (c *Config) carrierTariffs() ([]report.NamedRater, error) {
	return loadCarriers(c.Resolve, c.Report.Carriers)
}

// loadCarriers loads alternative tariff files for the carriers report; a
// file that does not load is an error naming it.
func loadCarriers(resolve func(string) string, paths []string) ([]report.NamedRater, error) {
	var out []report.NamedRater
	for _, path := range paths {
		tf, err := tariff.Load(resolve(path))
		if err != nil {
			return nil, fmt.Errorf("alternative tariff %s: %w", path, err)
		}
		out = append(out, report.NamedRater{Name: filepath.Base(path), Rater: tf})
	}
	return out, nil
}

// reportOptions maps the config onto the report options, with the
// tariff's amount digits (dates and alternative tariffs are the caller's).
func (c *Config) reportOptions() report.Options {
	o := c.Report.Options(c.Location, c.Rooms.RoomMap(), tariff.MinorDigits)
	o.Fraud = c.Alarms.FraudRules() // the fraud report and the exceptions' fraud reasons
	return o
}
