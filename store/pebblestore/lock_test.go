package pebblestore

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
)

// holdEnv makes the test binary, run as a child, open the store in the
// named directory, say "open", and hold it until its stdin closes.
const holdEnv = "TOLLGATE_STORE_TEST_HOLD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(mintEnv); dir != "" {
		runMintChild(dir)
	}
	if dir := os.Getenv(holdEnv); dir != "" {
		s, err := Open(Config{Dir: dir})
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("open\n")
		buf := make([]byte, 1)
		os.Stdin.Read(buf)
		s.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestOpenLockedByAnotherProcess: a data directory held by another process
// (a running gateway) is refused with store.ErrLocked, which is what tells the
// operator commands to use the admin socket instead.
func TestOpenLockedByAnotherProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "open\n" {
		t.Fatalf("child did not open the store: %q, %v", line, err)
	}
	_, err = Open(Config{Dir: dir})
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("Open of a directory another process holds = %v, want ErrLocked", err)
	}
}
