package hub

import "context"

// Transactor runs work in one database transaction. The transaction
// travels in the context InTx passes to fn: every store method called
// with that context (or one derived from it) runs in it, so the
// subdomains' narrow store ports need no transaction type of their own.
// hub/store implements it.
type Transactor interface {
	// InTx runs fn in one transaction, committed when fn returns nil and
	// rolled back otherwise. Called with a context that already carries a
	// transaction, fn joins it (and the outermost call commits).
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

type hooksKey struct{}

type hooks struct{ after []func(context.Context) }

// Tx runs fn in a transaction of t, joining one ctx already carries. Work
// registered with AfterCommit runs once the outermost transaction has
// committed, with a context that carries no transaction; none runs when
// it rolls back.
func Tx(ctx context.Context, t Transactor, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(hooksKey{}).(*hooks); ok {
		return t.InTx(ctx, fn)
	}
	h := &hooks{}
	if err := t.InTx(context.WithValue(ctx, hooksKey{}, h), func(ctx context.Context) error {
		h.after = h.after[:0] // a transaction the store ran again starts afresh
		return fn(ctx)
	}); err != nil {
		return err
	}
	for _, f := range h.after {
		f(ctx)
	}
	return nil
}

// AfterCommit runs f after the transaction ctx carries commits, or at
// once when ctx carries none (the write it follows is already durable).
func AfterCommit(ctx context.Context, f func(context.Context)) {
	if h, ok := ctx.Value(hooksKey{}).(*hooks); ok {
		h.after = append(h.after, f)
		return
	}
	f(ctx)
}
