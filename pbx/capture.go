package pbx

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
)

// Capture reads src and writes each record to w as it comes (gateway
// capture): parsed as WriteParsed writes it, or, with p nil, raw as framed,
// one a line. It ends when ctx ends or src is closed, returning nil, or on
// another error reading src or writing w.
func Capture(ctx context.Context, src Source, p *Parser, w io.Writer) error {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	for {
		rec, err := src.Read(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, ErrClosed) {
				return nil
			}
			return err
		}
		if p == nil {
			fmt.Fprintf(bw, "%s\n", rec.Data)
		} else if _, err := WriteParsed(bw, p, rec); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	}
}
