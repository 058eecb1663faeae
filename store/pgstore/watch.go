package pgstore

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tollgate/tollgate/store"
)

// Backoff of the listener's reconnections: from the first wait, doubling
// up to the last.
const (
	listenFirstWait = 50 * time.Millisecond
	listenMaxWait   = 2 * time.Second
	// listenIdle is how long the listener waits for a notification before
	// it pings the server.
	listenIdle = 30 * time.Second
)

// watcher is the state of the change listener: one connection of its own
// (not the pool's) that LISTENs on the changes channel.
type watcher struct {
	mu      sync.Mutex
	started bool // Watch was called, or Close: no listener starts again
	cancel  context.CancelFunc
	done    chan struct{} // closed when the listener has stopped
	idle    time.Duration // listenIdle, or a test's shorter wait
}

// stop stops the listener, if one started, and waits for it; no listener
// starts after it.
func (w *watcher) stop() {
	w.mu.Lock()
	w.started = true
	cancel, done := w.cancel, w.done
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// Watch starts the listener of the changes committed by every gateway of
// the database, this one included (store.Watcher), and calls fn with each
// from its own goroutine, in the order of their commits: a license changed
// by Update (ChangeLicense with its id), a shop added, changed or deleted
// (ChangeShops), a catalogue entry added or changed (ChangeProducts).
// CreateLicenses and WriteSeen report nothing (new licenses are not
// cached; last-seen values only rise).
//
// The listener is one connection of its own, outside the pool. When it
// breaks (or cannot connect at first), fn gets ChangeUntrusted at once;
// the listener connects again, waiting 50 ms doubling up to 2 s between
// attempts, and once it listens again fn gets ChangeResync. Watch returns
// once the listener listens or has failed its first attempt (bounded by
// Config.Timeout). Only the first call starts a listener; Close stops it
// and waits for it. LISTEN and pg_notify are PostgreSQL's own: a
// compatible database without them cannot serve several gateways' caches.
func (b *Backend) Watch(fn func(store.Change)) {
	w := &b.watch
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.started, w.cancel, w.done = true, cancel, make(chan struct{})
	w.mu.Unlock()
	conn, err := b.listen(ctx)
	if err != nil && ctx.Err() == nil {
		b.cfg.Logger.Warn("pgstore: cannot listen for changes; the cache reads through until it can", "server", b.addr, "err", b.fail("listen for changes", err))
		fn(store.Change{Kind: store.ChangeUntrusted})
	}
	go b.listenLoop(ctx, conn, fn, w.done)
}

// listen connects the listener's own connection and LISTENs.
func (b *Backend) listen(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, b.conn.Copy())
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		closeConn(conn)
		return nil, err
	}
	return conn, nil
}

// closeConn closes a connection, waiting at most a second for the server
// to hear of it.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx)
}

// listenLoop passes the notifications of conn (nil: not connected) to fn
// until ctx ends, connecting again when the connection breaks, and closes
// done when it stops.
func (b *Backend) listenLoop(ctx context.Context, conn *pgx.Conn, fn func(store.Change), done chan struct{}) {
	defer close(done)
	for {
		if conn != nil {
			err := b.receive(ctx, conn, fn)
			closeConn(conn)
			if ctx.Err() != nil {
				return
			}
			b.cfg.Logger.Warn("pgstore: change notifications interrupted; the cache reads through until they resume", "server", b.addr, "err", b.fail("listen for changes", err))
			fn(store.Change{Kind: store.ChangeUntrusted})
		}
		conn = b.reconnect(ctx)
		if conn == nil {
			return // closed
		}
		b.cfg.Logger.Info("pgstore: change notifications resumed", "server", b.addr)
		fn(store.Change{Kind: store.ChangeResync})
	}
}

// reconnect connects and LISTENs again, with backoff, until it succeeds
// or ctx ends (then nil).
func (b *Backend) reconnect(ctx context.Context) *pgx.Conn {
	wait := listenFirstWait
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if conn, err := b.listen(ctx); err == nil {
			return conn
		}
		wait = min(2*wait, listenMaxWait)
	}
}

// receive passes conn's notifications to fn until the connection fails or
// ctx ends. A payload this gateway does not know (a newer gateway's) is
// passed as ChangeResync: everything cached may be stale. After
// listenIdle without one, it pings the server (within Config.Timeout): a
// connection the network dropped without a word is found broken too.
func (b *Backend) receive(ctx context.Context, conn *pgx.Conn, fn func(store.Change)) error {
	for {
		idle := b.watch.idle
		if idle == 0 {
			idle = listenIdle
		}
		wctx, cancel := context.WithTimeout(ctx, idle)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil && ctx.Err() == nil && wctx.Err() != nil {
			// Idle (a read timeout leaves the connection usable).
			pctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		c, ok := parsePayload(n.Payload)
		if !ok {
			c = store.Change{Kind: store.ChangeResync}
		}
		fn(c)
	}
}
