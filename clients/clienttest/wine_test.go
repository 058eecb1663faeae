package clienttest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tollgate/tollgate/internal/wine"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

// TestWindowsClientUnderWine runs the Windows build of tollgate-client
// under Wine: the fingerprint command, and an offline status on a lease
// that a Linux Licensee got from the test gateway (with an explicit
// fingerprint, the one a Windows machine and this Linux one can share).
// It also runs the clients package's Windows-only tests (the state
// directory's access list) under Wine.
// The networked path is not run under Wine: Wine 8 refuses the UDP socket
// options quic-go sets, and the Linux build of the same code covers it.
func TestWindowsClientUnderWine(t *testing.T) {
	t.Parallel()
	loader := wine.Find()
	gcc, gccErr := exec.LookPath("x86_64-w64-mingw32-gcc")
	if loader == "" || gccErr != nil {
		t.Skip("wine64 or x86_64-w64-mingw32-gcc is not installed; .ci/run installs them (apt-get install wine64 gcc-mingw-w64-x86-64)")
	}
	if testing.Short() {
		t.Skip("-short: the Wine test takes about half a minute")
	}
	// Building for Windows and a first wineboot take minutes on a loaded
	// machine: only a hang may reach this limit.
	ctx, cancel := context.WithTimeout(context.Background(), hang.Timeout(t))
	defer cancel()
	tmp := t.TempDir()

	// A lease from the Linux test gateway, for an explicit machine id.
	g := startGateway(t)
	key := g.mint(t, 1, service.Spec{Entitlements: []string{"pro"}, Policy: store.Policy{Level: 2, LeaseSeconds: 10 * 86400}})[0]
	state := filepath.Join(tmp, "state")
	l, err := clients.OpenLicensee(clients.LicenseeConfig{Card: g.card, Product: product, StateDir: state, Explicit: "wine-vm-1", Timeout: hang.Timeout(t)})
	if err != nil {
		t.Fatal(err)
	}
	if d := l.Activate(ctx, key); !d.Allowed {
		t.Fatalf("Activate: %s: %v", d.Message, d.Err)
	}
	l.Close()
	g.stop()
	card := filepath.Join(tmp, "server.card")
	if err := os.WriteFile(card, g.card.Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}

	// The Windows binary, without cgo.
	exe := filepath.Join(tmp, "tollgate-client.exe")
	build := exec.CommandContext(ctx, "go", "build", "-o", exe, "../cmd/tollgate-client")
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build for Windows: %v\n%s", err, out)
	}

	// A fresh Wine prefix with the stand-in bcryptprimitives.dll.
	prefix := filepath.Join(tmp, "wine")
	env := append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=;bcryptprimitives=n")
	t.Cleanup(func() {
		server := filepath.Join(filepath.Dir(loader), "wineserver")
		if _, err := os.Stat(server); err != nil {
			server = "wineserver"
		}
		k := exec.Command(server, "-k")
		k.Env = env
		k.Run()
	})
	boot := exec.CommandContext(ctx, loader, "wineboot", "-i")
	boot.Env = env
	if out, err := boot.CombinedOutput(); err != nil {
		t.Fatalf("wineboot: %v\n%s", err, out)
	}
	dll := filepath.Join(prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	cc := exec.CommandContext(ctx, gcc, "-shared", "-O2", "-o", dll, "testdata/bcryptprimitives.c", "testdata/bcryptprimitives.def", "-ladvapi32")
	if out, err := cc.CombinedOutput(); err != nil {
		t.Fatalf("building the stand-in bcryptprimitives.dll: %v\n%s", err, out)
	}

	runExe := func(args ...string) (string, int) {
		t.Helper()
		args = append([]string{wine.Path(exe), "--card", wine.Path(card), "--state", wine.Path(state), "--explicit", "wine-vm-1"}, args...)
		cmd := exec.CommandContext(ctx, loader, args...)
		cmd.Env = env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("wine %v: %v", args, err)
		}
		if errb.Len() > 0 {
			t.Logf("stderr of %s: %s", args[len(args)-2], errb.String())
		}
		return out.String(), code
	}

	out, code := runExe("--json", "fingerprint")
	var fp clients.FingerprintReport
	if err := json.Unmarshal([]byte(out), &fp); code != 0 || err != nil {
		t.Fatalf("fingerprint under Wine: exit %d, %v\n%s", code, err, out)
	}
	if len(fp.Components) != 1 || fp.Components[0].Kind != "explicit" || !fp.HasLease || !fp.SameMachine || len(fp.Changed) != 0 {
		t.Fatalf("fingerprint under Wine: %+v", fp)
	}

	out, code = runExe("--json", "status")
	var s clients.Status
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("status under Wine: exit %d, %v\n%s", code, err, out)
	}
	if code != 0 || !s.Activated || s.Lease != "" || s.Product != product || s.Level != 2 || s.DaysOffline != 9 ||
		len(s.Entitlements) != 1 || s.Entitlements[0] != "pro" {
		t.Fatalf("offline status under Wine: exit %d, %+v", code, s)
	}

	// The machine's own components, read through the registry, SMBIOS and
	// the adapter list: at least a MachineGuid.
	cmd := exec.CommandContext(ctx, loader, wine.Path(exe), "--card", wine.Path(card), "--state", wine.Path(filepath.Join(tmp, "other")), "--product", product, "--json", "fingerprint")
	cmd.Env = env
	raw, err := cmd.Output()
	var own clients.FingerprintReport
	if err != nil || json.Unmarshal(raw, &own) != nil {
		t.Fatalf("machine fingerprint under Wine: %v\n%s", err, raw)
	}
	kinds := map[string]bool{}
	for _, c := range own.Components {
		kinds[c.Kind] = true
	}
	if !kinds["machine-id"] {
		t.Fatalf("Wine machine fingerprint without a MachineGuid: %+v", own.Components)
	}
	t.Logf("Wine machine fingerprint kinds: %v", kinds)

	// The state directory's access list, read back by the clients
	// package's own Windows test (TestRestrictDir) run under Wine.
	testExe := filepath.Join(tmp, "clients.test.exe")
	build = exec.CommandContext(ctx, "go", "test", "-c", "-o", testExe, "..")
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go test -c for Windows: %v\n%s", err, out)
	}
	cmd = exec.CommandContext(ctx, loader, wine.Path(testExe), "-test.run", "^TestRestrictDir$", "-test.v")
	cmd.Env = env
	raw, err = cmd.CombinedOutput()
	if err != nil || !bytes.Contains(raw, []byte("--- PASS: TestRestrictDir")) {
		t.Fatalf("TestRestrictDir under Wine: %v\n%s", err, raw)
	}
	t.Logf("TestRestrictDir under Wine:\n%s", bytes.TrimSpace(raw))
}
