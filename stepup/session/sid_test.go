package session

import (
	"testing"
	"time"
)

func TestSessionCarriesTheIdPSessionID(t *testing.T) {
	s := &Session{Subject: "alice", SID: "hydra-sid-1", Issued: time.Unix(1_800_000_000, 0), Expires: time.Unix(1_800_003_600, 0)}
	b, err := marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.SID != "hydra-sid-1" {
		t.Fatalf("sid %q after a round trip", got.SID)
	}
	s.SID = ""
	b, _ = marshal(s)
	if got, err := unmarshal(b); err != nil || got.SID != "" {
		t.Fatalf("session without sid: %+v, %v", got, err)
	}
	b = append(b[:len(b)-1], b[len(b)-1]|flagSID) // flag set, sid missing
	if _, err := unmarshal(b); err == nil {
		t.Fatal("a cookie whose sid flag has no sid decoded")
	}
}
