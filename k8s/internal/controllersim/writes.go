package controllersim

import "path/filepath"

// Write is one path the controller process writes at run time, and where in
// its source (or Caddy's) that happens.
type Write struct {
	Path   string // a directory the process creates files in
	Why    string
	Source string
}

// Writes lists the directories the controller process writes, resolved with
// its environment (env returns "" for unset variables), as read from the
// controller at 0e3de1e and Caddy v2.11.9, which it embeds. A directory that
// is not writable breaks what Why says.
func Writes(env func(string) string) []Write {
	certs := filepath.FromSlash("/etc/caddy/certs")
	if d := env("RUNTIME_DIRECTORY"); d != "" {
		certs = filepath.Join(d, "certs")
	}
	// Caddy's AppConfigDir and AppDataDir (storage.go L86-154): XDG
	// variables first, else under HOME.
	config := filepath.Join(env("HOME"), ".config", "caddy")
	if d := env("XDG_CONFIG_HOME"); d != "" {
		config = filepath.Join(d, "caddy")
	}
	data := filepath.Join(env("HOME"), ".local", "share", "caddy")
	if d := env("XDG_DATA_HOME"); d != "" {
		data = filepath.Join(d, "caddy")
	}
	return []Write{
		{certs, "PEM files of TLS Secrets named by Ingresses; if the directory cannot be created every later Ingress sync fails (the TLS watcher is retried on each) and TLS Ingresses are never served",
			"ingress internal/controller/action_tls.go L14-25 (GetCertFolder), L70-83 (writeFile), L103-106 (MkdirAll)"},
		{config, "autosave.json after each config load (a failure is only logged)",
			"caddy caddy.go L377-399, storage.go L156-157"},
		{data, "instance.uuid, written when the TLS app cleans its storage",
			"caddy caddy.go L920-935, modules/caddytls/tls.go L1009"},
	}
}
