package browser

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// ArtifactsDir returns ${STEPUP_ARTIFACTS:-<repo>/artifacts}, where <repo> is
// the nearest directory above the working directory that holds xcaddy.json
// (or .git).
func ArtifactsDir() string {
	if d := os.Getenv("STEPUP_ARTIFACTS"); d != "" {
		if abs, err := filepath.Abs(d); err == nil {
			return abs
		}
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return "artifacts"
	}
	for _, marker := range []string{"xcaddy.json", ".git"} {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
				return filepath.Join(dir, "artifacts")
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return filepath.Join(wd, "artifacts")
}

var (
	artifactsMu   sync.Mutex
	artifactCount = map[string]int{} // test dir -> files made by this process
	unsafeChars   = regexp.MustCompile(`[^A-Za-z0-9._-]+`)
)

// nextArtifact returns <artifacts>/<test>/<n>-<name><ext>, numbering the
// files of each test from 1. The first call for a test in this process
// empties its directory, so files of an earlier run do not mix in.
func nextArtifact(test, name, ext string) (string, error) {
	parts := strings.Split(test, "/") // subtests become subdirectories
	for i, p := range parts {
		parts[i] = sanitize(p)
	}
	dir := filepath.Join(append([]string{ArtifactsDir()}, parts...)...)

	artifactsMu.Lock()
	defer artifactsMu.Unlock()
	n, seen := artifactCount[dir]
	if !seen {
		if err := removeFiles(dir); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	n++
	artifactCount[dir] = n
	return filepath.Join(dir, fmt.Sprintf("%d-%s%s", n, sanitize(name), ext)), nil
}

// removeFiles removes the files directly in dir, keeping subdirectories
// (which belong to subtests).
func removeFiles(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func sanitize(s string) string {
	s = unsafeChars.ReplaceAllString(s, "_")
	s = strings.Trim(s, "._")
	if s == "" {
		return "_"
	}
	return s
}
