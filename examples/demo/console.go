package main

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// console interleaves the output of the demo's parts line by line, each
// line prefixed with its source ("caddy |", "idp   |", "app   |"), so that
// Caddy's log, the IdP's one-time codes and the app's transfers can be told
// apart in one terminal.
type console struct {
	mu  sync.Mutex
	out io.Writer
}

func (c *console) printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, format, args...)
}

// source returns a writer whose complete lines go to the console with the
// given prefix; a trailing partial line waits for its newline.
func (c *console) source(name string) *sourceWriter {
	return &sourceWriter{c: c, prefix: []byte(fmt.Sprintf("%-5s | ", name))}
}

type sourceWriter struct {
	c      *console
	prefix []byte
	mu     sync.Mutex
	buf    []byte
}

func (w *sourceWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.c.mu.Lock()
		w.c.out.Write(w.prefix)
		w.c.out.Write(w.buf[:i+1])
		w.c.mu.Unlock()
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *sourceWriter) printf(format string, args ...any) {
	fmt.Fprintf(w, format+"\n", args...)
}
