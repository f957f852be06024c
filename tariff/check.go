package tariff

import (
	"errors"
	"os"
	"strings"

	"callgate/gateway"
)

// CheckFile loads the tariff file at path, named in a config by key
// (tariff, report.carriers[0]), and records its problems under that key.
func CheckFile(k *gateway.Checker, key, path string) {
	_, err := Load(path)
	var problems Problems
	switch {
	case errors.As(err, &problems):
		for _, p := range problems {
			k.Add(key, "%s: %s", path, p)
		}
	case err != nil:
		cause := errors.Unwrap(err)
		if pe, ok := cause.(*os.PathError); ok {
			cause = pe.Err
		}
		if strings.HasPrefix(cause.Error(), path) {
			k.Add(key, "%v", cause) // it names the path: "X is a folder, not a file"
		} else {
			k.Add(key, "cannot read %s: %v", path, cause)
		}
	}
}
