package clients

import (
	"errors"

	"github.com/tollgate/tollgate/wire"
)

// Reason says why a Decision came out as it did. The values are stable
// strings, fit for logs, JSON and a program's own messages.
type Reason string

// Reasons a license is honoured.
const (
	ReasonOK      Reason = "ok"      // the server confirmed the license just now
	ReasonOffline Reason = "offline" // the lease alone, within what the level allows
)

// Reasons a license is not honoured: definite answers.
const (
	ReasonNotActivated  Reason = "not-activated"   // no license in this state directory
	ReasonLeaseInvalid  Reason = "lease-invalid"   // the lease's signature does not verify: tampered or forged
	ReasonLeaseForeign  Reason = "lease-foreign"   // the lease belongs to another installation or license
	ReasonOtherMachine  Reason = "other-machine"   // the lease was issued for another machine
	ReasonWrongProduct  Reason = "wrong-product"   // the lease does not cover this product
	ReasonLeaseExpired  Reason = "lease-expired"   // the offline lease ran out and must be renewed online
	ReasonExpired       Reason = "license-expired" // the license term is over
	ReasonOnlineOverdue Reason = "online-overdue"  // level 3: the required server check is overdue
	ReasonClockBack     Reason = "clock-set-back"  // the clock is behind a time already seen
	ReasonRefused       Reason = "refused"         // the server refused (revoked, suspended, seat reset, ...); see Status
	// ReasonOtherLicense: Activate refused to replace the license of
	// another product that this state directory holds (its seat would stay
	// held); deactivate it first, or give this product its own directory.
	ReasonOtherLicense Reason = "other-license-held"
	// ReasonNoSeat: every seat of the key is in use on other machines (a
	// floating key's seats all checked out, or a node-locked key full);
	// Decision.RetryAt says when one frees up, when the server knows.
	ReasonNoSeat Reason = "no-seat"
	// ReasonTrialUsed: this machine already had its trial of the product.
	ReasonTrialUsed Reason = "trial-used"
	// ReasonNoTrial: the product offers no trial.
	ReasonNoTrial Reason = "no-trial"
	// ReasonBaseMissing: the license is a plug-in's, and the product it
	// extends is not licensed on this machine.
	ReasonBaseMissing Reason = "base-missing"
)

// Reasons nothing could be decided: no usable lease, and no answer from
// the server.
const (
	ReasonUnreachable Reason = "unreachable"  // no route, connection refused, no answer at all
	ReasonTimeout     Reason = "timeout"      // connected, but no answer in time
	ReasonServerError Reason = "server-error" // the server answered that it failed, or asked to retry later
	ReasonConnection  Reason = "connection"   // the connection broke or the answer was malformed
	ReasonWrongServer Reason = "wrong-server" // the server is not the one the card names
	// ReasonWrongCard: the server answered, but its lease is not signed by
	// a lease key of the server card: the card is wrong (another gateway's,
	// an old one) or was tampered with. Nothing can be licensed with this
	// card; Activate frees the seat the refused activation took.
	ReasonWrongCard Reason = "wrong-card"
)

// Decided reports whether r is an answer (licensed or not) rather than a
// failure to reach one.
func (r Reason) Decided() bool {
	switch r {
	case ReasonUnreachable, ReasonTimeout, ReasonServerError, ReasonConnection, ReasonWrongServer, ReasonWrongCard:
		return false
	}
	return true
}

// Decision is the answer of Check and Activate: whether the program may
// run, and if not why and what the user can do. Message, Action and
// Warning are plain sentences a program may show as they are, in the
// user's language (LicenseeConfig.Language; the product's own texts from
// its leases first, then the catalogue of package i18n, then English):
// MessageID names the message for good and Language says which language
// Message is in. Its JSON keys are snake_case; Status is the server's
// status as a number (tollgate-client prints its name as server_status).
type Decision struct {
	Allowed      bool            `json:"allowed"`
	Reason       Reason          `json:"reason"`
	Status       wire.Status     `json:"server_status,omitempty"` // the server's status, for ReasonRefused
	Message      string          `json:"message"`                 // what happened
	MessageID    string          `json:"message_id"`              // the message's stable id (i18n), such as "no-seat" or "refused.revoked"
	Language     string          `json:"language"`                // the language of Message: "de", "en", "es", "he", "ru", or a publisher's own
	Action       string          `json:"action,omitempty"`        // what the user can do; empty when nothing is needed
	Warning      string          `json:"warning,omitempty"`       // set when allowed but something needs attention soon
	Entitlements []string        `json:"entitlements"`            // the features granted; empty when not allowed
	Level        wire.LeaseLevel `json:"level,omitempty"`
	// RetryAt, when not zero, is when the refused request may succeed
	// (a floating seat frees up then): Unix seconds.
	RetryAt int64 `json:"retry_at,omitempty"`
	// Contact is the outcome of the server check this decision tried: ""
	// when it made none, ReasonOK when the server answered, or why it
	// could not be reached.
	Contact Reason `json:"contact,omitempty"`
	// Err is the underlying error, for logs; nil when allowed.
	Err error `json:"-"`
}

// Decided reports whether d is an answer, licensed or not, rather than a
// failure to reach one (a program may then retry, or run in a reduced
// mode).
func (d Decision) Decided() bool { return d.Allowed || d.Reason.Decided() }

// contactReason classifies a failed server request.
func contactReason(err error) Reason {
	var se *wire.StatusError
	switch {
	case err == nil:
		return ReasonOK
	case errors.As(err, &se):
		if se.Status.Retryable() {
			return ReasonServerError
		}
		return ReasonRefused
	case errors.Is(err, ErrUnreachable):
		return ReasonUnreachable
	case errors.Is(err, ErrTimeout):
		return ReasonTimeout
	case errors.Is(err, ErrHandshake):
		return ReasonWrongServer
	case errors.Is(err, ErrWrongCard):
		return ReasonWrongCard
	}
	return ReasonConnection
}

// messages gives each reason its sentence and the user's way out, in
// English: the code writes English, and localized tells each sentence in
// the user's language by its id (i18n.Recognize). A new sentence belongs
// in i18n/catalogue/en.json and the other languages too (TestSentencesInCatalogue).
var messages = map[Reason][2]string{
	ReasonOK:            {"The license is valid; the license server confirmed it.", ""},
	ReasonOffline:       {"The license is valid (checked offline against the saved lease).", ""},
	ReasonNotActivated:  {"No license is activated on this machine.", "Activate the program with your license key."},
	ReasonLeaseInvalid:  {"The saved license file has been altered or is not from this vendor's server.", "Connect to the internet so the program can fetch a new one, or activate again."},
	ReasonLeaseForeign:  {"The saved license file belongs to another installation.", "Activate the program on this machine with your license key."},
	ReasonOtherMachine:  {"The saved license was issued for another computer.", "Activate the program on this machine, or deactivate it on the other computer first."},
	ReasonWrongProduct:  {"The saved license is for another product.", "Activate the program with a license key for this product."},
	ReasonLeaseExpired:  {"The offline license has run out and must be renewed.", "Connect to the internet so the program can renew it."},
	ReasonExpired:       {"The license has expired.", "Renew the license with the vendor."},
	ReasonOnlineOverdue: {"The license must be checked with the license server, and the check is overdue.", "Connect to the internet and start the program again."},
	ReasonClockBack:     {"The computer's clock is set earlier than a time the license has already seen.", "Set the correct date and time, then start the program again."},
	ReasonRefused:       {"The license server refused the license.", "Contact the vendor if you believe this is wrong."},
	ReasonUnreachable:   {"The license server cannot be reached and there is no valid offline license.", "Check the internet connection and try again."},
	ReasonTimeout:       {"The license server did not answer in time and there is no valid offline license.", "Try again in a few minutes."},
	ReasonServerError:   {"The license server has a problem and there is no valid offline license.", "Try again later."},
	ReasonConnection:    {"The connection to the license server failed and there is no valid offline license.", "Check the internet connection and try again."},
	ReasonWrongServer:   {"The server that answered is not the vendor's license server.", "Check for a proxy or firewall that intercepts connections, or contact the vendor."},
	ReasonWrongCard:     {"The license server's lease is not signed by the key in this program's server card: the card is wrong (another server's, or out of date) or has been tampered with.", "Get the server card again from the vendor (reinstall the program), then activate again."},
	ReasonOtherLicense:  {"This license folder already holds the license of another product; activating here would replace it and leave its seat taken on the license server.", "Deactivate that license first, or keep this product's license in a folder of its own."},
	ReasonNoSeat:        {"Every seat of this license is in use on other computers.", "Close the program on another computer, or try again later."},
	ReasonTrialUsed:     {"This computer has already had its trial of the program.", "Buy a license key to go on using the program."},
	ReasonNoTrial:       {"This program offers no trial.", "Buy a license key to use the program."},
	ReasonBaseMissing:   {"This add-on needs the program it extends, and that program is not licensed on this computer.", "Activate the main program on this computer first, then the add-on."},
}

// refuse returns a refusal for reason r.
func refuse(r Reason, err error) Decision {
	m := messages[r]
	return Decision{Reason: r, Message: m[0], Action: m[1], Err: err}
}
