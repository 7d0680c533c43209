package panel

import (
	"bytes"
	"context"
	"io"
	"os"
	"time"
)

// follow reads path as it grows, like `tail -F`, and hands each complete
// line to line. Caddy creates the file when it starts, so a missing file is
// waited for; a file that shrinks (rolled or recreated) is read afresh.
func follow(ctx context.Context, path string, every time.Duration, line func([]byte)) {
	var (
		off     int64
		partial []byte
		buf     = make([]byte, 64<<10)
	)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if f, err := os.Open(path); err == nil {
			if fi, err := f.Stat(); err == nil && fi.Size() < off {
				off, partial = 0, nil
			}
			if _, err := f.Seek(off, io.SeekStart); err == nil {
				for {
					n, err := f.Read(buf)
					off += int64(n)
					partial = append(partial, buf[:n]...)
					for {
						i := bytes.IndexByte(partial, '\n')
						if i < 0 {
							break
						}
						line(partial[:i])
						partial = partial[i+1:]
					}
					if err != nil {
						break
					}
				}
			}
			f.Close()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
