package main

import (
	"os"
	"path/filepath"

	"github.com/caddy-stepup/caddy-stepup/examples/demo/internal/idp"
)

// codeDelivery stands in for an SMS or an authenticator app: the one-time
// code is printed on the console and, with --code-file, written to a file
// (which is how the integration test reads it).
type codeDelivery struct {
	log  *sourceWriter
	file string
}

func (d codeDelivery) deliver(u idp.User, code string) {
	d.log.printf("one-time code for %s: %s  (valid for %s)", u.ID, code, idp.CodeLifetime)
	if d.file == "" {
		return
	}
	// Written whole and renamed into place, so a reader never sees half a code.
	tmp, err := os.CreateTemp(filepath.Dir(d.file), ".code-*")
	if err == nil {
		_, err = tmp.WriteString(code + "\n")
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), d.file)
		}
	}
	if err != nil {
		d.log.printf("could not write the code to %s: %v", d.file, err)
	}
}
