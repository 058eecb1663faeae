package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/tollgate/tollgate/clients/bridge"
	"github.com/tollgate/tollgate/clients/internal/cli"
)

// serve runs the shop's HTTP bridge (clients/bridge) until interrupted.
func (s *shop) serve(args []string) int {
	fs := flag.NewFlagSet("tollgate-shop serve", flag.ContinueOnError)
	cf := addConnFlags(fs)
	listen := fs.String("listen", "127.0.0.1:8088", "HOST:PORT to serve HTTP on (loopback unless --allow-remote)")
	tokenFile := fs.String("token-file", "", "file (0600) holding the bearer token every request must carry")
	allowRemote := fs.Bool("allow-remote", false, "allow a non-loopback --listen address (needs --token-file)")
	var hooks multi
	fs.Var(&hooks, "webhook", "URL to POST each event to (repeatable)")
	secretFile := fs.String("webhook-secret-file", "", "file (0600) holding the webhooks' signing secret (required with --webhook)")
	retryFor := fs.Duration("webhook-retry-for", 24*time.Hour, "how long an event is retried before it is given up")
	stateDir := fs.String("state", "", "directory for the webhook cursor and the events given up (required with --webhook)")
	pos, code, done := s.parse("serve", fs, args)
	if done {
		return code
	}
	usageErr := func(format string, a ...any) int {
		return s.fail(cli.ExitUsage, cli.Usage("tollgate-shop serve --help", format, a...))
	}
	if len(pos) > 0 {
		return usageErr("serve takes no arguments (%d given); everything is a flag.", len(pos))
	}
	var token string
	if *tokenFile != "" {
		var err error
		if token, err = readSecret(*tokenFile, "--token-file"); err != nil {
			return usageErr("%v", err)
		}
	}
	if err := checkListen(*listen, *allowRemote, token != ""); err != nil {
		return usageErr("%v", err)
	}
	var secret string
	switch {
	case len(hooks) > 0 && *secretFile == "":
		return usageErr("--webhook needs --webhook-secret-file: each event is signed with the secret in that file.")
	case len(hooks) > 0 && *stateDir == "":
		return usageErr("--webhook needs --state DIR: where the bridge remembers the last event delivered.")
	case len(hooks) == 0 && *secretFile != "":
		return usageErr("--webhook-secret-file without --webhook: give the webhook URLs.")
	case *retryFor <= 0:
		return usageErr("--webhook-retry-for must be positive.")
	}
	for _, h := range hooks {
		if err := bridge.CheckWebhookURL(h); err != nil {
			return usageErr("%s.", strings.TrimPrefix(err.Error(), "bridge: "))
		}
	}
	if *secretFile != "" {
		var err error
		if secret, err = readSecret(*secretFile, "--webhook-secret-file"); err != nil {
			return usageErr("%v", err)
		}
	}
	var state *bridge.State
	if *stateDir != "" {
		var err error
		if state, err = bridge.OpenState(*stateDir); err != nil {
			return s.failErr(err)
		}
	}
	c, err := cf.dial()
	if err != nil {
		return s.failErr(err)
	}
	defer c.Close()
	var shopChannel bridge.Shop = c

	ctx, stop := signal.NotifyContext(s.context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(s.stderr, nil))
	metrics := bridge.NewMetrics()
	srv := bridge.New(bridge.Config{Shop: shopChannel, Token: token, Logger: log, Metrics: metrics})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return s.failErr(fmt.Errorf("cannot listen on %s: %w", *listen, err))
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	go srv.Watch(ctx)
	delivering := make(chan error, 1)
	if len(hooks) > 0 {
		d, err := bridge.NewDeliverer(bridge.DelivererConfig{Events: shopChannel, Webhooks: hooks, Secret: []byte(secret),
			State: state, RetryFor: *retryFor, Metrics: metrics, Logger: log})
		if err != nil {
			hs.Close()
			return s.failErr(err)
		}
		go func() { delivering <- d.Run(ctx) }()
	}
	log.Info("serving the shop bridge", "url", "http://"+ln.Addr().String(), "webhooks", len(hooks), "token", token != "")
	select {
	case <-ctx.Done():
	case err = <-errc:
		return s.failErr(fmt.Errorf("serving HTTP: %w", err))
	case err = <-delivering:
		hs.Close()
		return s.failErr(err)
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hs.Shutdown(shut)
	if len(hooks) > 0 {
		<-delivering
	}
	log.Info("stopped")
	return cli.ExitOK
}

// checkListen refuses a listen address other machines can reach unless
// remote access was asked for and a token guards it.
func checkListen(addr string, allowRemote, hasToken bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q is not HOST:PORT.", addr)
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	switch {
	case !allowRemote:
		return fmt.Errorf("--listen %s is reachable from other machines; the bridge listens on loopback (127.0.0.1) unless given --allow-remote and --token-file.", addr)
	case !hasToken:
		return errors.New("--allow-remote needs --token-file: a bridge other machines can reach must require a bearer token.")
	}
	return nil
}

// readSecret reads a secret from path, refusing a file others may read
// (on systems with Unix permissions) and an empty one. The error never
// holds the content.
func readSecret(path, flagName string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s: cannot read %s.", flagName, path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s: %s is readable by others (mode %v); make it private: chmod 600 %s.", flagName, path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: cannot read %s.", flagName, path)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s: %s is empty.", flagName, path)
	}
	return v, nil
}
