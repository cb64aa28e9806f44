package process_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/altafinex-webhooks/receiver/internal/process"
)

// A retry resumes after the steps an earlier attempt completed: here the
// order was updated and the email sent before the event publication failed.
func ExampleSteps() {
	ctx := context.Background()
	steps := process.NewSteps([]string{"order", "email"})
	for _, name := range []string{"order", "email", "event"} {
		_ = steps.Run(ctx, name, func(context.Context) error {
			fmt.Println("running", name)
			return nil
		})
	}
	fmt.Println(steps.Completed(), steps.RanNow())
	// Output:
	// running event
	// [order email event] 1
}

func ExamplePermanent() {
	err := fmt.Errorf("step order: %w", process.Permanent(errors.New("no metadata.order_id")))
	fmt.Println(errors.Is(err, process.ErrPermanent), err)
	// Output: true step order: no metadata.order_id
}
