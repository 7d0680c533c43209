// Package fuzzseeds keeps the committed seed corpora of a package's fuzz
// targets (testdata/fuzz/<FuzzName>/) generated and honest, for the tests
// of every package that has fuzz targets. Files named seed-* are generated
// from the package's corpora and rewritten with -write-fuzz-seeds; any
// other file is an input the fuzzer found crashing and stays.
package fuzzseeds

import (
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
)

var writeFuzzSeeds = flag.Bool("write-fuzz-seeds", false, "rewrite the generated seed-* files under testdata/fuzz")

// Seed is one generated corpus entry: the target's arguments, in order.
type Seed struct {
	Name string // file name after "seed-"; "valid-…" seeds must pass the target's Accepts
	Args []any
}

// Seeds adapts a package's own seed type (a defined type of Seed, so that
// its seeds are written as short literals) to Corpus.Seeds.
func Seeds[S ~struct {
	Name string
	Args []any
}](f func(t *testing.T) []S) func(t *testing.T) []Seed {
	return func(t *testing.T) []Seed {
		out := make([]Seed, 0, 16)
		for _, s := range f(t) {
			out = append(out, Seed(s))
		}
		return out
	}
}

// Corpus describes one fuzz target's generated seeds.
type Corpus struct {
	Seeds func(t *testing.T) []Seed
	// Accepts, when set, reports whether the target's code under test takes
	// the input all the way (it decodes, opens, parses). Every seed-valid-*
	// file must pass it, so that a layout change cannot silently turn the
	// committed seeds into inputs rejected at the first byte.
	Accepts func(t *testing.T, args []any) bool
}

// Check regenerates the seed-* files of corpora when -write-fuzz-seeds is
// set, then checks that every Fuzz target of the package in the working
// directory (pkg, as go test names it) has a corpus and every corpus a
// target, and that each seed-valid-* file is still accepted.
func Check(t *testing.T, pkg string, corpora map[string]Corpus) {
	t.Helper()
	regenerate := "go test " + pkg + " -run TestFuzzSeedCorpora -write-fuzz-seeds"
	if *writeFuzzSeeds {
		// Deterministic nonces: regenerating an unchanged corpus changes no file.
		cryptotest.SetGlobalRandom(t, 1)
		for name, c := range corpora {
			writeSeedCorpus(t, name, c.Seeds(t))
		}
	}
	declared := declaredFuzzTargets(t)
	for _, name := range declared {
		if _, ok := corpora[name]; !ok {
			t.Errorf("%s has no seed corpus (seeds_fuzz_test.go)", name)
		}
	}
	for name, c := range corpora {
		t.Run(name, func(t *testing.T) {
			if !slices.Contains(declared, name) {
				t.Fatalf("a seed corpus is listed for %s, but no *_fuzz_test.go declares it", name)
			}
			files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", name, "*"))
			if len(files) == 0 {
				t.Fatalf("no seed corpus in testdata/fuzz/%s; generate it: %s", name, regenerate)
			}
			if c.Accepts == nil {
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
				if !c.Accepts(t, args) {
					t.Errorf("%s is no longer accepted; if the format changed on purpose, regenerate: %s", file, regenerate)
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
func writeSeedCorpus(t *testing.T, target string, seeds []Seed) {
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
		if seen[s.Name] {
			t.Fatalf("%s: two seeds named %q", target, s.Name)
		}
		seen[s.Name] = true
		if err := os.WriteFile(filepath.Join(dir, "seed-"+s.Name), marshalSeed(s.Args...), 0o644); err != nil {
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
