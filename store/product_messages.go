package store

import (
	"fmt"
	"slices"

	"github.com/tollgate/tollgate/i18n"
	"github.com/tollgate/tollgate/wire"
)

// checkMessages reports whether p's message overrides are usable: each
// passes i18n.CheckOverride (a two-letter language, an id of the
// catalogue, plain text, no placeholder the message lacks), and all of
// them fit in a lease. Refusals are ErrInvalid with a sentence that says
// what to change.
func (p *Product) checkMessages() error {
	if len(p.Messages) == 0 {
		return nil
	}
	if err := i18n.Overrides(p.Messages).Check(); err != nil {
		return fmt.Errorf("%w: product %s: %w", ErrInvalid, p.Code, err)
	}
	if _, err := p.LeaseMessages(); err != nil {
		return fmt.Errorf("%w: product %s: %w", ErrInvalid, p.Code, err)
	}
	return nil
}

// LeaseMessages returns p's message overrides encoded for Lease.Messages
// (nil when it has none), or why they do not fit in a lease.
func (p *Product) LeaseMessages() ([]byte, error) {
	if len(p.Messages) == 0 {
		return nil, nil
	}
	var ms []wire.LeaseMessage
	for lang, texts := range p.Messages {
		for id, text := range texts {
			ms = append(ms, wire.LeaseMessage{Lang: lang, ID: id, Text: text})
		}
	}
	return wire.EncodeLeaseMessages(ms)
}

// SetMessage sets p's text of message id in language lang, checked as
// the store will check it (ErrInvalid, with what to change); the other
// overrides stay.
func (p *Product) SetMessage(lang, id, text string) error {
	if err := i18n.CheckOverride(lang, id, text); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	m := make(map[string]map[string]string, len(p.Messages)+1)
	for l, texts := range p.Messages {
		m[l] = make(map[string]string, len(texts)+1)
		for k, v := range texts {
			m[l][k] = v
		}
	}
	if m[lang] == nil {
		m[lang] = map[string]string{}
	}
	m[lang][id] = text
	old := p.Messages
	p.Messages = m
	if err := p.checkMessages(); err != nil {
		p.Messages = old
		return err
	}
	return nil
}

// UnsetMessage removes p's text of message id in language lang, so the
// catalogue's is shown again; it reports whether there was one.
func (p *Product) UnsetMessage(lang, id string) bool {
	if _, ok := p.Messages[lang][id]; !ok {
		return false
	}
	m := make(map[string]map[string]string, len(p.Messages))
	for l, texts := range p.Messages {
		for k, v := range texts {
			if l == lang && k == id {
				continue
			}
			if m[l] == nil {
				m[l] = map[string]string{}
			}
			m[l][k] = v
		}
	}
	if len(m) == 0 {
		m = nil
	}
	p.Messages = m
	return true
}

// MessageList returns p's message overrides sorted by language, then id.
func (p *Product) MessageList() []wire.LeaseMessage {
	var ms []wire.LeaseMessage
	for lang, texts := range p.Messages {
		for id, text := range texts {
			ms = append(ms, wire.LeaseMessage{Lang: lang, ID: id, Text: text})
		}
	}
	slices.SortFunc(ms, func(a, b wire.LeaseMessage) int {
		if a.Lang != b.Lang {
			if a.Lang < b.Lang {
				return -1
			}
			return 1
		}
		if a.ID < b.ID {
			return -1
		} else if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return ms
}
