package testhelp

import (
	"os/exec"
	"testing"
)

// The lines are as the servers wrote them, with port 0 asked for.
func TestListeningOn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, log, want string }{
		{"exporter", `level=info caller=tls_config.go:395 ts=2026-12-02T12:35:28.094551807Z msg="Listening on" address=127.0.0.1:41297` + "\n", "127.0.0.1:41297"},
		{"alertmanager 0.25", `ts=2026-12-02T12:30:56.495Z caller=tls_config.go:232 level=info msg="Listening on" address=127.0.0.1:34725` + "\n", "127.0.0.1:34725"},
		{"prometheus 2", `ts=2026-12-02T12:30:56.448Z caller=web.go:503 level=info component=web msg="Start listening for connections" address=127.0.0.1:0
ts=2026-12-02T12:30:56.456Z caller=tls_config.go:232 level=info component=web msg="Listening on" address=127.0.0.1:35823
`, "127.0.0.1:35823"},
		{"prometheus 3", `time=2026-12-02T12:30:56.668Z level=INFO source=web.go:731 msg="Start listening for connections" component=web address=127.0.0.1:0
time=2026-12-02T12:30:56.675Z level=INFO source=tls_config.go:395 msg="Listening on" component=web address=127.0.0.1:33069
`, "127.0.0.1:33069"},
		{"IPv6", `msg="Listening on" address=[::1]:9100` + "\n", "[::1]:9100"},
		{"quoted", `msg="Listening on" address="127.0.0.1:9100"` + "\n", "127.0.0.1:9100"},
	} {
		got, ok := ListeningOn(tc.log)
		if !ok || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
	for _, log := range []string{"", `msg="Start listening for connections" address=127.0.0.1:0`, `msg="Listening on"`} {
		if got, ok := ListeningOn(log); ok {
			t.Errorf("%q: got %q, want none", log, got)
		}
	}
}

func TestStartServerReadsTheBoundAddress(t *testing.T) {
	t.Parallel()
	sh := shell(t)
	dir := t.TempDir()
	addr, stop := StartServer(t, dir, "fake", ListeningOn, sh, "-c",
		`echo 'level=info msg="Listening on" address=127.0.0.1:40404'; exec sleep 600`)
	if addr != "127.0.0.1:40404" {
		t.Errorf("got %q", addr)
	}
	stop()
}

func TestProcessAddrWhenTheServerExits(t *testing.T) {
	t.Parallel()
	p := Start(t, t.TempDir(), "fails", shell(t), "-c", "echo 'bind: address already in use'; exit 1")
	_, err := p.Addr(t, ListeningOn)
	if err == nil {
		t.Fatal("no error for a server that exited")
	}
	if got := p.Log(); got != "bind: address already in use\n" {
		t.Errorf("log %q", got)
	}
}

func shell(t *testing.T) string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("needs a POSIX shell")
	}
	return sh
}
