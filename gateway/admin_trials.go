package gateway

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

// trials lists the keyless trials of a product, or of all (trial.list).
func (a *Admin) trials(q adminapi.TrialQuery) (adminapi.TrialList, error) {
	code := strings.ToUpper(strings.TrimSpace(q.Product))
	if code != "" && !store.ValidProductCode(code) {
		return adminapi.TrialList{}, fmt.Errorf("%w: %q is not a valid product code: 5 characters of 0-9A-Z", ErrUsage, q.Product)
	}
	rows, err := service.Trials(a.St, code, a.now())
	if err != nil {
		return adminapi.TrialList{}, err
	}
	out := adminapi.TrialList{Trials: make([]adminapi.Trial, 0, len(rows)), Count: len(rows)}
	for _, r := range rows {
		out.Trials = append(out.Trials, adminapi.Trial{License: hex.EncodeToString(r.License[:]), Product: r.Product,
			Machine: r.Machine, Hostname: r.Hostname, Started: r.Started, Ends: r.Ends, Ended: r.Ended})
		if !r.Ended {
			out.Running++
		}
	}
	return out, nil
}
