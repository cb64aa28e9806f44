// Package awsprice holds the AWS list prices (us-east-1) the bench
// commands turn measurements into dollars with, each with its source and
// the date it was read, and the arithmetic of Lambda's bill.
package awsprice

import (
	"math"
	"time"
)

// Lambda on arm64, us-east-1, first tier (up to 7.5 billion GB-s a month).
// Source: aws.amazon.com/lambda/pricing (stored copy, read 2026-11-28:
// "$0.20 per 1M requests", arm duration $0.0000133334 per GB-second,
// "rounded up to the nearest 1 ms"); the same figures in
// lambda_local_runner's docs/lambdas-md/lambda-13-cost.md and cloudchipr.com
// (2024).
const (
	LambdaPerRequest  = 0.20 / 1e6   // dollars per request
	LambdaArmPerGBSec = 0.0000133334 // dollars per GB-second, arm64
	MBPerGB           = 1024         // Lambda's GB: 128 MB is 0.125 GB
	LambdaFreeReqs    = 1_000_000    // always-free requests a month
	LambdaFreeGBSec   = 400_000      // always-free GB-seconds a month
)

// BilledMs is Lambda's billed duration of d in milliseconds: rounded up to
// the next whole millisecond.
func BilledMs(d time.Duration) float64 {
	return math.Ceil(float64(d) / float64(time.Millisecond))
}

// GBSeconds is the compute one invocation of billedMs at memoryMB uses.
func GBSeconds(billedMs float64, memoryMB int) float64 {
	return billedMs / 1000 * float64(memoryMB) / MBPerGB
}

// LambdaPerMillionEvents is what a function costs per million events
// (requests and duration, no free tier) when one invocation of billedMs at
// memoryMB handles batch events.
func LambdaPerMillionEvents(billedMs float64, memoryMB, batch int) float64 {
	if batch < 1 {
		batch = 1
	}
	invocations := 1e6 / float64(batch)
	return invocations * (LambdaPerRequest + GBSeconds(billedMs, memoryMB)*LambdaArmPerGBSec)
}
