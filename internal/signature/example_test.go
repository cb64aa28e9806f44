package signature_test

import (
	"fmt"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/signature"
)

func ExampleSign() {
	body := []byte(`{"id":"evt_1"}`)
	fmt.Println(signature.Sign([]byte("whsec_example"), time.Unix(1795795495, 0), body))
	// Output: t=1795795495,v1=42741e6b85d70a9bd956b2adacc890e1f9001a055201929db0f1ed08f4221c1d
}

func ExampleVerifier_Verify() {
	body := []byte(`{"id":"evt_1"}`)
	header := signature.Sign([]byte("whsec_example"), time.Unix(1795795495, 0), body)

	v := &signature.Verifier{
		Secrets: [][]byte{[]byte("whsec_new"), []byte("whsec_example")}, // during a rotation
		Now:     func() time.Time { return time.Unix(1795795500, 0) },
	}
	fmt.Println(signature.Outcome(v.Verify(header, body)))
	fmt.Println(signature.Outcome(v.Verify(header, []byte(`{"id":"evt_2"}`))))

	v.Now = func() time.Time { return time.Unix(1795795796, 0) }
	err := v.Verify(header, body)
	fmt.Println(signature.Outcome(err))
	fmt.Println(err)
	// Output:
	// valid
	// signature_mismatch
	// timestamp_out_of_tolerance
	// signature: timestamp_out_of_tolerance: signed 301s ago (tolerance 300s)
}
