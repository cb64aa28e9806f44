// Package bench holds the project's performance measurements that need
// modules the product does not: signature verification against peer
// libraries (stripe-go's webhook package and the Standard Webhooks Go
// library), and, under cmd/, the cold-start and load drivers behind
// `make bench-peers`, `make coldstart` and `make load`.
//
// It is a separate Go module (its go.mod replaces the receiver's module
// with ../), so none of these dependencies reach the product's go.mod.
// docs/performance.md records the figures and the commands.
package bench
