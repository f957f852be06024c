package report

import "testing"

// MonthTable computes the report called name over the month fixture, for
// the tests of package report_test (render_test.go), which write it with
// package render: an import package report itself cannot make.
func MonthTable(t *testing.T, name string) *Table { return run(t, month(t), name) }
