package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
)

// filterError is the answer to a calls filter that echo could not bind: one
// sentence naming the value (and the field where echo says it). echo's own
// text repeats its cause ("code=400, message=X, internal=X").
func filterError(err error) error {
	msg := "the filter could not be read"
	var be *echo.BindingError
	var ne *strconv.NumError
	switch {
	case errors.As(err, &be) && be.Field != "" && len(be.Values) > 0:
		msg += fmt.Sprintf(": %s %q is not valid", be.Field, be.Values[0])
	case errors.As(err, &ne):
		msg += fmt.Sprintf(": %q is not a whole number", ne.Num)
	}
	return echo.NewHTTPError(http.StatusBadRequest, msg)
}
