package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
)

// Risk thresholds in annotations are plain integers that land in the
// handler's risk block as `"step_up": N` and `"deny": M`; the signals come
// from the controller config's risk block. Everything about them is here.

// JSON field names of the thresholds in the handler's risk block.
const (
	riskStepUpField = "step_up"
	riskDenyField   = "deny"
	riskReportOnly  = "report_only"
)

// riskBlock is the controller config's risk block, kept as written (so the
// handler gets exactly the operator's JSON) and checked by the risk
// package's own Validate.
type riskBlock struct {
	fields map[string]json.RawMessage
}

func parseRiskBlock(raw json.RawMessage) (*riskBlock, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, errors.New("risk: must be an object (the stepup handler's risk block)")
	}
	b := &riskBlock{fields: fields}
	if _, err := checkRisk(raw); err != nil {
		return nil, err
	}
	return b, nil
}

// checkRisk decodes a risk block as the handler will (unknown fields are
// errors) and applies the risk package's own validation.
func checkRisk(raw json.RawMessage) (*risk.Config, error) {
	var cfg risk.Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("risk: %w", err)
	}
	return &cfg, cfg.Validate()
}

// riskFor returns the handler's risk block for s (the controller's signals
// and s's thresholds), or nil when s does not opt in.
func (c *Config) riskFor(s settings) (*risk.Config, error) {
	if s.riskStepUp == nil && s.riskDeny == nil {
		return nil, nil
	}
	key := KeyRiskStepUp
	if s.riskStepUp == nil {
		key = KeyRiskDeny
	}
	if c.risk == nil {
		return nil, &keyError{key, errors.New("the controller config has no risk block (its signals), so there is nothing to score; ask the operator to add one")}
	}
	fields := make(map[string]json.RawMessage, len(c.risk.fields)+3)
	for k, v := range c.risk.fields {
		fields[k] = v
	}
	if s.riskStepUp != nil {
		fields[riskStepUpField] = json.RawMessage(fmt.Sprint(*s.riskStepUp))
	}
	if s.riskDeny != nil {
		fields[riskDenyField] = json.RawMessage(fmt.Sprint(*s.riskDeny))
	}
	if s.reportOnly != nil && *s.reportOnly {
		fields[riskReportOnly] = json.RawMessage("true")
	}
	raw, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	cfg, err := checkRisk(raw)
	if err != nil {
		// The risk package names the field first ("risk deny: ...").
		if strings.HasPrefix(err.Error(), "risk deny") && s.riskDeny != nil {
			key = KeyRiskDeny
		}
		return nil, &keyError{key, err}
	}
	return cfg, nil
}

// keyError is a problem attributed to one annotation key.
type keyError struct {
	key string
	err error
}

func (e *keyError) Error() string { return e.key + ": " + e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }
