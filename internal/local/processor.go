package local

import "context"

// startProcessor starts the processor's poller; until the processor lands
// it runs nothing.
func startProcessor(ctx context.Context, st Stack, env func(string) string, o Options) (stop func(), err error) {
	return func() {}, nil
}
