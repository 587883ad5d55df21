package offsetstoretest

import "github.com/ego-contrib/offsetstore"

// wantUsable reports unless an offset written now can be read back.
func (h *harness) wantUsable() {
	h.t.Helper()
	o := newOffset("p", 1, 5, 10)
	h.write(o)
	h.wantStored(o)
}

func testConnectTwice(h *harness) {
	h.must(connectCall)
	h.must(connectCall)
	h.wantUsable()
}

func testDisconnectTwice(h *harness) {
	h.must(disconnectCall)
	h.must(disconnectCall)
}

func testDisconnectNeverConnected(h *harness) {
	h.must(disconnectCall)
}

func testPingConnects(h *harness) {
	h.must(pingCall)
	h.wantUsable()
	h.must(disconnectCall)
	h.must(pingCall)
	h.wantUsable()
}

func testPingConnected(h *harness) {
	h.must(pingCall)
	h.wantUsable()
}

// dataCalls are one call of each method that reads or changes offsets.
func dataCalls() []call {
	return []call{
		writeCall(newOffset("p", 1, 5, 10)),
		getCall(newID("p", 1)),
		resetCall("p", 7),
	}
}

func testNotConnectedBeforeConnect(h *harness) {
	for _, c := range dataCalls() {
		h.wantErr(h.t.Context(), c, offsetstore.ErrNotConnected)
	}
	// Only a store that was never connected is sure to be empty once
	// connected; one that was connected before may drop its offsets on
	// Disconnect or keep them.
	h.must(connectCall)
	h.wantOffset("p", 1, nil)
}

func testNotConnectedAfterDisconnect(h *harness) {
	h.write(newOffset("p", 1, 1, 1))
	h.must(disconnectCall)
	for _, c := range dataCalls() {
		h.wantErr(h.t.Context(), c, offsetstore.ErrNotConnected)
	}
}
