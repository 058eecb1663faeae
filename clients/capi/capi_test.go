package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate/tollgate/internal/wine"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

const product = "1AJS2"

// buildDir holds what the tests build once: the library and the header.
var buildDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "tollgate-capi-")
	if err != nil {
		panic(err)
	}
	buildDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

var lib struct {
	once sync.Once
	out  []byte
	err  error
}

// needGCC skips the test, in one line, when there is no C compiler.
func needGCC(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc is not installed; the C ABI tests compile C programs (apt-get install gcc)")
	}
}

// library builds libtollgate.so (as make capi does) into buildDir, once
// for the whole test binary, with tollgate.h beside it, and returns the
// directory.
func library(t testing.TB) string {
	t.Helper()
	needGCC(t)
	lib.once.Do(func() {
		wd, _ := os.Getwd()
		cmd := exec.Command("go", "build", "-buildmode=c-shared",
			"-ldflags", "-X main.version=capi-test -extldflags=-Wl,--version-script="+filepath.Join(wd, "tollgate.map"),
			"-o", filepath.Join(buildDir, "libtollgate.so"), ".")
		lib.out, lib.err = cmd.CombinedOutput()
		if lib.err == nil {
			var h []byte
			if h, lib.err = os.ReadFile("tollgate.h"); lib.err == nil {
				lib.err = os.WriteFile(filepath.Join(buildDir, "tollgate.h"), h, 0o644)
			}
		}
	})
	if lib.err != nil {
		t.Fatalf("building libtollgate.so: %v\n%s", lib.err, lib.out)
	}
	return buildDir
}

// compile builds the C program src against the library into a file
// named out in dir; asan adds AddressSanitizer.
func compile(t testing.TB, src, out string, asan bool) string {
	t.Helper()
	dir := library(t)
	exe := filepath.Join(t.TempDir(), out)
	args := []string{"-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g", "-pthread", "-I" + dir, "-o", exe, src,
		"-L" + dir, "-ltollgate", "-Wl,-rpath," + dir}
	if asan {
		args = append([]string{"-fsanitize=address", "-fno-omit-frame-pointer"}, args...)
	}
	if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", src, err, out)
	}
	return exe
}

// run runs exe with args, bounded by the test's deadline, and returns its
// stdout, stderr and exit code.
func run(t testing.TB, exe string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang.Timeout(t))
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	// ASan reports go to stderr; leaks are checked (detect_leaks=1 is the
	// default on Linux x86-64): the library passes with them on.
	cmd.Env = append(os.Environ(), "ASAN_OPTIONS=abort_on_error=0:detect_leaks=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", exe, err)
	}
	return stdout.String(), stderr.String(), code
}

// startGateway starts a test gateway and writes its card to a file.
func startGateway(t testing.TB) (*gatewaytest.Gateway, string) {
	t.Helper()
	g := gatewaytest.Start(t, func(c *gateway.Config) { c.Limits.HandshakeTimeout = hang.Timeout(t) })
	card := filepath.Join(t.TempDir(), "server.card")
	if err := os.WriteFile(card, g.Card.Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	return g, card
}

// TestABIContract compiles abi.c, which calls every function of
// tollgate.h with good and bad input, with -Wall -Wextra -Werror, and runs
// it, plain and under AddressSanitizer.
func TestABIContract(t *testing.T) {
	t.Parallel()
	_, card := startGateway(t)
	for _, asan := range []bool{false, true} {
		exe := compile(t, "testdata/abi.c", "abi", asan)
		stdout, stderr, code := run(t, exe, card, t.TempDir())
		if code != 0 || !strings.HasPrefix(stdout, "ok: ") || stderr != "" {
			t.Fatalf("abi (asan %v): exit %d\nstdout: %s\nstderr: %s", asan, code, stdout, stderr)
		}
		t.Logf("abi (asan %v): %s", asan, strings.TrimSpace(stdout))
	}
}

// TestHeaderCPlusPlus compiles and links a C++ program against tollgate.h
// and the library with -Wall -Wextra -Werror.
func TestHeaderCPlusPlus(t *testing.T) {
	t.Parallel()
	gxx, err := exec.LookPath("g++")
	if err != nil {
		t.Skip("g++ is not installed; the header's C++ check needs it (apt-get install g++)")
	}
	dir := library(t)
	exe := filepath.Join(t.TempDir(), "cplusplus")
	out, err := exec.Command(gxx, "-std=c++11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I"+dir, "-o", exe, "testdata/cplusplus.cpp",
		"-L"+dir, "-ltollgate").CombinedOutput()
	if err != nil {
		t.Fatalf("g++: %v\n%s", err, out)
	}
}

// TestSymbols: the library exports exactly the functions tollgate.h
// declares (what make capi-check runs), and the check fails on a header
// that declares one more.
func TestSymbols(t *testing.T) {
	t.Parallel()
	dir := library(t)
	so := filepath.Join(dir, "libtollgate.so")
	if out, err := exec.Command("sh", "symcheck.sh", so, "tollgate.h").CombinedOutput(); err != nil {
		t.Fatalf("symcheck: %v\n%s", err, out)
	}
	h, err := os.ReadFile("tollgate.h")
	if err != nil {
		t.Fatal(err)
	}
	extra := filepath.Join(t.TempDir(), "extra.h")
	h = bytes.Replace(h, []byte("int tg_abi_version(void);"), []byte("int tg_abi_version(void);\nint tg_not_there(void);"), 1)
	if err := os.WriteFile(extra, h, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", "symcheck.sh", so, extra).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "-tg_not_there") {
		t.Fatalf("symcheck passed a header declaring a function the library lacks: %v\n%s", err, out)
	}
}

// TestCExample runs examples/c against a real gateway: activate, check,
// deactivate; then a check finds nothing activated. Plain and under
// AddressSanitizer.
func TestCExample(t *testing.T) {
	t.Parallel()
	g, card := startGateway(t)
	keys := g.Mint(t, product, 2, service.Spec{Entitlements: []string{"pro"}, Policy: store.Policy{Level: 2, LeaseSeconds: 10 * 86400}})
	other, _ := startGateway(t)
	unknown := other.Mint(t, product, 1, service.Spec{})[0] // well-formed, unknown to g
	other.Stop()
	for i, asan := range []bool{false, true} {
		exe := compile(t, "../../examples/c/tollgate_example.c", "tollgate_example", asan)
		state := t.TempDir()
		stdout, stderr, code := run(t, exe, card, state, keys[i].Display())
		if code != 0 || stderr != "" {
			t.Fatalf("example (asan %v): exit %d\nstdout: %s\nstderr: %s", asan, code, stdout, stderr)
		}
		for _, want := range []string{
			"libtollgate capi-test\n",
			"activate: allowed=1 decided=1 reason=ok contact=ok level=2\n  message: The license is activated on this machine.\n",
			"check: allowed=1 decided=1 reason=offline contact=none level=2\n",
			"  entitlements: pro\n",
			"  lease expires: ",
			"deactivate: done\n",
		} {
			if !strings.Contains(stdout, want) {
				t.Fatalf("example (asan %v): output lacks %q:\n%s", asan, want, stdout)
			}
		}
		if strings.Contains(stdout, keys[i].Display()) {
			t.Fatalf("the example's output holds the key")
		}
		// A key the gateway does not know: a refusal, a decision.
		stdout, stderr, code = run(t, exe, card, t.TempDir(), unknown.Display())
		if code != 1 || !strings.Contains(stdout, "activate: allowed=0 decided=1 reason=refused contact=refused level=0 server_status=NOT_FOUND\n") {
			t.Fatalf("unknown key (asan %v): exit %d\n%s%s", asan, code, stdout, stderr)
		}
		// The seat is freed and the license forgotten here.
		stdout, stderr, code = run(t, exe, "--product", product, card, state)
		if code != 1 || !strings.Contains(stdout, "check: allowed=0 decided=1 reason=not-activated") {
			t.Fatalf("check after deactivate (asan %v): exit %d\n%s%s", asan, code, stdout, stderr)
		}
	}
}

// activated makes a state directory holding a license activated for the
// explicit machine id, through the Go library.
func activated(t testing.TB, g *gatewaytest.Gateway, key keygen.Key, explicit string) string {
	t.Helper()
	state := t.TempDir()
	l, err := clients.OpenLicensee(clients.LicenseeConfig{Card: g.Card, Product: product, StateDir: state, Explicit: explicit, Timeout: hang.Timeout(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if d := l.Activate(hang.Context(t), key); !d.Allowed {
		t.Fatalf("Activate: %s: %v", d.Message, d.Err)
	}
	return state
}

// TestStress runs stress.c under AddressSanitizer: threads sharing a
// handle, opening their own, failing on purpose, and one closing the
// shared handle while the others use it.
func TestStress(t *testing.T) {
	t.Parallel()
	g, card := startGateway(t)
	key := g.Mint(t, product, 1, service.Spec{Entitlements: []string{"pro"}, Policy: store.Policy{Level: 2, LeaseSeconds: 10 * 86400}})[0]
	state := activated(t, g, key, "stress-vm")
	g.Stop() // everything below is offline
	exe := compile(t, "testdata/stress.c", "stress", true)
	threads := 4 * runtime.GOMAXPROCS(0)
	stdout, stderr, code := run(t, exe, card, state, "stress-vm", t.TempDir(), strconv.Itoa(threads), "40")
	if code != 0 || !strings.HasPrefix(stdout, "ok: ") || stderr != "" {
		t.Fatalf("stress: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	t.Logf("stress under ASan: %s", strings.TrimSpace(stdout))
}

// TestPython runs examples/python (ctypes, the standard library only)
// against a real gateway.
func TestPython(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed; the Python example needs it")
	}
	dir := library(t)
	g, card := startGateway(t)
	key := g.Mint(t, product, 1, service.Spec{Entitlements: []string{"pro", "export"}, Policy: store.Policy{Level: 1, LeaseSeconds: 10 * 86400}})[0]
	ctx := hang.Context(t)
	cmd := exec.CommandContext(ctx, py, "../../examples/python/tollgate_example.py", card, t.TempDir(), key.Display())
	cmd.Env = append(os.Environ(), "TOLLGATE_LIBRARY="+filepath.Join(dir, "libtollgate.so"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python example: %v\n%s", err, out)
	}
	for _, want := range []string{"activate: allowed=True reason=ok", "check: allowed=True reason=offline", "entitlements: export, pro",
		"bad key: MALFORMED_KEY:", "deactivate: done"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("python example: output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), key.Display()) {
		t.Fatal("the python example's output holds the key")
	}
}

// TestWindowsDLLUnderWine builds tollgate.dll with mingw (as make capi
// does, import library included), cross-compiles examples/c against it
// and runs it under Wine for the offline check of a lease that the Linux
// build of the same example got from the test gateway, for an explicit
// machine id. The networked path is not run under Wine (Wine 8 refuses the
// UDP socket options quic-go sets; see clients/clienttest/wine_test.go).
func TestWindowsDLLUnderWine(t *testing.T) {
	t.Parallel()
	loader := wine.Find()
	mingw, err := exec.LookPath("x86_64-w64-mingw32-gcc")
	if loader == "" || err != nil {
		t.Skip("wine64 or x86_64-w64-mingw32-gcc is not installed; .ci/run installs them (apt-get install wine64 gcc-mingw-w64-x86-64)")
	}
	if testing.Short() {
		t.Skip("-short: the Wine test takes about a minute")
	}
	ctx := hang.Context(t)
	tmp := t.TempDir()

	// The lease, from the Linux example against the gateway (--keep: the
	// seat stays taken, the state directory keeps the lease).
	g, card := startGateway(t)
	key := g.Mint(t, product, 1, service.Spec{Entitlements: []string{"pro"}, Policy: store.Policy{Level: 2, LeaseSeconds: 10 * 86400}})[0]
	state := filepath.Join(tmp, "state")
	linux := compile(t, "../../examples/c/tollgate_example.c", "tollgate_example", false)
	stdout, stderr, code := run(t, linux, "--explicit", "wine-vm-1", "--keep", card, state, key.Display())
	if code != 0 || !strings.Contains(stdout, "activate: allowed=1") {
		t.Fatalf("Linux example: exit %d\n%s%s", code, stdout, stderr)
	}
	g.Stop()

	// The DLL, its import library, and the example for Windows.
	bin := filepath.Join(tmp, "bin")
	dll := filepath.Join(bin, "tollgate.dll")
	build := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-ldflags", "-X main.version=capi-test -extldflags=-static-libgcc", "-o", dll, ".")
	build.Env = append(os.Environ(), "CC="+mingw, "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build tollgate.dll: %v\n%s", err, out)
	}
	if out, err := exec.Command("sh", "symcheck.sh", dll, "tollgate.h").CombinedOutput(); err != nil {
		t.Fatalf("symcheck on the DLL: %v\n%s", err, out)
	}
	def := filepath.Join(bin, "tollgate.def")
	h, err := os.ReadFile("tollgate.h")
	if err != nil {
		t.Fatal(err)
	}
	defText := "LIBRARY tollgate.dll\nEXPORTS\n"
	for _, name := range headerFunctions(h) {
		defText += name + "\n"
	}
	if err := os.WriteFile(def, []byte(defText), 0o644); err != nil {
		t.Fatal(err)
	}
	implib := filepath.Join(bin, "libtollgate.dll.a")
	dlltool := strings.TrimSuffix(mingw, "gcc") + "dlltool"
	if out, err := exec.CommandContext(ctx, dlltool, "-d", def, "-D", "tollgate.dll", "-l", implib).CombinedOutput(); err != nil {
		t.Fatalf("dlltool: %v\n%s", err, out)
	}
	exe := filepath.Join(bin, "tollgate_example.exe")
	cc := exec.CommandContext(ctx, mingw, "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-I.", "-o", exe,
		"../../examples/c/tollgate_example.c", implib)
	if out, err := cc.CombinedOutput(); err != nil {
		t.Fatalf("mingw example: %v\n%s", err, out)
	}

	// A fresh Wine prefix with the stand-in bcryptprimitives.dll Go needs.
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
	stand := filepath.Join(prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	cc = exec.CommandContext(ctx, mingw, "-shared", "-O2", "-o", stand, "../clienttest/testdata/bcryptprimitives.c", "../clienttest/testdata/bcryptprimitives.def", "-ladvapi32")
	if out, err := cc.CombinedOutput(); err != nil {
		t.Fatalf("building the stand-in bcryptprimitives.dll: %v\n%s", err, out)
	}

	cmd := exec.CommandContext(ctx, loader, wine.Path(exe), "--explicit", "wine-vm-1", "--offline", "--product", product, wine.Path(card), wine.Path(state))
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if err != nil {
		t.Fatalf("the example under Wine: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
	for _, want := range []string{
		"libtollgate capi-test",
		"fingerprint:\n  explicit ",
		"check: allowed=1 decided=1 reason=offline contact=none level=2\n",
		"  entitlements: pro\n",
	} {
		if !strings.Contains(strings.ReplaceAll(out.String(), "\r\n", "\n"), want) {
			t.Fatalf("the example under Wine: output lacks %q:\n%s", want, out.String())
		}
	}
	t.Logf("under Wine:\n%s", strings.TrimSpace(out.String()))

	// The ABI contract program too, against the DLL: tg_open_w with
	// wchar_t strings, the bad input, the per-thread last error
	// (winpthreads linked in).
	abi := filepath.Join(bin, "abi.exe")
	cc = exec.CommandContext(ctx, mingw, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I.", "-o", abi, "testdata/abi.c", implib, "-static", "-lpthread")
	if out, err := cc.CombinedOutput(); err != nil {
		t.Fatalf("mingw abi.c: %v\n%s", err, out)
	}
	abiTmp := filepath.Join(tmp, "abi")
	if err := os.Mkdir(abiTmp, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd = exec.CommandContext(ctx, loader, wine.Path(abi), wine.Path(card), wine.Path(abiTmp))
	cmd.Env = env
	raw, err := cmd.CombinedOutput()
	if err != nil || !bytes.HasPrefix(raw, []byte("ok: ")) {
		t.Fatalf("abi.c under Wine: %v\n%s", err, raw)
	}
	t.Logf("abi.c under Wine: %s", bytes.TrimSpace(raw))
}

// headerFunctions lists the functions tollgate.h declares, as symcheck.sh
// finds them.
func headerFunctions(h []byte) []string {
	var names []string
	for _, line := range strings.Split(string(h), "\n") {
		if line == "" || !(line[0] >= 'a' && line[0] <= 'z') {
			continue
		}
		i := strings.Index(line, "(")
		if i < 0 {
			continue
		}
		f := strings.Fields(strings.ReplaceAll(line[:i], "*", " "))
		if len(f) >= 2 && strings.HasPrefix(f[len(f)-1], "tg_") {
			names = append(names, f[len(f)-1])
		}
	}
	return names
}

// headerParams maps each function tollgate.h declares to its number of
// parameters.
func headerParams(t *testing.T) map[string]int {
	t.Helper()
	h, err := os.ReadFile("tollgate.h")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	decl := regexp.MustCompile(`(?m)^[a-z_][a-z_0-9 ]*[ *](tg_[a-z_0-9]+)\(([^)]*)\);`)
	for _, f := range decl.FindAllStringSubmatch(string(h), -1) {
		m[f[1]] = paramCount(f[2])
	}
	if len(m) == 0 || len(m) != len(headerFunctions(h)) {
		t.Fatalf("tollgate.h: %d declarations parsed, %d functions listed", len(m), len(headerFunctions(h)))
	}
	return m
}

func paramCount(list string) int {
	list = strings.TrimSpace(list)
	if list == "" || list == "void" {
		return 0
	}
	return strings.Count(list, ",") + 1
}

// TestCSharpDeclarations checks the P/Invoke declarations of
// examples/csharp against tollgate.h: the same functions, each with as
// many parameters. Then, when Mono's compiler is installed, it compiles
// the example and runs it against a real gateway.
func TestCSharpDeclarations(t *testing.T) {
	t.Parallel()
	want := headerParams(t)
	src, err := os.ReadFile("../../examples/csharp/Tollgate.cs")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	ext := regexp.MustCompile(`static extern [\w.]+ (tg_\w+)\(((?:[^()]|\([^()]*\))*)\);`)
	for _, f := range ext.FindAllStringSubmatch(string(src), -1) {
		got[f[1]] = paramCount(f[2])
	}
	for name, n := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("Tollgate.cs lacks %s", name)
		} else if g != n {
			t.Errorf("Tollgate.cs declares %s with %d parameters, tollgate.h with %d", name, g, n)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("Tollgate.cs declares %s, which tollgate.h does not", name)
		}
	}
	if t.Failed() {
		return
	}

	mcs, err1 := exec.LookPath("mcs")
	mono, err2 := exec.LookPath("mono")
	if err1 != nil || err2 != nil {
		t.Skip("mcs or mono is not installed: the declarations are checked, the C# example is not compiled (apt-get install mono-mcs)")
	}
	dir := library(t)
	g, card := startGateway(t)
	key := g.Mint(t, product, 1, service.Spec{Entitlements: []string{"pro"}, Policy: store.Policy{Level: 1, LeaseSeconds: 10 * 86400}})[0]
	ctx := hang.Context(t)
	exe := filepath.Join(t.TempDir(), "Example.exe")
	if out, err := exec.CommandContext(ctx, mcs, "-warnaserror", "-out:"+exe, "../../examples/csharp/Example.cs", "../../examples/csharp/Tollgate.cs").CombinedOutput(); err != nil {
		t.Fatalf("mcs: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, mono, exe, card, t.TempDir(), key.Display())
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the C# example under Mono: %v\n%s", err, out)
	}
	for _, w := range []string{"libtollgate capi-test", "bad key: MALFORMED_KEY:", "activate: allowed=1 reason=ok level=1",
		"check: allowed=1 reason=offline level=1", "entitlements: pro", "deactivate: done"} {
		if !strings.Contains(string(out), w) {
			t.Fatalf("the C# example: output lacks %q:\n%s", w, out)
		}
	}
}
