package pebblestore

import (
	"bufio"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
)

// mintEnv makes the test binary, run as a child, place the kill test's
// orders in the store in the named directory, one after another, saying
// "ack <order> <existed>" for each as it returns.
const mintEnv = "TOLLGATE_STORE_TEST_MINT"

// killOrders is how many orders the kill test's child places, and
// killCount the keys of each: large and small, in turn.
const killOrders = 400

func killCount(i int) int { return [...]int{2000, 5, 1200, 1}[i%4] }

// killNow is the clock of the kill test's stores: one UTC day, so that the
// quota count is one figure.
func killNow() time.Time { return time.Unix(1700000000, 0) }

// runMintChild places the kill test's orders, each retried from the first:
// an order a killed child placed is answered as existing.
func runMintChild(dir string) {
	b, err := Open(Config{Dir: dir, Now: killNow})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	sealed := []byte("sealed keys")
	for i := range killOrders {
		id := strconv.Itoa(i)
		o := store.Order{Shop: "s", ID: id, Request: []byte("r" + id), Count: killCount(i), Product: "1AJS2"}
		_, existed, err := b.MintOrder(o, 0, func() ([]store.License, []byte, error) {
			ls := make([]store.License, o.Count)
			for j := range ls {
				l := &ls[j]
				crand.Read(l.KeyHash[:])
				l.ID = store.IDFor(l.KeyHash)
				l.Product, l.Seats, l.Shop, l.Order = "1AJS2", 1, "s", id
				l.Term = store.Term{Kind: store.TermYears, Value: 1}
			}
			return ls, sealed, nil
		})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		if i%3 == 0 { // another audited commit between orders
			if err := b.Audit(store.AuditEntry{Kind: "tick", Detail: id}); err != nil {
				fmt.Println("error:", err)
				os.Exit(1)
			}
		}
		fmt.Printf("ack %s %v\n", id, existed)
	}
	b.Close()
	fmt.Println("done")
	os.Exit(0)
}

// TestKillDuringMints SIGKILLs a process placing orders (large and small,
// other audited commits between them) three times, at a random moment, and checks the store after each kill:
// every acknowledged order is there with all its licenses; every order
// there has exactly its count of licenses and every license its order (a
// crash never leaves one without the other); the day's quota counts each
// order once; the audit chain verifies, with one mint entry per order;
// and the next process's retry of an order that is there does not mint
// it again.
func TestKillDuringMints(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs and kills child processes")
	}
	dir := t.TempDir()
	acked := map[string]bool{}
	present := map[string]bool{}
	deadline := time.Now().Add(hang.Timeout(t))
	for cycle := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), mintEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		killAfter, fresh := 3+rand.IntN(8), 0
		var killAt <-chan time.Time
		fail := func(format string, args ...any) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf(format, args...)
		}
		timeout := time.After(time.Until(deadline))
	read:
		for {
			select {
			case <-timeout:
				fail("cycle %d: the child did not end", cycle)
			case <-killAt:
				cmd.Process.Signal(syscall.SIGKILL)
				killAt = nil
			case line, ok := <-lines:
				if !ok {
					break read
				}
				f := strings.Fields(line)
				if line == "done" {
					continue
				}
				if len(f) != 3 || f[0] != "ack" {
					fail("cycle %d: the child said %q", cycle, line)
				}
				existed := f[2] == "true"
				if existed != present[f[1]] {
					fail("cycle %d: order %s placed again answered existed=%v; it was there: %v", cycle, f[1], existed, present[f[1]])
				}
				acked[f[1]] = true
				if !existed {
					if fresh++; fresh == killAfter {
						killAt = time.After(time.Duration(rand.IntN(150)) * time.Millisecond)
					}
				}
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Logf("cycle %d: the child ended before the kill (%v)", cycle, err)
		}
		present = checkAfterKill(t, dir, acked)
		t.Logf("cycle %d: %d orders acknowledged, %d in the store", cycle, len(acked), len(present))
	}
}

// checkAfterKill opens the store in dir and checks it against the orders
// acknowledged so far; it returns the orders the store holds.
func checkAfterKill(t *testing.T, dir string, acked map[string]bool) map[string]bool {
	t.Helper()
	b, err := Open(Config{Dir: dir, Now: killNow})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	licenses := map[string]int{}
	err = b.scanLicenses([]byte{pfxLicense}, []byte{pfxLicense + 1}, func(_ keygen.KeyHash, l *store.License) bool {
		licenses[l.Order]++
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	var total uint32
	for i := range killOrders {
		id := strconv.Itoa(i)
		o, err := b.OrderByID("s", id)
		switch {
		case err == nil:
			present[id] = true
			total += uint32(o.Count)
			if o.Count != killCount(i) || licenses[id] != o.Count {
				t.Errorf("order %s: count %d, %d licenses; want %d", id, o.Count, licenses[id], killCount(i))
			}
		case acked[id]:
			t.Errorf("acknowledged order %s lost: %v", id, err)
		case licenses[id] != 0:
			t.Errorf("%d licenses of order %s, which is not there", licenses[id], id)
		}
	}
	if n, err := b.MintedToday("s"); err != nil || n != total {
		t.Errorf("MintedToday = %d, %v; want %d, the keys of the orders there", n, err, total)
	}
	if _, err := b.VerifyAudit(); err != nil {
		t.Errorf("VerifyAudit: %v", err)
	}
	es, err := b.AuditLog(0)
	if err != nil {
		t.Fatal(err)
	}
	mints := 0
	for _, e := range es {
		if e.Kind == "mint" {
			mints++
		}
	}
	if mints != len(present) {
		t.Errorf("%d mint entries in the audit log for %d orders", mints, len(present))
	}
	if t.Failed() {
		t.FailNow()
	}
	return present
}
