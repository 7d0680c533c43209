package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// absPaths makes each non-empty path flag absolute, so it still names the
// same file from a child process's working directory.
func absPaths(paths ...*string) error {
	for _, p := range paths {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	return nil
}

// freshDir empties dir, creating it if need be: a run's work directory,
// left from the previous run.
func freshDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o755)
}

// writeReport saves a run's Markdown table as out/name and prints it.
func writeReport(out, name, table string) error {
	if err := os.WriteFile(filepath.Join(out, name), []byte(table), 0o644); err != nil {
		return err
	}
	fmt.Print(table)
	return nil
}
