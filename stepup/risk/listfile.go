package risk

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// lineError is a list line that was skipped, with where it is and why.
type lineError struct {
	Path   string
	Line   int
	Text   string
	Reason string
}

func (e lineError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %q", e.Path, e.Line, e.Reason, e.Text)
}

// maxQuotedLine bounds how much of a bad line is repeated in logs.
const maxQuotedLine = 80

// parseList reads an IP list in any of the formats people download:
//
//   - one address or CIDR per line, `#` starting a comment (also FireHOL
//     .netset and .ipset files, which are this format with a `#` header);
//   - Spamhaus DROP text: `CIDR ; SBL123`, `;` starting a comment;
//   - Spamhaus DROP JSON lines: `{"cidr":"1.10.16.0/20","sblid":"SBL256894",...}`
//     and a `{"type":"metadata",...}` line.
//
// A bad line is returned in bad and skipped; it never widens the list.
// Prefixes come back masked, with IPv4 (and IPv4-mapped IPv6) as 4-byte
// addresses. err is set only when the file cannot be read at all.
func parseList(path string, r io.Reader) (prefixes []netip.Prefix, bad []lineError, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		p, ok, reason := parseListLine(line)
		if reason != "" {
			text := strings.TrimSpace(line)
			if len(text) > maxQuotedLine {
				text = text[:maxQuotedLine] + "…"
			}
			bad = append(bad, lineError{Path: path, Line: n, Text: text, Reason: reason})
			continue
		}
		if ok {
			prefixes = append(prefixes, p)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return prefixes, bad, nil
}

// parseListLine returns the line's prefix (ok false for a blank or comment
// line), or why the line is bad.
func parseListLine(line string) (p netip.Prefix, ok bool, reason string) {
	s := strings.TrimSpace(line)
	if strings.HasPrefix(s, "{") {
		return parseDROPJSON(s)
	}
	if i := strings.IndexAny(s, "#;"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if s == "" {
		return netip.Prefix{}, false, ""
	}
	if strings.ContainsAny(s, " \t") {
		return netip.Prefix{}, false, "more than one value on the line (want one address or CIDR)"
	}
	return parsePrefix(s)
}

func parsePrefix(s string) (netip.Prefix, bool, string) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, false, "not an IP address or CIDR"
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return p, false, "not an IP address or CIDR"
		}
		if a.Zone() != "" {
			return p, false, "addresses with a zone cannot be listed"
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Bits() == 0 {
		return netip.Prefix{}, false, "a /0 prefix would match every address"
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, false, fmt.Sprintf("host bits set (the network would be %s)", m)
	}
	if a := p.Addr(); a.Is4In6() {
		// Masked above, so Bits >= 96: the ::ffff: part is all ones.
		if p = netip.PrefixFrom(a.Unmap(), p.Bits()-96); p.Bits() == 0 {
			return netip.Prefix{}, false, "a /0 prefix would match every address"
		}
	}
	return p, true, ""
}

// parseDROPJSON reads one line of Spamhaus DROP's JSON format.
func parseDROPJSON(s string) (netip.Prefix, bool, string) {
	var v struct {
		CIDR string `json:"cidr"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return netip.Prefix{}, false, "not a JSON object"
	}
	if v.Type == "metadata" {
		return netip.Prefix{}, false, ""
	}
	if v.CIDR == "" {
		return netip.Prefix{}, false, "JSON line without a cidr field"
	}
	return parsePrefix(v.CIDR)
}
