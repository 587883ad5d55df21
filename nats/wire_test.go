package nats

import (
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/ego-contrib/offsetstore/internal/natstest"
)

// TestSession_Get_ReturnsTheRetriedAnswer checks that a get the server
// first answers with "no stream leader" (10008), and answers with the
// message when asked again, returns the message: a responder on a
// subject of the test's stands for the stream's leader.
func TestSession_Get_ReturnsTheRetriedAnswer(t *testing.T) {
	c := natstest.RunServer(t)
	nc, err := nats.Connect(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var asked atomic.Int32
	sub, err := nc.Subscribe("test.msg.get", func(m *nats.Msg) {
		if asked.Add(1) == 1 {
			_ = m.Respond([]byte(`{"error":{"code":503,"err_code":10008,"description":"JetStream system temporarily unavailable"}}`))
			return
		}
		_ = m.Respond([]byte(`{"message":{"subject":"$KV.b.a.p","seq":7,"data":"MSAy"}}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	sess := &session{nc: nc, getSubject: "test.msg.get"}
	m, err := sess.last(t.Context(), "$KV.b.a.p")
	if err != nil || m == nil || m.seq != 7 || string(m.data) != "1 2" {
		t.Errorf("last(ctx, $KV.b.a.p) answered 10008, then message 7 = %+v, %v; want message 7 \"1 2\", <nil>: a retried get returns what the retry read", m, err)
	}
	if n := asked.Load(); n != 2 {
		t.Errorf("the get was asked %d times; want 2", n)
	}
}
