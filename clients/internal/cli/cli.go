// Package cli is the plumbing tollgate-client and tollgate-shop share:
// flags accepted anywhere on the command line, the JSON answer every
// --json run prints, and the exit codes.
package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Exit codes common to both commands; tollgate-client gives 0 and 1 its
// own meaning (licensed, not licensed) and adds 3.
const (
	ExitOK    = 0
	ExitFail  = 1
	ExitUsage = 2
)

// Parse parses args with fs, flags and arguments in any order (a flag
// after the command or a key is a flag), and returns the arguments. After
// "--" everything is an argument. fs should be ContinueOnError with its
// output discarded: the error says what went wrong, once.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return pos, err
		}
		rest := fs.Args()
		// flag stops at "--" (dropping it) or at the first argument.
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// WantsJSON reports whether args ask for JSON (--json, -json,
// --json=true), so that even an error in parsing them is answered in JSON.
func WantsJSON(args []string) bool {
	for _, a := range args {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, val, has := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "json" {
			b, err := strconv.ParseBool(val)
			return !has || err == nil && b
		}
	}
	return false
}

// IsHelp reports whether err is a request for help (-h, --help).
func IsHelp(err error) bool { return errors.Is(err, flag.ErrHelp) }

// Answer is the part every JSON answer has: status, a stable word ("ok",
// or what went wrong), and message, a plain sentence. Commands embed it.
// ServerStatus is the gateway's status name (NOT_FOUND, SUSPENDED, ...)
// when it refused.
type Answer struct {
	Status       string `json:"status"`
	ServerStatus string `json:"server_status,omitempty"`
	Message      string `json:"message"`
	Action       string `json:"action,omitempty"`
}

// Emit writes v as indented JSON to w.
func Emit(w io.Writer, v any) {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	e.SetEscapeHTML(false)
	e.Encode(v)
}

// Fail reports an error: as an Answer on stdout with asJSON, else as
// "name: message" (and the action) on stderr.
func Fail(stdout, stderr io.Writer, asJSON bool, name string, a Answer) {
	if asJSON {
		Emit(stdout, a)
		return
	}
	fmt.Fprintf(stderr, "%s: %s\n", name, a.Message)
	if a.Action != "" {
		fmt.Fprintln(stderr, a.Action)
	}
}

// Usage is the Answer of a usage error: its message, and where the help
// is.
func Usage(help string, format string, args ...any) Answer {
	return Answer{Status: "usage-error", Message: fmt.Sprintf(format, args...), Action: fmt.Sprintf("Run '%s' for help.", help)}
}

// Command is a subcommand: its name, the arguments and flags after it (a
// synopsis), a one-line summary and its help: what it does, with an
// example. NArgs is how many arguments it takes, where that is fixed.
type Command struct {
	Name, Args, Summary, Help string
	NArgs                     int
}

// Lookup returns the command of cmds called name.
func Lookup(cmds []Command, name string) (Command, bool) {
	for _, c := range cmds {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}
