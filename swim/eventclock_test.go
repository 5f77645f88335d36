package swim

import "testing"

// A node restarted with its persisted event clock drops user events from
// before the restart (they were delivered in its previous life) and
// delivers newer ones; its own events continue from the clock.
func TestRestartEventClock(t *testing.T) {
	cfg := testConfig("me", newTestRand(1))
	cfg.EventClock = 100
	n, err := New(cfg, epoch)
	if err != nil {
		t.Fatal(err)
	}
	n.Ready()
	ev := func(lt LamportTime) *userEventMsg {
		return &userEventMsg{UserEvent{LTime: lt, Name: "e", Payload: []byte{byte(lt)}}}
	}
	feed(n, epoch, ev(42), ev(99), ev(100), ev(101))
	var got []LamportTime
	for _, e := range n.Ready().Events {
		got = append(got, e.User.LTime)
	}
	if len(got) != 2 || got[0] != 100 || got[1] != 101 {
		t.Errorf("delivered %v, want [100 101]", got)
	}
	if n.EventClock() != 102 {
		t.Errorf("EventClock %d, want 102", n.EventClock())
	}
}
