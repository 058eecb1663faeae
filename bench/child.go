package bench

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/internal/channel"
)

// The child protocol. The parent starts a copy of its own executable with
// envChild set; the child prints "ready ADDR PIN" on standard output once
// it listens (PIN: standard base64 of its TLS pin), then answers signals:
// sigFree runs the garbage collector and returns freed memory to the
// system (and writes the heap profile envHeap names), then prints "freed";
// sigProfile starts the CPU profile named by envProfile and the execution
// trace named by envTrace, then prints "profiling"; SIGTERM or SIGINT stop
// them cleanly.
const (
	envChild       = "TOLLGATE_BENCH_CHILD"        // childServe or childEcho
	envDir         = "TOLLGATE_BENCH_DIR"          // the gateway's data directory (childServe)
	envProfile     = "TOLLGATE_BENCH_CPUPROFILE"   // where the child writes its CPU profile, if set
	envTrace       = "TOLLGATE_BENCH_TRACE"        // where the child writes its execution trace, if set
	envCache       = "TOLLGATE_BENCH_CACHE"        // the gateway's cache_entries (childServe), if set
	envHeap        = "TOLLGATE_BENCH_MEMPROFILE"   // where the child writes a heap profile each time it frees memory, if set
	envNoAdmission = "TOLLGATE_BENCH_NO_ADMISSION" // set: the gateway's admission limits are off (childServe)
	envLeaseBatch  = "TOLLGATE_BENCH_LEASE_BATCH"  // the gateway's lease_batch (childServe), if set

	childServe = "serve"
	childEcho  = "echo"

	// childStartTimeout bounds a child's start, a race-detector build
	// opening Pebble included, on a loaded machine: only a hang reaches it.
	childStartTimeout = 2 * time.Minute
	// childStopTimeout is how long a child has to stop after SIGTERM
	// before it is killed: the gateway lets requests in flight finish for
	// up to 10 s, then closes its connections and flushes its store, which
	// on a loaded machine took more than 20 s. Only a hang reaches it.
	childStopTimeout = 2 * time.Minute
	// childAskTimeout bounds a child's answer to a signal (collect garbage,
	// start profiling).
	childAskTimeout = 2 * time.Minute
)

// RunChildIfRequested turns this process into a benchmark child process
// (the embedded gateway or the echo server) when it was started as one,
// and never returns in that case; otherwise it returns at once. Call it
// first thing in main, and in TestMain of any test that calls Run.
func RunChildIfRequested() {
	kind := os.Getenv(envChild)
	if kind == "" {
		return
	}
	var err error
	switch kind {
	case childServe:
		err = serveChild(os.Getenv(envDir))
	case childEcho:
		err = echoChild()
	default:
		err = fmt.Errorf("%w: unknown child kind %q", ErrChild, kind)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tollgate-bench child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// childControl answers the parent's signals in a child until ctx is done.
// It returns a function that stops the CPU profile, if one was started.
func childControl(ctx context.Context, out io.Writer) (stopProfile func()) {
	var mu sync.Mutex
	var prof, tr *os.File
	stopProfile = func() {
		mu.Lock()
		defer mu.Unlock()
		if prof != nil {
			pprof.StopCPUProfile()
			prof.Close()
			prof = nil
		}
		if tr != nil {
			trace.Stop()
			tr.Close()
			tr = nil
		}
	}
	free, profile, stop := controlSignals()
	go func() {
		defer stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-free:
				runtime.GC()
				debug.FreeOSMemory()
				if path := os.Getenv(envHeap); path != "" {
					if f, err := os.Create(path); err == nil {
						pprof.Lookup("heap").WriteTo(f, 0)
						f.Close()
					}
				}
				fmt.Fprintln(out, "freed")
			case <-profile:
				mu.Lock()
				if path := os.Getenv(envProfile); path != "" && prof == nil {
					if f, err := os.Create(path); err == nil {
						if pprof.StartCPUProfile(f) == nil {
							prof = f
						} else {
							f.Close()
						}
					}
				}
				if path := os.Getenv(envTrace); path != "" && tr == nil {
					if f, err := os.Create(path); err == nil {
						if trace.Start(f) == nil {
							tr = f
						} else {
							f.Close()
						}
					}
				}
				mu.Unlock()
				fmt.Fprintln(out, "profiling")
			}
		}
	}()
	return stopProfile
}

// serveChild runs the embedded gateway on dir, on a loopback port of the
// system's choosing, until SIGTERM or SIGINT. It logs warnings and errors
// only: the gateway logs every activation at info level, which would be
// the benchmark measuring its own log.
func serveChild(dir string) error {
	if dir == "" {
		return fmt.Errorf("%w: %s not set", ErrChild, envDir)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// A shared store's bound is a minute, not 5 s: the benchmark loads
	// the machine on purpose and measures throughput, and a request queued
	// past the operator's default bound would end the run.
	cfg := gateway.Config{Dir: dir, Listen: "127.0.0.1:0", Logger: logger, StoreTimeout: time.Minute}
	if v := os.Getenv(envCache); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return fmt.Errorf("%w: %s=%q", ErrChild, envCache, v)
		}
		cfg.CacheEntries = n
	}
	if v := os.Getenv(envLeaseBatch); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("%w: %s=%q", ErrChild, envLeaseBatch, v)
		}
		cfg.LeaseBatch = n
	}
	if os.Getenv(envNoAdmission) != "" {
		cfg.Admission = gateway.Admission{HandshakeRetry: -1, HandshakeRetryPerAddr: -1, MaxHandshakes: -1, MaxHandshakesPerAddr: -1, MaxConns: -1, MaxConnsPerAddr: -1}
	}
	srv, err := gateway.New(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := stopContext()
	defer cancel()
	stopProfile := childControl(ctx, os.Stdout)
	defer stopProfile()
	go func() {
		// The profile and the trace end when the parent asks the gateway
		// to stop, so that its shutdown (the store's close clears the
		// cache's sketch) is not counted with the requests it measured.
		<-ctx.Done()
		stopProfile()
	}()
	fmt.Printf("ready %s %s\n", srv.Addr(), base64.StdEncoding.EncodeToString(srv.Identity().Card.TLSPin[:]))
	return srv.Serve(ctx)
}

// echoChild runs the ceiling: a bare quic-go server with the gateway's TLS
// and QUIC settings that answers each frame with a frame of the size the
// request asks for (see echoEx), with no Noise and no store.
func echoChild() error {
	cert, _, _, err := channel.GenerateCertificate()
	if err != nil {
		return err
	}
	pin, err := channel.CertificatePin(cert)
	if err != nil {
		return err
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrChild, err)
	}
	tr := &quic.Transport{Conn: udp}
	ln, err := tr.Listen(channel.ServerTLSConfig(cert), channel.Limits{}.QUICConfig())
	if err != nil {
		udp.Close()
		return fmt.Errorf("%w: %w", ErrChild, err)
	}
	ctx, cancel := stopContext()
	defer cancel()
	stopProfile := childControl(ctx, os.Stdout)
	defer stopProfile()
	fmt.Printf("ready %s %s\n", udp.LocalAddr(), base64.StdEncoding.EncodeToString(pin[:]))

	// Like the gateway, it keeps its open connections in a set to close
	// them when it stops: a goroutine per connection waiting for that would
	// count in the memory the ceiling holds per idle connection.
	var conns sync.WaitGroup
	var mu sync.Mutex
	open := map[*quic.Conn]struct{}{}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		conn, err := ln.Accept(context.Background())
		if err != nil {
			break
		}
		mu.Lock()
		open[conn] = struct{}{}
		mu.Unlock()
		conns.Add(1)
		go func() {
			defer conns.Done()
			serveEchoConn(conn)
			mu.Lock()
			delete(open, conn)
			mu.Unlock()
		}()
	}
	mu.Lock()
	for c := range open {
		c.CloseWithError(0, "echo server stopping")
	}
	mu.Unlock()
	conns.Wait()
	tr.Close()
	udp.Close()
	return nil
}

func serveEchoConn(conn *quic.Conn) {
	var streams sync.WaitGroup
	defer streams.Wait()
	for {
		str, err := conn.AcceptStream(conn.Context())
		if err != nil {
			return
		}
		streams.Add(1)
		go func() {
			defer streams.Done()
			serveEchoStream(str)
		}()
	}
}

// serveEchoStream answers, in order, each request frame with a response
// frame: the same request id, the next type, and a zero body of the length
// the request's body starts with.
func serveEchoStream(str *quic.Stream) {
	bs := newBareStream(str)
	defer bs.Close()
	var out []byte
	for {
		frame, err := bs.ReadFrame()
		if err != nil {
			return
		}
		if len(frame) < channel.HeaderSize+4 {
			return
		}
		n := int(binary.BigEndian.Uint32(frame[channel.HeaderSize:]))
		if n > channel.MaxFrameSize {
			return
		}
		if cap(out) < channel.HeaderSize+n {
			out = make([]byte, channel.HeaderSize+n)
		}
		out = out[:channel.HeaderSize+n]
		out[0], out[1] = frame[0], frame[1]+1
		copy(out[2:6], frame[2:6])
		binary.BigEndian.PutUint32(out[6:], uint32(n))
		if err := bs.WriteFrame(out); err != nil {
			return
		}
	}
}

// child is a running child process, seen from the parent.
type child struct {
	kind   string
	cmd    *exec.Cmd
	addr   string
	pin    [32]byte
	lines  chan string   // standard output after the ready line
	exited chan struct{} // closed when the process has exited
	err    error         // its exit status, once exited is closed
	tail   *tailBuffer   // the end of its standard error

	stopOnce sync.Once
	stopErr  error
}

// startChild starts a child process of kind (childServe or childEcho) with
// the extra environment env, and waits until it listens.
func startChild(ctx context.Context, kind string, env ...string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrChild, err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(append(os.Environ(), envChild+"="+kind), env...)
	childAttrs(cmd)
	c := &child{kind: kind, cmd: cmd, lines: make(chan string, 16), exited: make(chan struct{}), tail: &tailBuffer{max: 8 << 10}}
	cmd.Stderr = c.tail
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrChild, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: starting %s: %w", ErrChild, kind, err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first {
				ready <- sc.Text()
				first = false
				continue
			}
			select {
			case c.lines <- sc.Text():
			default: // nobody asked: drop it
			}
		}
		io.Copy(io.Discard, stdout)
		if first {
			close(ready)
		}
	}()
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	t := time.NewTimer(childStartTimeout)
	defer t.Stop()
	var line string
	select {
	case line = <-ready:
	case <-t.C:
	case <-ctx.Done():
	}
	if err := c.parseReady(line); err != nil {
		c.stop()
		return nil, fmt.Errorf("%w: %s did not start: %w%s", ErrChild, kind, err, c.tail.note())
	}
	return c, nil
}

func (c *child) parseReady(line string) error {
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "ready" {
		return errors.New("no ready line")
	}
	pin, err := base64.StdEncoding.DecodeString(f[2])
	if err != nil || len(pin) != len(c.pin) {
		return errors.New("bad pin in the ready line")
	}
	c.addr = f[1]
	copy(c.pin[:], pin)
	return nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// ask sends sig and waits for the child to print want.
func (c *child) ask(sig os.Signal, want string, timeout time.Duration) error {
	if sig == nil {
		return fmt.Errorf("%w: not supported on this platform", ErrChild)
	}
	if err := c.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("%w: %w", ErrChild, err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case l := <-c.lines:
			if l == want {
				return nil
			}
		case <-c.exited:
			return fmt.Errorf("%w: %s exited%s", ErrChild, c.kind, c.tail.note())
		case <-t.C:
			return fmt.Errorf("%w: %s did not answer %q", ErrChild, c.kind, want)
		}
	}
}

// freeMemory makes the child collect its garbage and give freed memory
// back to the system, so that its RSS is what it holds.
func (c *child) freeMemory() error { return c.ask(sigFree, "freed", childAskTimeout) }

// startProfile starts the child's CPU profile (it has envProfile set).
func (c *child) startProfile() error { return c.ask(sigProfile, "profiling", childAskTimeout) }

// stop asks the child to stop (SIGTERM), waits for it, and kills it after
// childStopTimeout. It reports an exit other than a clean one.
func (c *child) stop() error {
	c.stopOnce.Do(func() {
		select {
		case <-c.exited:
		default:
			terminate(c.cmd.Process)
			t := time.NewTimer(childStopTimeout)
			select {
			case <-c.exited:
			case <-t.C:
				c.cmd.Process.Kill()
				<-c.exited
				c.stopErr = fmt.Errorf("%w: %s did not stop within %v; killed", ErrChild, c.kind, childStopTimeout)
			}
			t.Stop()
		}
		if c.stopErr == nil && c.err != nil {
			c.stopErr = fmt.Errorf("%w: %s: %w%s", ErrChild, c.kind, c.err, c.tail.note())
		}
	})
	return c.stopErr
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

// note returns the buffer as a suffix for an error message, or "".
func (t *tailBuffer) note() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return ""
	}
	return "; its standard error ends with:\n" + s
}
