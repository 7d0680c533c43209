package stepup

// What the fuzz targets (*_fuzz_test.go) share: a sealer with a fixed key,
// and the committed seed corpora under testdata/fuzz/<FuzzName>/.
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
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/caddyserver/certmagic"
)

var writeFuzzSeeds = flag.Bool("write-fuzz-seeds", false, "rewrite the generated seed-* files under testdata/fuzz")

// fuzzEpoch is the fixed clock of every fuzz target.
var fuzzEpoch = time.Unix(1_800_000_000, 0)

const fuzzKeyID = 0x5eed0001

// fuzzBinding is the provider and client binding of fuzzSealer.
const fuzzBinding = "https://idp.example\x00edge"

// fuzzRing is a keyring holding one fixed key, created at fuzzEpoch and never
// rotated, so that sealed values in the committed corpora open in every run.
func fuzzRing(tb testing.TB) *keyring {
	tb.Helper()
	storage := &certmagic.FileStorage{Path: tb.TempDir()}
	secret := sha256.Sum256([]byte("caddy-stepup fuzz corpus key; never use outside tests"))
	raw, err := json.Marshal(map[string][]storedKey{"keys": {{ID: fuzzKeyID, Secret: secret[:], Created: fuzzEpoch.UTC()}}})
	if err != nil {
		tb.Fatal(err)
	}
	if err := storage.Store(context.Background(), keysStorageKey, raw); err != nil {
		tb.Fatal(err)
	}
	return newKeyring(storage, 24*time.Hour, func() time.Time { return fuzzEpoch })
}

func fuzzSealer(tb testing.TB) *sealer { return newSealer(fuzzRing(tb), fuzzBinding) }

// fuzzSeed is one generated corpus entry: the target's arguments, in order.
type fuzzSeed struct {
	name string // file name after "seed-"; "valid-…" seeds must pass the target's accept check
	args []any
}

// fuzzCorpus describes one fuzz target's generated seeds.
type fuzzCorpus struct {
	seeds func(t *testing.T) []fuzzSeed
	// accepts, when set, reports whether the target's code under test takes
	// the input all the way (it decodes, opens, parses). Every seed-valid-*
	// file must pass it, so that a layout change cannot silently turn the
	// committed seeds into inputs rejected at the first byte.
	accepts func(t *testing.T, args []any) bool
}

// fuzzSeedCorpora lists every fuzz target of the package.
func fuzzSeedCorpora() map[string]fuzzCorpus {
	return map[string]fuzzCorpus{
		"FuzzSessionDecode":          {seeds: sessionDecodeSeeds, accepts: sessionDecodeAccepts},
		"FuzzSessionEncode":          {seeds: sessionEncodeSeeds},
		"FuzzSealerOpen":             {seeds: sealerOpenSeeds, accepts: sealerOpenAccepts},
		"FuzzSealerRejectsMutations": {seeds: sealerMutationSeeds},
		"FuzzReadFlow":               {seeds: readFlowSeeds, accepts: readFlowAccepts},
		"FuzzReadFlowPlaintext":      {seeds: flowPlaintextSeeds, accepts: flowPlaintextAccepts},
		"FuzzReturnPath":             {seeds: returnPathSeeds, accepts: returnPathAccepts},
		"FuzzUnmarshalCaddyfile":     {seeds: caddyfileSeeds, accepts: caddyfileAccepts},
		"FuzzAuthenticateHeader":     {seeds: authenticateHeaderSeeds},
	}
}

func TestFuzzSeedCorporaAreCommittedAndValidSeedsStillPass(t *testing.T) {
	corpora := fuzzSeedCorpora()
	if *writeFuzzSeeds {
		// Deterministic nonces: regenerating an unchanged corpus changes no file.
		cryptotest.SetGlobalRandom(t, 1)
		for name, c := range corpora {
			writeSeedCorpus(t, name, c.seeds(t))
		}
	}
	declared := declaredFuzzTargets(t)
	for _, name := range declared {
		if _, ok := corpora[name]; !ok {
			t.Errorf("%s has no entry in fuzzSeedCorpora (seeds_fuzz_test.go)", name)
		}
	}
	for name, c := range corpora {
		t.Run(name, func(t *testing.T) {
			if !slices.Contains(declared, name) {
				t.Fatalf("fuzzSeedCorpora lists %s, but no *_fuzz_test.go declares it", name)
			}
			files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", name, "*"))
			if len(files) == 0 {
				t.Fatalf("no seed corpus in testdata/fuzz/%s; generate it: go test ./stepup -run TestFuzzSeedCorpora -write-fuzz-seeds", name)
			}
			if c.accepts == nil {
				return
			}
			valid := 0
			for _, file := range files {
				if !strings.HasPrefix(filepath.Base(file), "seed-valid-") {
					continue
				}
				valid++
				args, err := readSeedFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if !c.accepts(t, args) {
					t.Errorf("%s is no longer accepted; if the format changed on purpose, regenerate: go test ./stepup -run TestFuzzSeedCorpora -write-fuzz-seeds", file)
				}
			}
			if valid == 0 {
				t.Errorf("testdata/fuzz/%s has no seed-valid-* seed", name)
			}
		})
	}
}

var fuzzFuncPattern = regexp.MustCompile(`(?m)^func (Fuzz\w+)\(f \*testing\.F\)`)

// declaredFuzzTargets lists the Fuzz functions of this package's *_fuzz_test.go files.
func declaredFuzzTargets(t *testing.T) []string {
	files, err := filepath.Glob("*_fuzz_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range fuzzFuncPattern.FindAllSubmatch(src, -1) {
			names = append(names, string(m[1]))
		}
	}
	return names
}

// writeSeedCorpus replaces the seed-* files of one target; files the fuzzer
// added (crashers) stay.
func writeSeedCorpus(t *testing.T, target string, seeds []fuzzSeed) {
	dir := filepath.Join("testdata", "fuzz", target)
	old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range seeds {
		if seen[s.name] {
			t.Fatalf("%s: two seeds named %q", target, s.name)
		}
		seen[s.name] = true
		if err := os.WriteFile(filepath.Join(dir, "seed-"+s.name), marshalSeed(s.args...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d seeds to %s", len(seeds), dir)
}

// marshalSeed renders arguments in the "go test fuzz v1" corpus format, for
// the argument types our targets use.
func marshalSeed(args ...any) []byte {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case byte:
			fmt.Fprintf(&b, "byte(%q)\n", v)
		case bool, int64, uint16, uint32, uint64:
			fmt.Fprintf(&b, "%T(%v)\n", v, v)
		default:
			panic(fmt.Sprintf("marshalSeed: unsupported type %T", a))
		}
	}
	return []byte(b.String())
}

// readSeedFile reads a corpus file whose arguments are strings and byte
// slices: the only types the accept checks need.
func readSeedFile(path string) ([]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if lines[0] != "go test fuzz v1" {
		return nil, fmt.Errorf("%s: not a go test fuzz v1 file", path)
	}
	var args []any
	for _, line := range lines[1:] {
		line = strings.TrimSpace(line)
		var lit string
		var isBytes bool
		if rest, ok := strings.CutPrefix(line, "string("); ok {
			lit = strings.TrimSuffix(rest, ")")
		} else if rest, ok := strings.CutPrefix(line, "[]byte("); ok {
			lit, isBytes = strings.TrimSuffix(rest, ")"), true
		} else {
			return nil, fmt.Errorf("%s: cannot read %q", path, line)
		}
		s, err := strconv.Unquote(lit)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", path, line, err)
		}
		if isBytes {
			args = append(args, []byte(s))
		} else {
			args = append(args, s)
		}
	}
	return args, nil
}
