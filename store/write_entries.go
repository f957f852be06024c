package store

import (
	"bufio"
	"context"
	"io"

	"callgate/gateway"
)

// WriteEntries writes the entries f selects to w as JSON lines (each
// Entry.MarshalJSON), a thousand at a time; limit > 0 stops after that many,
// and f.Limit and f.After are its own. It returns how many it wrote. It is
// gateway journal's listing.
func (j *Journal) WriteEntries(ctx context.Context, w io.Writer, f gateway.Filter, limit int) (int, error) {
	bw := bufio.NewWriter(w)
	n := 0
	f.After = 0
	for {
		f.Limit = 1000
		if limit > 0 {
			f.Limit = min(1000, limit-n)
		}
		list, err := j.Entries(ctx, f)
		if err != nil {
			return n, err
		}
		for _, e := range list {
			b, err := e.MarshalJSON()
			if err != nil {
				return n, err
			}
			bw.Write(b)
			bw.WriteByte('\n')
		}
		n += len(list)
		if len(list) < f.Limit || limit > 0 && n >= limit {
			break
		}
		f.After = list[len(list)-1].ID
	}
	return n, bw.Flush()
}
