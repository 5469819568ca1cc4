package audit

import (
	"context"
	"sync"
)

// Notes collects, for one operation, what its changes did in words
// ("renamed the device Kitchen to Hall"): the customer sees them live
// during a remote assistance (ASSIST_ACTION). Safe for concurrent use.
type Notes struct {
	mu    sync.Mutex
	items []string
}

type notesKey struct{}

// WithNotes returns ctx carrying n: Note calls made with it add to n.
func WithNotes(ctx context.Context, n *Notes) context.Context {
	return context.WithValue(ctx, notesKey{}, n)
}

// Note adds text, what a change just written did, to the Notes ctx carries;
// without any it does nothing. Call it after the write succeeded. text must
// not hold a secret: the customer and the operator assisting it read it.
func Note(ctx context.Context, text string) {
	if n, ok := ctx.Value(notesKey{}).(*Notes); ok && text != "" {
		n.mu.Lock()
		n.items = append(n.items, text)
		n.mu.Unlock()
	}
}

// Items returns the notes added so far, oldest first.
func (n *Notes) Items() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.items...)
}
