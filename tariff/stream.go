package tariff

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"callgate/gateway"
)

// RateStream rates every call line of r (JSON lines as gateway parse writes
// them) and writes the rated lines to w, in order: each input object with the
// charge fields added. A line that is not a call gives {"error":…,"line":N}
// and the run goes on; blank lines are skipped. It is gateway rate's work.
func RateStream(r io.Reader, w io.Writer, tf gateway.Rater) (calls, errs int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	bw := bufio.NewWriter(w)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		out, rerr := rateLine(b, tf)
		if rerr != nil {
			errs++
			out, _ = json.Marshal(struct {
				Error string `json:"error"`
				Line  int    `json:"line"`
			}{rerr.Error(), line})
		} else {
			calls++
		}
		bw.Write(out)
		if err := bw.WriteByte('\n'); err != nil {
			return calls, errs, err
		}
	}
	if err := sc.Err(); err != nil {
		return calls, errs, err
	}
	return calls, errs, bw.Flush()
}

func rateLine(b []byte, tf gateway.Rater) ([]byte, error) {
	var c gateway.Call
	if err := json.Unmarshal(b, &c); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("not a JSON object: %v", se)
		case errors.As(err, &te):
			return nil, fmt.Errorf("not a call: %s is %s, want %s", te.Field, te.Value, te.Type)
		}
		return nil, fmt.Errorf("not a call: %s", strings.TrimPrefix(err.Error(), "call: "))
	}
	ch, err := tf.Rate(c)
	if err != nil {
		return nil, err
	}
	chb, err := ch.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return mergeObjects(b, chb)
}

// mergeObjects returns JSON object a with the members of b added, keeping
// a's members in their order; a member of a that b also has (a line rated
// before) is replaced by b's.
func mergeObjects(a, b []byte) ([]byte, error) {
	am, err := members(a)
	if err != nil {
		return nil, err
	}
	bm, err := members(b)
	if err != nil {
		return nil, err
	}
	inB := map[string]bool{}
	for _, m := range bm {
		inB[m.key] = true
	}
	var out bytes.Buffer
	out.WriteByte('{')
	first := true
	for i, ms := range [][]member{am, bm} {
		for _, m := range ms {
			if i == 0 && inB[m.key] {
				continue
			}
			if !first {
				out.WriteByte(',')
			}
			first = false
			k, _ := json.Marshal(m.key)
			out.Write(k)
			out.WriteByte(':')
			out.Write(m.val)
		}
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

type member struct {
	key string
	val json.RawMessage
}

// members returns the members of a JSON object in order.
func members(b []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var ms []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		ms = append(ms, member{k, v})
	}
	return ms, nil
}
