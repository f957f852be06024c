package pgtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// CallsOptions shape LoadCalls' synthetic calls.
type CallsOptions struct {
	// CallerIDs gives inbound calls a caller ID (in the call's JSON).
	CallerIDs bool
	// LongEvery makes every LongEvery-th call of a property last one to
	// three hours (0: none).
	LongEvery int
}

// callCols are the call_state columns LoadCalls fills: those the central's
// Apply writes.
var callCols = []string{"property", "epoch", "entry", "created_utc", "state", "updated_utc", "last_seq", "received_utc", "source",
	"start_local", "start_utc", "extension", "room", "dialed", "duration_s", "direction", "trunk", "class", "destination", "band",
	"billable_s", "chargeable", "carrier_minor", "markup_minor", "surcharge_minor", "tax_minor", "total_minor", "currency",
	"tariff_version", "posting", "sent_utc", "pms_answer", "answer_utc", "replays", "entry_utc", "call", "charge", "ring_s"}

// wallClock is gateway.WallClockLayout (internal packages import none of
// ours).
const wallClock = "2006-01-02T15:04:05"

// LoadCalls COPYs per synthetic projected calls of November 2026 for each
// of properties (already added, the month's partitions made) straight into
// callgate.call_state, two properties at a time, each from its own seeded
// random source: 80 % trunk calls out, 15 % in, 5 % internal, durations
// mostly short, ring times up to 30 s, posted. Benchmarks and opt-in tests
// load chain-sized months with it (docs/chain-console.md, "Figures").
func LoadCalls(ctx context.Context, pool *pgxpool.Pool, properties []string, per int, o CallsOptions) error {
	month := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, len(properties))
	work := make(chan int, len(properties))
	for p := range properties {
		work <- p
	}
	close(work)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				rng := rand.New(rand.NewPCG(uint64(p), 16))
				name := properties[p]
				i := 0
				_, err := pool.CopyFrom(ctx, pgx.Identifier{"callgate", "call_state"}, callCols, pgx.CopyFromFunc(func() ([]any, error) {
					if i == per {
						return nil, nil
					}
					i++
					at := month.Add(time.Duration(rng.Int64N(int64(29*24*time.Hour + 20*time.Hour)))).Truncate(time.Second)
					dur := int(rng.ExpFloat64() * 180)
					if o.LongEvery > 0 && i%o.LongEvery == 0 {
						dur = 3600 + rng.IntN(7200)
					}
					ring := rng.IntN(31)
					dir, caller := "out", ""
					switch r := rng.IntN(100); {
					case r < 15:
						dir = "in"
						if o.CallerIDs {
							caller = fmt.Sprintf("+4420794%05d", rng.IntN(3000))
						}
					case r < 20:
						dir = "internal"
					}
					ext := fmt.Sprint(200 + rng.IntN(300))
					dialed := fmt.Sprintf("0044207946%04d", rng.IntN(10000))
					total := int64(20 + rng.IntN(2000))
					created := at.Add(time.Duration(dur+ring+1) * time.Second)
					callerKey := ""
					if o.CallerIDs {
						callerKey = fmt.Sprintf(`"caller_id":%q,`, caller)
					}
					call := fmt.Sprintf(`{"format":"avaya-cdr","extension":%q,"dialed":%q,%s"start":%q,"start_utc":%q,"duration_s":%d,"direction":%q,"trunk":"%d","ring_s":%d}`,
						ext, dialed, callerKey, at.Format(wallClock), at.Format(time.RFC3339), dur, dir, 1+rng.IntN(8), ring)
					charge := fmt.Sprintf(`{"class":"international","destination":"United Kingdom","band":"peak","billable_s":%d,"chargeable":true,"carrier_minor":%d,"markup_minor":%d,"surcharge_minor":0,"tax_minor":0,"total_minor":%d,"currency":"EUR","tariff_version":"base"}`,
						dur, total/2, total-total/2, total)
					return []any{name, "e", int64(i), created, "posted", created, int64(i * 5), created, "tcp", at, at, ext, ext, dialed,
						int32(dur), dir, "1", "international", "United Kingdom", "peak", int32(dur), true, total / 2, total - total/2, int64(0), int64(0),
						total, "EUR", "base", int64(i), created, "OK", created, int32(0), at, call, charge, int32(ring)}, nil
				}))
				if err != nil {
					errs <- fmt.Errorf("%s: %w", name, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	_, err := pool.Exec(ctx, "VACUUM ANALYZE callgate.call_state")
	return err
}
