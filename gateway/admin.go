package gateway

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
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

// AdminRequest is one operator command. On the admin socket it is one JSON
// line; the answer is one AdminResponse line.
type AdminRequest struct {
	// Cmd is one of product.add, product.list, product.show, shop.add,
	// shop.list, shop.remove, license.show, license.suspend,
	// license.resume, license.revoke, license.renew, license.reset,
	// license.unflag, license.flagged, audit, audit.verify, stats.
	Cmd     string         `json:"cmd"`
	Product *store.Product `json:"product,omitempty"`
	Shop    *AdminShop     `json:"shop,omitempty"`
	Name    string         `json:"name,omitempty"` // product code or shop name
	// Key is a license key in any accepted spelling. It is a secret: it
	// travels only over the private admin socket and is never logged.
	Key   string     `json:"key,omitempty"`
	Term  store.Term `json:"term,omitempty"` // license.renew; zero: the product's default
	Since int64      `json:"since,omitempty"`
}

// AdminShop is a shop as an operator registers it.
type AdminShop struct {
	Name       string   `json:"name"`
	PublicKey  string   `json:"public_key"` // noisepub:...
	Networks   []string `json:"networks"`
	Products   []string `json:"products"`
	DailyQuota uint32   `json:"daily_quota,omitempty"`
}

// AdminResponse answers an AdminRequest.
type AdminResponse struct {
	Error    string             `json:"error,omitempty"`
	Products []store.Product    `json:"products,omitempty"`
	Shops    []AdminShop        `json:"shops,omitempty"`
	License  *AdminLicense      `json:"license,omitempty"`
	Flagged  []AdminLicense     `json:"flagged,omitempty"` // license.flagged, oldest flag first
	Stats    map[string]int64   `json:"stats,omitempty"`   // stats: counters since the gateway started (Server.Stats)
	Audit    []store.AuditEntry `json:"audit,omitempty"`
	Verified int                `json:"verified,omitempty"` // audit.verify: entries checked
}

// AdminLicense is what an operator sees of a license: never its key.
type AdminLicense struct {
	License     store.License      `json:"license"`
	Status      string             `json:"status"`
	Expiry      int64              `json:"expiry,omitempty"`
	Activations []store.Activation `json:"activations,omitempty"`
	// FlaggedAt (Unix seconds) and FlagReason say when and why the license
	// was flagged as a key shared among people (Config.FlagWindowDays).
	FlaggedAt  int64  `json:"flagged_at,omitempty"`
	FlagReason string `json:"flag_reason,omitempty"`
	// Machines and Networks are how many distinct ones activated it within
	// the last WindowDays days.
	Machines   int `json:"machines"`
	Networks   int `json:"networks"`
	WindowDays int `json:"window_days"`
}

// Admin carries out operator commands on a store: in the running gateway
// (behind the admin socket) or on a stopped gateway's data directory.
type Admin struct {
	St     *store.Store
	Hasher *keygen.Hasher
	Now    func() time.Time
	// Reload, if set, is called after the shops change (the running
	// gateway's ReloadShops).
	Reload func() error
	// FlagWindowDays is the window license.show counts machines and
	// networks in. Zero or less means 30.
	FlagWindowDays int
	// Stats, if set, answers the stats command (the running gateway's
	// Server.Stats); a stopped gateway has none.
	Stats func() map[string]int64
}

// Do runs one command. Errors are reported in the response.
func (a *Admin) Do(req AdminRequest) AdminResponse {
	resp, err := a.do(req)
	if err != nil {
		resp = AdminResponse{Error: err.Error()}
	}
	return resp
}

// adminLicense is what license.show and license.flagged answer of lic.
func (a *Admin) adminLicense(lic store.License, acts []store.Activation, sg store.Sightings) AdminLicense {
	now := a.now().Unix()
	window := a.FlagWindowDays
	if window <= 0 {
		window = 30
	}
	since := now - int64(window)*86400
	l := AdminLicense{License: lic, Expiry: lic.Expiry(), Activations: acts,
		FlaggedAt: sg.FlaggedAt, FlagReason: sg.Reason, WindowDays: window,
		Machines: sg.Count(store.SightMachine, since), Networks: sg.Count(store.SightNetwork, since)}
	l.Status = service.LicenseStatus(&lic, now).String()
	return l
}

func (a *Admin) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

func (a *Admin) do(req AdminRequest) (AdminResponse, error) {
	switch req.Cmd {
	case "product.add":
		if req.Product == nil {
			return AdminResponse{}, fmt.Errorf("%w: no product", ErrConfig)
		}
		return AdminResponse{}, a.St.PutProduct(*req.Product)
	case "product.list":
		ps, err := a.St.Products()
		return AdminResponse{Products: ps}, err
	case "product.show":
		p, err := a.St.ProductByCode(req.Name)
		return AdminResponse{Products: []store.Product{p}}, err
	case "shop.add":
		if req.Shop == nil {
			return AdminResponse{}, fmt.Errorf("%w: no shop", ErrConfig)
		}
		sh, err := req.Shop.parse(a.now())
		if err != nil {
			return AdminResponse{}, err
		}
		if err := a.St.PutShop(sh); err != nil {
			return AdminResponse{}, err
		}
		return AdminResponse{}, a.reload()
	case "shop.list":
		list, err := a.St.Shops()
		out := make([]AdminShop, len(list))
		for i, sh := range list {
			out[i] = adminShop(sh)
		}
		return AdminResponse{Shops: out}, err
	case "shop.remove":
		if err := a.St.DeleteShop(req.Name); err != nil {
			return AdminResponse{}, err
		}
		return AdminResponse{}, a.reload()
	case "stats":
		if a.Stats == nil {
			return AdminResponse{}, fmt.Errorf("%w: statistics come from a running gateway, and this one is stopped", ErrConfig)
		}
		return AdminResponse{Stats: a.Stats()}, nil
	case "license.flagged":
		fl, err := a.St.FlaggedLicenses(0)
		if err != nil {
			return AdminResponse{}, err
		}
		resp := AdminResponse{Flagged: make([]AdminLicense, 0, len(fl))}
		for _, f := range fl {
			resp.Flagged = append(resp.Flagged, a.adminLicense(f.License, nil, f.Sightings))
		}
		return resp, nil
	case "license.show", "license.suspend", "license.resume", "license.revoke", "license.renew", "license.reset", "license.unflag":
		k, err := keygen.ParseKey(req.Key)
		if err != nil {
			return AdminResponse{}, fmt.Errorf("%w: not a valid license key", ErrConfig)
		}
		op := service.LicenseOp(req.Cmd[len("license."):])
		if op == "show" {
			op = service.OpStatus
		}
		now := a.now()
		res, err := service.ApplyLicenseOp(a.St, a.Hasher, k, op, req.Term, "", now)
		if err != nil {
			return AdminResponse{}, err
		}
		sg, err := a.St.Sightings(res.License.ID)
		if errors.Is(err, store.ErrCorrupt) {
			sg, err = store.Sightings{Reason: store.DamagedSightings(err)}, nil
		}
		if err != nil {
			return AdminResponse{}, err
		}
		l := a.adminLicense(res.License, res.Activations, sg)
		return AdminResponse{License: &l}, nil
	case "audit":
		log, err := a.St.AuditLog(req.Since)
		return AdminResponse{Audit: log}, err
	case "audit.verify":
		n, err := a.St.VerifyAudit()
		return AdminResponse{Verified: n}, err
	}
	return AdminResponse{}, fmt.Errorf("%w: unknown admin command %q", ErrConfig, req.Cmd)
}

func (a *Admin) reload() error {
	if a.Reload == nil {
		return nil
	}
	return a.Reload()
}

func (s AdminShop) parse(now time.Time) (store.Shop, error) {
	k, err := channel.ParsePublicKey(s.PublicKey)
	if err != nil {
		return store.Shop{}, fmt.Errorf("%w: shop key: %w", ErrConfig, err)
	}
	sh := store.Shop{Name: s.Name, PublicKey: k, Products: s.Products, DailyQuota: s.DailyQuota, Created: now.Unix()}
	for _, n := range s.Networks {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			a, aerr := netip.ParseAddr(n)
			if aerr != nil {
				return store.Shop{}, fmt.Errorf("%w: network %q is not a CIDR prefix or address", ErrConfig, n)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		sh.Networks = append(sh.Networks, p)
	}
	for _, p := range sh.Products {
		if _, err := keygen.ParseProductCode(p); err != nil {
			return store.Shop{}, fmt.Errorf("%w: product %q: %w", ErrConfig, p, err)
		}
	}
	return sh, nil
}

func adminShop(sh store.Shop) AdminShop {
	out := AdminShop{Name: sh.Name, PublicKey: channel.PublicKey(sh.PublicKey).String(), Products: sh.Products, DailyQuota: sh.DailyQuota}
	for _, n := range sh.Networks {
		out.Networks = append(out.Networks, n.String())
	}
	return out
}

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
				var req AdminRequest
				resp := AdminResponse{Error: "malformed request"}
				if json.Unmarshal(sc.Bytes(), &req) == nil {
					resp = as.a.Do(req)
				}
				if enc.Encode(resp) != nil {
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
	json.NewEncoder(c).Encode(AdminResponse{Error: msg})
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
		a: &Admin{St: s.st, Hasher: s.id.Hasher, Now: s.cfg.Now, Reload: s.ReloadShops, FlagWindowDays: s.cfg.FlagWindowDays, Stats: s.Stats}}
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

// AdminDo runs one operator command on the gateway whose data directory is
// dir: directly on the store when the gateway is stopped, else through the
// running gateway's admin socket, so there is never a second writer.
func AdminDo(dir string, req AdminRequest) (AdminResponse, error) {
	// A small cache: a command touches a few records, and a large cache
	// makes opening and closing slow.
	st, err := OpenStore(dir, StoreOptions{CacheEntries: 1024})
	if err != nil && (errors.Is(err, store.ErrLocked) || isSocket(AdminSocketPath(dir))) {
		// The gateway runs and holds Pebble's lock: ask it.
		return adminDial(dir, req)
	}
	if err != nil {
		return AdminResponse{}, err
	}
	defer st.Close()
	id, err := LoadIdentity(dir)
	if err != nil {
		return AdminResponse{}, err
	}
	resp := (&Admin{St: st, Hasher: id.Hasher}).Do(req)
	if resp.Error != "" {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}

func adminDial(dir string, req AdminRequest) (AdminResponse, error) {
	c, err := net.DialTimeout("unix", AdminSocketPath(dir), 5*time.Second)
	if errors.Is(err, fs.ErrPermission) {
		return AdminResponse{}, fmt.Errorf("gateway: the store is in use and its admin socket %s is not yours: run this command as the gateway's user or as root", AdminSocketPath(dir))
	}
	if err != nil {
		return AdminResponse{}, fmt.Errorf("gateway: the store is in use but the admin socket does not answer: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	werr := json.NewEncoder(c).Encode(req)
	// A refusal is sent before the request is read: read it even when
	// sending failed.
	var resp AdminResponse
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return AdminResponse{}, fmt.Errorf("gateway: admin socket: %w", errors.Join(werr, err))
	}
	if werr != nil && resp.Error == "" {
		return AdminResponse{}, fmt.Errorf("gateway: admin socket: %w", werr)
	}
	if resp.Error != "" {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}

func isSocket(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}
