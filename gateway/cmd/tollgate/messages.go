package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/i18n"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// messageSubs are the product messages commands: a publisher's own texts
// for the messages its users see, per product and language, sent to the
// apps in their next lease (store.Product.Messages).
var messageSubs = []sub{
	{"set", "product messages set --data DIR CODE LANG ID TEXT", "Sets the product's own text of message ID in language LANG (two letters: de, en, es, he, ru, or another for a language of your own), in place of the catalogue's. Apps show it from their next lease on (activation, or a lease renewed past half its life), offline too. TEXT is plain text: no control characters and no right-to-left marks; it may use the placeholders the English text of ID has, such as {days}. All of a product's texts must fit in a lease (6144 bytes encoded).", "tollgate product messages set --data /var/lib/tollgate 1AJS2 ru refused.revoked 'Ключ отозван. Напишите нам: help@example.com'"},
	{"unset", "product messages unset --data DIR CODE LANG ID", "Removes the product's own text of message ID in language LANG: apps show the catalogue's again from their next lease.", "tollgate product messages unset --data /var/lib/tollgate 1AJS2 ru refused.revoked"},
	{"list", "product messages list --data DIR CODE", "Lists the product's own texts, one a line: language, message id, text.", "tollgate product messages list --data /var/lib/tollgate 1AJS2 --json"},
	{"ids", "product messages ids [--lang LANG]", "Lists the message ids of the catalogue with their text in LANG (default en), and the placeholders each may use.", "tollgate product messages ids --lang he"},
}

// messagesGroup is the entry of the messages commands in 'tollgate product
// --help'.
var messagesGroup = sub{"messages", "product messages set|unset|list|ids [flags] [ARGS]",
	"A product's own texts for the messages its users see (not activated, revoked, no seats, ...), by language: set, unset, list; ids lists the catalogue's messages. Run 'tollgate product messages --help'.",
	"tollgate product messages set --data /var/lib/tollgate 1AJS2 ru refused.revoked 'Ключ отозван.'"}

func init() { groups["product"] = append(groups["product"], messagesGroup) }

// messageFlags is newFlags for a product messages command.
func messageFlags(s sub, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tollgate product messages "+s.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tollgate %s\n\n%s\n\nExample:\n  %s\n\nFlags (before or after the arguments):\n", s.usage, s.does, s.example)
		fs.PrintDefaults()
	}
	fs.Bool("json", false, "print the answer, or the error, as one JSON object on stdout")
	return fs
}

// messageEntry is one override as 'product messages list --json' prints it.
type messageEntry struct {
	Lang string `json:"lang"`
	ID   string `json:"id"`
	Text string `json:"text"`
}

// catalogueEntry is one message of 'product messages ids --json'.
type catalogueEntry struct {
	ID           string   `json:"id"`
	Text         string   `json:"text"`
	Placeholders []string `json:"placeholders,omitempty"`
}

// cmdProductMessages runs 'tollgate product messages SUB ...'.
func cmdProductMessages(args []string, stdout, stderr io.Writer) error {
	subs := "set, unset, list or ids"
	if len(args) == 0 || isHelp(args[0]) {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprintf(w, "Usage: tollgate product messages SUBCOMMAND [flags] [--json]\n\n%s\n\nSubcommands:\n", messagesGroup.does)
		for _, s := range messageSubs {
			fmt.Fprintf(w, "  %-7s %s\n", s.name, s.does)
		}
		fmt.Fprintf(w, "\nExample:\n  %s\n\nRun 'tollgate product messages SUBCOMMAND --help' for its flags.\n", messagesGroup.example)
		if len(args) == 0 {
			return usageError("tollgate product messages needs a subcommand: %s", subs)
		}
		return flag.ErrHelp
	}
	name := "product messages " + args[0]
	var this sub
	for _, s := range messageSubs {
		if s.name == args[0] {
			this = s
		}
	}
	if this.name == "" {
		return usageError("unknown command %q; the subcommands are %s", name, subs)
	}
	fs := messageFlags(this, stderr)
	var data, lang *string
	if args[0] == "ids" {
		lang = fs.String("lang", i18n.Fallback, "the language of the texts: "+strings.Join(i18n.Languages(), ", "))
	} else {
		data = fs.String("data", "", "data directory (required)")
	}
	pos, err := parseFlags(fs, args[1:], stdout)
	if err != nil {
		return err
	}
	want := map[string]int{"set": 4, "unset": 3, "list": 1, "ids": 0}[args[0]]
	if len(pos) != want {
		return usageError("usage: tollgate %s", this.usage)
	}
	out := output{w: stdout, fs: fs}
	if args[0] == "ids" {
		return printCatalogue(out, *lang)
	}
	if err := needData(*data); err != nil {
		return err
	}
	code := strings.ToUpper(pos[0])
	if _, err := parseProductCode(code); err != nil {
		return err
	}
	switch args[0] {
	case "set":
		l, id, text := pos[1], pos[2], pos[3]
		// Checked here first, so that a mistake is told before the
		// gateway is asked; the store checks again.
		if err := i18n.CheckOverride(l, id, text); err != nil {
			return usageError("%v", err)
		}
		edit := func(c *adminapi.Client) error {
			p, err := c.Product(code)
			if err != nil {
				return err
			}
			if err := p.SetMessage(l, id, text); err != nil {
				return err
			}
			return c.UpdateProduct(p)
		}
		return withAdmin(*data, saying(out, edit, "product %s: message %s (%s) set; apps show it from their next lease", code, id, l))
	case "unset":
		l, id := pos[1], pos[2]
		edit := func(c *adminapi.Client) error {
			p, err := c.Product(code)
			if err != nil {
				return err
			}
			if !p.UnsetMessage(l, id) {
				return fmt.Errorf("%w: product %s has no text of its own for message %s (%s): 'tollgate product messages list' shows those it has", store.ErrNotFound, code, id, l)
			}
			return c.UpdateProduct(p)
		}
		return withAdmin(*data, saying(out, edit, "product %s: message %s (%s) unset; apps show the catalogue's text from their next lease", code, id, l))
	}
	list := func(c *adminapi.Client) ([]wire.LeaseMessage, error) {
		p, err := c.Product(code)
		return p.MessageList(), err
	}
	return withAdmin(*data, printing(out, list, func(ms []wire.LeaseMessage) any {
		entries := make([]messageEntry, 0, len(ms))
		for _, m := range ms {
			entries = append(entries, messageEntry{m.Lang, m.ID, m.Text})
		}
		return map[string]any{"product": code, "messages": entries}
	}, func(ms []wire.LeaseMessage) {
		if len(ms) == 0 {
			fmt.Fprintf(stdout, "product %s has no texts of its own: its apps show the catalogue's\n", code)
		}
		for _, m := range ms {
			fmt.Fprintf(stdout, "%s  %-36s %s\n", m.Lang, m.ID, m.Text)
		}
	}))
}

// printCatalogue prints the catalogue's ids and texts in lang.
func printCatalogue(out output, lang string) error {
	if !i18n.Has(lang) {
		return usageError("--lang %q: the catalogue's languages are %s", lang, strings.Join(i18n.Languages(), ", "))
	}
	var entries []catalogueEntry
	for _, id := range i18n.IDs() {
		text, _ := i18n.Lookup(lang, id)
		en, _ := i18n.Lookup(i18n.Fallback, id)
		entries = append(entries, catalogueEntry{ID: id, Text: text, Placeholders: i18n.Placeholders(en)})
	}
	if asJSON(out.fs) {
		return writeJSON(out.w, map[string]any{"language": lang, "messages": entries})
	}
	for _, e := range entries {
		fmt.Fprintf(out.w, "%-36s %s\n", e.ID, e.Text)
	}
	return nil
}
