package ship

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
)

// Properties finds the property a token belongs to. The central's store
// implements it (store/postgres).
type Properties interface {
	// PropertyByToken returns the property's name: KindNotFound for a
	// token the central does not know, KindRejected for a disabled
	// property, KindTransient when it cannot tell for now.
	PropertyByToken(ctx context.Context, token string) (string, error)
}

// Cursors answers the central's cursor for a property's epoch (0: nothing
// held).
type Cursors interface {
	Cursor(ctx context.Context, property, epoch string) (gateway.ShipAck, error)
}

// Server is the central's ingest handler: PathBatch and PathCursor, with
// the statuses docs/central.md gives. It never logs a token.
type Server struct {
	apply   gateway.CentralApplier
	props   Properties
	cursors Cursors
	log     zerolog.Logger
	// Timeout bounds one request's work on the database (default 60 s).
	Timeout time.Duration
}

// NewServer returns the handler applying batches with a, finding
// properties with p and answering cursors with c.
func NewServer(a gateway.CentralApplier, p Properties, c Cursors, log zerolog.Logger) *Server {
	return &Server{apply: a, props: p, cursors: c, log: log, Timeout: time.Minute}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case PathBatch:
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			refuse(w, http.StatusMethodNotAllowed, Refusal{Error: PathBatch + " takes POST"})
			return
		}
		s.batch(w, r)
	case PathCursor:
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			refuse(w, http.StatusMethodNotAllowed, Refusal{Error: PathCursor + " takes GET"})
			return
		}
		s.cursor(w, r)
	default:
		refuse(w, http.StatusNotFound, Refusal{Error: "no such path at the central: a shipper uses " + PathBatch + " and " + PathCursor})
	}
}

// property authenticates the request; on failure it has answered.
func (s *Server) property(ctx context.Context, w http.ResponseWriter, r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		refuse(w, http.StatusUnauthorized, Refusal{Error: "the request carries no token (Authorization: Bearer): set central.token_file at the property"})
		return "", false
	}
	p, err := s.props.PropertyByToken(ctx, token)
	switch {
	case err == nil:
		// A shipper names the property it believes it is (central.property):
		// a token of another property's (a file copied from the wrong
		// hotel) is refused rather than filed under the token's property.
		if claimed := strings.TrimSpace(r.Header.Get(PropertyHeader)); claimed != "" && claimed != p {
			s.log.Warn().Str("property", p).Str("claimed", claimed).Str("remote", r.RemoteAddr).Msg("refused a request naming another property than its token's")
			refuse(w, http.StatusForbidden, Refusal{Error: fmt.Sprintf("this token belongs to property %s, and the request says it is %s: a property writes only its own stream; put %s's own token in central.token_file", p, claimed, claimed)})
			return "", false
		}
		return p, true
	case gateway.IsKind(err, gateway.KindNotFound):
		s.log.Warn().Str("remote", r.RemoteAddr).Msg("refused a request with a token the central does not know")
		refuse(w, http.StatusUnauthorized, Refusal{Error: "the central knows no property with this token: check central.token_file at the property"})
	case gateway.IsKind(err, gateway.KindRejected):
		s.log.Warn().Str("property", p).Str("remote", r.RemoteAddr).Msg("refused a request of a disabled property")
		refuse(w, http.StatusForbidden, Refusal{Error: gateway.Message(err)})
	default:
		s.failed(w, r, "", err)
	}
	return "", false
}

func (s *Server) batch(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	property, ok := s.property(ctx, w, r)
	if !ok {
		return
	}
	b, err := DecodeBatch(http.MaxBytesReader(w, r.Body, MaxCompressedBytes))
	if err != nil {
		var mb *http.MaxBytesError
		status := http.StatusBadRequest
		msg := gateway.Message(err)
		switch {
		case errors.As(err, &mb):
			status = http.StatusRequestEntityTooLarge
			msg = "the batch is over " + strconv.Itoa(MaxCompressedBytes>>20) + " MiB on the wire: set central.batch_max lower at the property"
		case errors.Is(err, ErrTooLarge):
			status = http.StatusRequestEntityTooLarge
		case errors.Is(err, ErrChain):
			status = http.StatusUnprocessableEntity
		}
		s.log.Warn().Str("property", property).Int("status", status).Str("error", msg).Msg("refused a batch")
		refuse(w, status, Refusal{Error: msg})
		return
	}
	ack, err := s.apply.Apply(ctx, property, b)
	var gap *gateway.ShipGapError
	switch {
	case err == nil:
		s.log.Debug().Str("property", property).Str("epoch", b.Epoch).Uint64("first", b.Events[0].Seq).Uint64("cursor", ack.Cursor).Msg("took a batch")
		answer(w, http.StatusOK, AckOf(ack))
	case errors.As(err, &gap):
		s.log.Info().Str("property", property).Str("epoch", gap.Epoch).Uint64("cursor", gap.Cursor).Uint64("first", gap.First).Msg("refused a batch after a gap: the property resends from the cursor")
		refuse(w, http.StatusConflict, Refusal{Error: gap.Error(), Epoch: gap.Epoch, Cursor: gap.Cursor})
	case errors.Is(err, gateway.ErrShipChain):
		s.log.Error().Str("property", property).Str("epoch", b.Epoch).Str("error", gateway.Message(err)).Msg("refused a batch whose hash chain does not hold")
		refuse(w, http.StatusUnprocessableEntity, Refusal{Error: gateway.Message(err)})
	case gateway.IsKind(err, gateway.KindNotFound):
		refuse(w, http.StatusUnauthorized, Refusal{Error: gateway.Message(err)})
	case gateway.IsKind(err, gateway.KindRejected):
		refuse(w, http.StatusForbidden, Refusal{Error: gateway.Message(err)})
	case gateway.IsKind(err, gateway.KindInvalid):
		s.log.Warn().Str("property", property).Str("error", gateway.Message(err)).Msg("refused a batch")
		refuse(w, http.StatusBadRequest, Refusal{Error: gateway.Message(err)})
	default:
		s.failed(w, r, property, err)
	}
}

func (s *Server) cursor(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	property, ok := s.property(ctx, w, r)
	if !ok {
		return
	}
	epoch := r.URL.Query().Get("epoch")
	if epoch == "" || len(epoch) > maxEpoch || !printable(epoch) {
		refuse(w, http.StatusBadRequest, Refusal{Error: "the cursor question needs ?epoch= a journal epoch (up to 64 printable characters)"})
		return
	}
	ack, err := s.cursors.Cursor(ctx, property, epoch)
	if err != nil {
		s.failed(w, r, property, err)
		return
	}
	answer(w, http.StatusOK, AckOf(ack))
}

// failed answers an error of ours: 503 when passing (the shipper retries),
// 500 otherwise. When the property went away first (its request's context
// ended: a stopping gateway, a cut line), the error is the abandoned
// request's, not the central's: noted at info, since the property sends
// the batch again (docs/central.md).
func (s *Server) failed(w http.ResponseWriter, r *http.Request, property string, err error) {
	if r.Context().Err() != nil {
		s.log.Info().Str("property", property).Str("error", gateway.Message(err)).Msg("the property went away before its answer: it sends the batch again")
		refuse(w, http.StatusServiceUnavailable, Refusal{Error: "the request ended before its answer"})
		return
	}
	status := http.StatusInternalServerError
	if gateway.IsTransient(err) {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "5")
	}
	s.log.Error().Str("property", property).Int("status", status).Err(err).Msg("a shipper's request failed")
	refuse(w, status, Refusal{Error: gateway.Message(err)})
}

func refuse(w http.ResponseWriter, status int, r Refusal) { answer(w, status, r) }

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the peer may have gone
}
