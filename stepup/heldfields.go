package stepup

import (
	"bytes"
	"maps"
	"mime"
	"mime/multipart"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

type field struct{ Name, Value string }

// Field values are shown only when short and plainly not secret.
const shortValue = 40

// heldFields lists the form's field names, with the value only when it is
// short, printable and its name does not suggest a secret. File fields show
// the file name's absence: only "(file)".
func heldFields(hr *heldRequest) []field {
	var out []field
	add := func(name, value string) {
		if len(out) >= 50 {
			return
		}
		if len(value) > shortValue || !utf8.ValidString(value) || secretName(name) {
			value = ""
		}
		out = append(out, field{Name: name, Value: value})
	}
	mt, params, _ := mime.ParseMediaType(hr.ContentType)
	if mt == "multipart/form-data" {
		mr := multipart.NewReader(bytes.NewReader(hr.Body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.FileName() != "" {
				out = append(out, field{Name: p.FormName(), Value: "(file)"})
				continue
			}
			var b [shortValue + 1]byte
			n, _ := p.Read(b[:])
			add(p.FormName(), string(b[:n]))
		}
		return out
	}
	q, _ := url.ParseQuery(string(hr.Body))
	for _, name := range slices.Sorted(maps.Keys(q)) {
		for _, v := range q[name] {
			add(name, v)
		}
	}
	return out
}

func secretName(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"pass", "secret", "token", "pin", "otp", "code", "key", "card", "cvv", "iban", "ssn", "csrf"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}
