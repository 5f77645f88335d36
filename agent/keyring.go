package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/agentd/agentd/swim"
	swimdriver "github.com/agentd/agentd/swim/driver"
)

// /v1/operator/keyring: the gossip encryption keyring of every member of
// the pool, as Consul's (which asks every member through a serf query).
// Every member is a server here, so the agent asks each alive one over the
// server RPC (rpcKeyring; this agent directly) and sums the answers, as
// a WAN and a LAN entry (see operatorKeyring):
//
//	GET    list: per key, how many members hold it and how many use it
//	POST   install {"Key": k}: every member adds k for decryption
//	PUT    use {"Key": k}: every member encrypts with k
//	DELETE remove {"Key": k}: every member drops k (not the one in use)
//
// A change a member refused or could not be asked is a 500 naming the
// members and their errors (the others applied it, as in Consul).

// keyringOp is rpcKeyring's request.
type keyringOp struct {
	Op  string // "list", "install", "use" or "remove"
	Key string `json:",omitempty"`
}

// keyringAnswer is one member's answer to a list.
type keyringAnswer struct {
	Keys    []string // primary first
	Primary string
}

// keyringResponseJSON is Consul's api.KeyringResponse.
type keyringResponseJSON struct {
	WAN         bool
	Datacenter  string
	Segment     string
	Keys        map[string]int
	PrimaryKeys map[string]int
	NumNodes    int
}

var errNoKeyring = errors.New("gossip encryption is not enabled on this agent (no encrypt key)")

// localKeyring applies op to this agent's keyring.
func (a *Agent) localKeyring(op keyringOp) (keyringAnswer, error) {
	if a.cluster == nil || a.cluster.gossip == nil || a.cluster.gossip.Keyring() == nil {
		return keyringAnswer{}, errNoKeyring
	}
	kr := a.cluster.gossip.Keyring()
	var err error
	switch op.Op {
	case "list":
	case "install":
		err = kr.Install(op.Key)
	case "use":
		err = kr.Use(op.Key)
	case "remove":
		err = kr.Remove(op.Key)
	default:
		err = fmt.Errorf("unknown keyring operation %q", op.Op)
	}
	if err != nil {
		return keyringAnswer{}, err
	}
	return keyringAnswer{Keys: kr.List(), Primary: kr.Primary()}, nil
}

// handleKeyringRPC serves rpcKeyring.
func (a *Agent) handleKeyringRPC(req []byte) ([]byte, error) {
	var op keyringOp
	if err := json.Unmarshal(req, &op); err != nil {
		return nil, fmt.Errorf("keyring: bad request: %w", err)
	}
	ans, err := a.localKeyring(op)
	if err != nil {
		return nil, err
	}
	return json.Marshal(ans)
}

// keyringAll applies op on every alive member and returns each member's
// answer, and the errors by member name.
func (a *Agent) keyringAll(ctx context.Context, op keyringOp) (map[string]keyringAnswer, map[string]error) {
	answers, errs := map[string]keyringAnswer{}, map[string]error{}
	if a.cluster == nil {
		errs[a.cfg.NodeName] = errNoKeyring
		return answers, errs
	}
	req, _ := json.Marshal(op)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range a.cluster.gossip.Members() {
		if m.Status != swim.StatusAlive { // as a serf query reaches
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ans keyringAnswer
			var err error
			if m.Name == a.cfg.NodeName {
				ans, err = a.localKeyring(op)
			} else if _, addr, ok := a.serverRaftAddr(m); !ok {
				err = errors.New("not a server: cannot be asked")
			} else {
				var b []byte
				if b, err = a.cluster.tcp.Call(ctx, addr, rpcKeyring, req); err == nil {
					err = json.Unmarshal(b, &ans)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[m.Name] = err
			} else {
				answers[m.Name] = ans
			}
		}()
	}
	wg.Wait()
	return answers, errs
}

func (a *Agent) operatorKeyring(w http.ResponseWriter, r *http.Request) error {
	op := keyringOp{Op: "list"}
	switch r.Method {
	case http.MethodPost:
		op.Op = "install"
	case http.MethodPut:
		op.Op = "use"
	case http.MethodDelete:
		op.Op = "remove"
	}
	if op.Op != "list" {
		var body struct{ Key string }
		if err := decodeJSONBody(w, r, 4096, &body); err != nil {
			return err
		}
		if _, err := swimdriver.ParseKey(body.Key); err != nil {
			return errBadRequestf("Request decode failed: invalid key: %v", err)
		}
		op.Key = body.Key
	}
	answers, errs := a.keyringAll(r.Context(), op)
	if len(errs) > 0 {
		names := make([]string, 0, len(errs))
		for n := range errs {
			names = append(names, n)
		}
		sort.Strings(names)
		var b strings.Builder
		fmt.Fprintf(&b, "%d/%d nodes reported failure", len(errs), len(errs)+len(answers))
		for _, n := range names {
			fmt.Fprintf(&b, "\n%s: %v", n, errs[n])
		}
		return errStatus(http.StatusInternalServerError, "%s", b.String())
	}
	if op.Op != "list" {
		return nil
	}
	// Consul's servers answer for the WAN pool first, then the LAN. Every
	// member here is a server and agentd's WAN view is its LAN's servers,
	// sharing one keyring: the two entries count the same answers.
	lan := keyringResponseJSON{Datacenter: a.cfg.Datacenter, Keys: map[string]int{}, PrimaryKeys: map[string]int{}, NumNodes: len(answers)}
	for _, ans := range answers {
		for _, k := range ans.Keys {
			lan.Keys[k]++
		}
		lan.PrimaryKeys[ans.Primary]++
	}
	wan := lan
	wan.WAN = true
	return writeJSON(w, []keyringResponseJSON{wan, lan})
}
