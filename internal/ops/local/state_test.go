package local_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/altafinex-webhooks/receiver/internal/ops/local"
)

func TestStateWriteReadRemove(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache", local.StateDir, local.StateFileName)
	if _, err := local.ReadState(path, nil); !errors.Is(err, local.ErrNoState) {
		t.Fatalf("Read before Write: %v, want ErrNoState", err)
	}
	want := local.State{PID: 42, WebhookURL: "http://127.0.0.1:3000/api/webhooks/payment", Endpoint: "http://127.0.0.1:5000", Secret: "whsec_x"}
	if err := local.WriteState(path, want); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("stat: %v, mode %o; want 600", err, info.Mode().Perm())
	}
	got, err := local.ReadState(path, func(pid int) bool { return pid == 42 })
	if err != nil || got != want {
		t.Fatalf("Read = %+v, %v; want %+v", got, err, want)
	}
	if _, err := local.ReadState(path, func(int) bool { return false }); !errors.Is(err, local.ErrStaleState) {
		t.Fatalf("Read with the process gone: %v, want ErrStale", err)
	}
	// Another stack's file stays; ours goes.
	if err := local.RemoveState(path, 7); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Remove by another pid removed the file: %v", err)
	}
	if err := local.RemoveState(path, 42); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("file still there after Remove by its pid: %v", err)
	}
	if err := local.RemoveState(path, 42); err != nil {
		t.Errorf("Remove of no file: %v", err)
	}
}

func TestProcessAlive(t *testing.T) {
	if !local.ProcessAlive(os.Getpid()) {
		t.Error("this process is not alive")
	}
	if local.ProcessAlive(0) || local.ProcessAlive(-1) {
		t.Error("pid 0 or -1 alive")
	}
}
