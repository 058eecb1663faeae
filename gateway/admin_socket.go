package gateway

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

// The running gateway's admin socket: operator commands reach the one
// writer of the store through it instead of opening Pebble a second time.
// It is DIR/run/admin.sock (AdminSocketPath). DirRun is created with mode
// 0700 before the socket is bound in it, so no other user can connect to
// the socket at any moment, whatever the umask and the mode of DIR; and
// every connection is checked to come from the gateway's own user or root
// (SO_PEERCRED, on Linux).

// adminServer answers operator commands on the admin socket.
type adminServer struct {
	ln    net.Listener
	path  string
	a     *Admin
	log   *slog.Logger
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// serve answers until close. Each connection sends JSON request lines and
// reads one answer line for each.
func (as *adminServer) serve() {
	for {
		c, err := as.ln.Accept()
		if err != nil {
			return
		}
		as.mu.Lock()
		if as.conns == nil {
			as.mu.Unlock()
			c.Close()
			return
		}
		as.conns[c] = struct{}{}
		as.wg.Add(1)
		as.mu.Unlock()
		go func() {
			defer as.wg.Done()
			defer func() {
				as.mu.Lock()
				delete(as.conns, c)
				as.mu.Unlock()
				c.Close()
			}()
			if !as.allowed(c) {
				return
			}
			sc := bufio.NewScanner(c)
			sc.Buffer(make([]byte, 0, 4096), 1<<20)
			enc := json.NewEncoder(c)
			for sc.Scan() {
				if enc.Encode(as.a.answer(sc.Bytes())) != nil {
					return
				}
			}
		}()
	}
}

// allowed reports whether the peer of c may send commands: the gateway's
// own user or root. Anyone else gets one error line and is logged; the
// caller closes c.
func (as *adminServer) allowed(c net.Conn) bool {
	uid, err := peerUID(c)
	if errors.Is(err, errPeerUnknown) {
		return true // this system cannot tell: the private directory is the guard
	}
	euid := os.Geteuid()
	if err == nil && (uid == euid || uid == 0) {
		return true
	}
	msg := fmt.Sprintf("permission denied: the admin socket answers only the gateway's user (uid %d) and root; this connection is from uid %d", euid, uid)
	if err != nil {
		msg = "permission denied: the admin socket cannot tell who connected"
		as.log.Warn("admin socket: refused a connection whose user cannot be told", "err", err)
	} else {
		as.log.Warn("admin socket: refused a connection from another user", "uid", uid, "gateway_uid", euid)
	}
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	json.NewEncoder(c).Encode(adminapi.Answer{Error: msg})
	return false
}

// close stops accepting, ends idle connections, waits for commands being
// answered, and removes the socket.
func (as *adminServer) close() {
	as.ln.Close()
	as.mu.Lock()
	for c := range as.conns {
		c.SetReadDeadline(time.Now()) // a command being answered still gets its answer
	}
	as.conns = nil
	as.mu.Unlock()
	as.wg.Wait()
	os.Remove(as.path)
}

// startAdmin opens DIR/run/admin.sock and serves it; it returns nil
// (having logged why) when the socket cannot be opened: the gateway still
// serves, and operator commands need it stopped.
func (s *Server) startAdmin() *adminServer {
	ln, err := listenAdmin(s.cfg.Dir)
	if err != nil {
		s.cfg.Logger.Warn("no admin socket; operator commands need the gateway stopped", "err", err)
		return nil
	}
	as := &adminServer{ln: ln, path: AdminSocketPath(s.cfg.Dir), log: s.cfg.Logger, conns: make(map[net.Conn]struct{}),
		a: &Admin{St: s.st, Hasher: s.id.Hasher, Now: s.cfg.Now, Reload: s.ReloadShops, FlagWindowDays: s.cfg.FlagWindowDays, Stats: s.Stats,
			Svc: s.svc, Dir: s.cfg.Dir, Signer: s.id.Signer, Transport: s.transport}}
	go as.serve()
	return as
}

// listenAdmin opens DIR/run/admin.sock. DIR/run is made private (0700, the
// gateway's user) before the socket is bound in it: a socket bound with
// the process's umask and only then chmodded can be connected to by
// anyone in between. A socket left by a gateway that died is removed
// first, and so is DIR/admin.sock of an older gateway: holding the store's
// lock proves no other gateway uses this directory.
func listenAdmin(dir string) (net.Listener, error) {
	run := filepath.Join(dir, DirRun)
	if err := privateDir(run); err != nil {
		return nil, err
	}
	removeSocket(filepath.Join(dir, FileAdminSocket))
	path := filepath.Join(run, FileAdminSocket)
	removeSocket(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("gateway: admin socket: %w", err)
	}
	// Not the guard (the directory is), but the socket needs no more.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("gateway: admin socket: %w", err)
	}
	return ln, nil
}

// privateDir makes path a directory only the gateway's user can enter: it
// creates it with mode 0700, or checks that an existing one is a directory
// (not a symlink) owned by the gateway's user and sets its mode to 0700.
// Nobody else can swap it meanwhile: New refused a data directory others
// can write.
func privateDir(path string) error {
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("gateway: admin socket directory: %w", err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("gateway: admin socket directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("gateway: admin socket directory %s is not a directory (%v): remove it, and the gateway creates it", path, fi.Mode().Type())
	}
	if uid, ok := fileOwner(fi); ok && uid != os.Geteuid() {
		return fmt.Errorf("gateway: admin socket directory %s belongs to uid %d, not to the gateway's user (uid %d): remove it, and the gateway creates it", path, uid, os.Geteuid())
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(path, 0o700); err != nil {
			return fmt.Errorf("gateway: admin socket directory: %w", err)
		}
	}
	return nil
}

// removeSocket removes path if it is a socket.
func removeSocket(path string) {
	if isSocket(path) {
		os.Remove(path)
	}
}

// OpenAdmin returns the typed admin client of the gateway whose data
// directory is dir: on the store directly when the gateway is stopped (the
// client then holds the store until closed), else through the running
// gateway's admin socket (DialAdmin), so there is never a second writer.
func OpenAdmin(dir string) (*adminapi.Client, error) {
	// A small cache: a command touches a few records, and a large cache
	// makes opening and closing slow.
	st, err := OpenStore(dir, StoreOptions{CacheEntries: 1024})
	if err != nil && (errors.Is(err, store.ErrLocked) || isSocket(AdminSocketPath(dir))) {
		// The gateway runs and holds Pebble's lock: ask it.
		return DialAdmin(dir)
	}
	if err != nil {
		return nil, err
	}
	id, err := LoadIdentity(dir)
	if err != nil {
		st.Close()
		return nil, err
	}
	// A service of the stopped gateway's own for air-gapped machines'
	// requests; leases of products that set no life get Config's default
	// life (a stopped gateway's config file is not known here).
	svc := service.New(service.Config{Store: st, Keys: id.serviceKeys(), Log: slog.New(slog.DiscardHandler),
		DefaultLeaseSeconds: 7 * 86400})
	return adminapi.NewClient(&Admin{St: st, Hasher: id.Hasher, Svc: svc, Dir: dir}, func() error { svc.Close(); return st.Close() }), nil
}

// DialAdmin connects to the admin socket of the running gateway whose
// data directory is dir and returns its typed client. The client sends
// one request at a time; errors keep their identity across the socket
// (admin_codes.go).
func DialAdmin(dir string) (*adminapi.Client, error) {
	c, err := net.DialTimeout("unix", AdminSocketPath(dir), 5*time.Second)
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("gateway: the store is in use and its admin socket %s is not yours: run this command as the gateway's user or as root", AdminSocketPath(dir))
	}
	if err != nil {
		return nil, fmt.Errorf("gateway: the store is in use but the admin socket does not answer: %w", err)
	}
	ac := &adminConn{c: c, enc: json.NewEncoder(c), dec: json.NewDecoder(c)}
	return adminapi.NewClient(ac, c.Close), nil
}

// adminConn is the client end of an admin socket connection.
type adminConn struct {
	mu  sync.Mutex
	c   net.Conn
	enc *json.Encoder
	dec *json.Decoder
}

// Call sends one request line and reads its answer (adminapi.Caller).
func (ac *adminConn) Call(op string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", adminapi.ErrMalformed, op, err)
	}
	ac.mu.Lock()
	defer ac.mu.Unlock()
	ac.c.SetDeadline(time.Now().Add(time.Minute))
	werr := ac.enc.Encode(adminapi.Request{Op: op, Body: body})
	// A refusal is sent before the request is read: read it even when
	// sending failed.
	var ans adminapi.Answer
	if err := ac.dec.Decode(&ans); err != nil {
		return fmt.Errorf("gateway: admin socket: %w", errors.Join(werr, err))
	}
	if ans.Error != "" {
		return adminErrorOf(ans.Code, ans.Error)
	}
	if werr != nil {
		return fmt.Errorf("gateway: admin socket: %w", werr)
	}
	if err := json.Unmarshal(ans.Body, resp); err != nil {
		return fmt.Errorf("gateway: admin socket: the answer to %s: %w", op, err)
	}
	return nil
}

func isSocket(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}
