package backend

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// Transfer is one money movement of the demo bank; nothing leaves memory.
type Transfer struct {
	ID     int       `json:"id"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Amount float64   `json:"amount"`
	At     time.Time `json:"at"`
}

// ledger records transfers and per-user settings.
type ledger struct {
	mu        sync.Mutex
	transfers []Transfer
	settings  map[string]Settings
}

// Settings is the configuration page's content.
type Settings struct {
	Email      string  `json:"email"`
	DailyLimit float64 `json:"daily_limit"`
}

var defaultSettings = Settings{Email: "", DailyLimit: 1000}

func (l *ledger) transfer(from, to string, amount float64, now time.Time) (Transfer, error) {
	to = strings.TrimSpace(to)
	if to == "" || len(to) > 64 {
		return Transfer{}, errors.New("say who receives the money (at most 64 characters)")
	}
	if math.IsNaN(amount) || amount <= 0 || amount > 1_000_000 {
		return Transfer{}, fmt.Errorf("the amount must be between 0.01 and 1000000")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t := Transfer{ID: len(l.transfers) + 1, From: from, To: to, Amount: math.Round(amount*100) / 100, At: now}
	l.transfers = append(l.transfers, t)
	return t, nil
}

// recent returns the last n transfers, newest first; all users when user is "".
func (l *ledger) recent(user string, n int) []Transfer {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Transfer
	for i := len(l.transfers) - 1; i >= 0 && len(out) < n; i-- {
		if user == "" || l.transfers[i].From == user {
			out = append(out, l.transfers[i])
		}
	}
	return out
}

func (l *ledger) settingsOf(user string) Settings {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s, ok := l.settings[user]; ok {
		return s
	}
	return defaultSettings
}

func (l *ledger) saveSettings(user string, s Settings) error {
	s.Email = strings.TrimSpace(s.Email)
	if len(s.Email) > 254 || (s.Email != "" && !strings.Contains(s.Email, "@")) {
		return errors.New("the e-mail address does not look right")
	}
	if math.IsNaN(s.DailyLimit) || s.DailyLimit < 0 || s.DailyLimit > 1_000_000 {
		return errors.New("the daily limit must be between 0 and 1000000")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.settings == nil {
		l.settings = map[string]Settings{}
	}
	l.settings[user] = s
	return nil
}
