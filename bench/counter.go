package bench

import (
	"sync"
	"sync/atomic"
	"time"
)

// The gateway refuses, as a cloned install, a validation whose counter is
// not above the highest it has seen for that activation (license and
// install). So every validation the benchmark sends takes its counter from
// one clock for the whole process: nanoseconds since the epoch when first
// used, then one more each time. Counters grow across sessions, phases and
// scenarios, and across runs against the same gateway, as long as a run
// does not send more than a billion validations a second.
//
// A stream's validations reach the gateway in the order they were sent,
// hence of their counters. Validations of one activation from several
// connections at once (handshake, idle-memory, mixed) take their counter
// and wait for the answer under that activation's lock (ordered).
var counterClock struct {
	once sync.Once
	n    atomic.Uint64
}

// nextCounter returns a validation counter above every one returned before.
func nextCounter() uint64 {
	counterClock.once.Do(func() { counterClock.n.Store(uint64(time.Now().UnixNano())) })
	return counterClock.n.Add(1)
}

// ordered runs validate with the next counter, holding mu (when not nil)
// until it returns: validations of one activation from several
// connections reach the gateway in the order of their counters.
func ordered(mu *sync.Mutex, validate func(counter uint64) string) string {
	if mu != nil {
		mu.Lock()
		defer mu.Unlock()
	}
	return validate(nextCounter())
}
