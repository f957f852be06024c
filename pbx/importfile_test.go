package pbx

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
)

type fakeProgress struct {
	size, done int64
	finished   bool
}

func (p *fakeProgress) Set64(n int64) error { p.done = n; return nil }
func (p *fakeProgress) Finish() error       { p.finished = true; return nil }

func TestImportFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "smdr.txt")
	data := "not a call record\nnor this one\n"
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := NewParser("avaya-ipo", Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	im := &gateway.Importer{Journal: gatewaytest.NewJournal(gatewaytest.JournalOptions{}), Parser: p}
	f, _ := LookupFormat("avaya-ipo")
	var bar fakeProgress
	size, err := ImportFile(context.Background(), im, name, f, time.Time{}, func(n int64) Progress { bar.size = n; return &bar })
	if err != nil {
		t.Fatal(err)
	}
	if size != int64(len(data)) || bar.size != size || bar.done != size || !bar.finished {
		t.Errorf("size %d, progress %+v", size, bar)
	}
	if st := im.Stats(); st.Records != 2 || st.Imported != 0 {
		t.Errorf("stats %+v", st)
	}
	missing := filepath.Join(t.TempDir(), "gone.txt")
	if size, err := ImportFile(context.Background(), im, missing, f, time.Time{}, nil); size != -1 || err == nil ||
		err.Error() != "cannot read "+missing+": no such file or directory" {
		t.Errorf("missing file: %d, %v", size, err)
	}
}
