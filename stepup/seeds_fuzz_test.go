package stepup

// What the fuzz targets (*_fuzz_test.go) share: a sealer with a fixed key,
// and the committed seed corpora under testdata/fuzz/<FuzzName>/, kept by
// internal/fuzzseeds.
//
// Files named seed-* are generated from fuzzSeedCorpora below:
//
//	go test ./stepup -run TestFuzzSeedCorpora -write-fuzz-seeds
//
// Rerun it after changing a cookie layout or a target's arguments, and commit
// the result. Any other file in those directories is an input the fuzzer
// found crashing: it stays, as a regression seed. `go test` runs every seed;
// `go test -run '^$' -fuzz '^FuzzName$' ./stepup` explores from them.

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/fuzzseeds"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// fuzzEpoch is the fixed clock of every fuzz target.
var fuzzEpoch = time.Unix(1_800_000_000, 0)

const fuzzKeyID = 0x5eed0001

// fuzzBinding is the provider and client binding of fuzzSealer.
const fuzzBinding = "https://idp.example\x00edge"

// fuzzRing is a keyring holding one fixed key, created at fuzzEpoch and never
// rotated, so that sealed values in the committed corpora open in every run.
func fuzzRing(tb testing.TB) *session.Keyring {
	tb.Helper()
	storage := &certmagic.FileStorage{Path: tb.TempDir()}
	secret := sha256.Sum256([]byte("caddy-stepup fuzz corpus key; never use outside tests"))
	raw, err := json.Marshal(map[string]any{"keys": []any{map[string]any{"id": fuzzKeyID, "secret": secret[:], "created": fuzzEpoch.UTC()}}})
	if err != nil {
		tb.Fatal(err)
	}
	if err := storage.Store(context.Background(), session.KeysStorageKey, raw); err != nil {
		tb.Fatal(err)
	}
	return session.NewKeyring(storage, 24*time.Hour, func() time.Time { return fuzzEpoch })
}

func fuzzSealer(tb testing.TB) *session.Sealer {
	return session.NewSealer(fuzzRing(tb), fuzzBinding, flowPurpose)
}

// fuzzSeed is one generated corpus entry: the target's arguments, in order.
type fuzzSeed fuzzseeds.Seed

// fuzzSeedCorpora lists every fuzz target of the package.
func fuzzSeedCorpora() map[string]fuzzseeds.Corpus {
	return map[string]fuzzseeds.Corpus{
		"FuzzReadFlow":           {Seeds: fuzzseeds.Seeds(readFlowSeeds), Accepts: readFlowAccepts},
		"FuzzReadFlowPlaintext":  {Seeds: fuzzseeds.Seeds(flowPlaintextSeeds), Accepts: flowPlaintextAccepts},
		"FuzzReturnPath":         {Seeds: fuzzseeds.Seeds(returnPathSeeds), Accepts: returnPathAccepts},
		"FuzzUnmarshalCaddyfile": {Seeds: fuzzseeds.Seeds(caddyfileSeeds), Accepts: caddyfileAccepts},
		"FuzzAuthenticateHeader": {Seeds: fuzzseeds.Seeds(authenticateHeaderSeeds)},
	}
}

func TestFuzzSeedCorporaAreCommittedAndValidSeedsStillPass(t *testing.T) {
	fuzzseeds.Check(t, "./stepup", fuzzSeedCorpora())
}
