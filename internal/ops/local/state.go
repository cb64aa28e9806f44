package local

// The state file of `webhookctl local` says where the
// running local stack is (its webhook URL, the AWS emulator's endpoint, the
// names of its tables and queues) and the signing secret it accepts, so that
// the other webhookctl commands find it without exports or flags.
//
// The file lives in the user's cache directory, holds a secret and is
// therefore written with mode 0600 in a 0700 directory, and is removed when
// the stack stops. A file left behind by a stack that was killed is told
// apart by its process id: ReadState reports it as stale.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// StateDir and StateFileName place the state file:
// <user cache dir>/StateDir/StateFileName.
const (
	StateDir      = "altafinex-webhooks"
	StateFileName = "local.json"
)

// ErrNoState is returned by ReadState when no local stack has left a state
// file.
var ErrNoState = errors.New("no local stack is running (no state file)")

// ErrStaleState is returned by ReadState when the file's process is gone: the stack
// was killed before it could remove the file.
var ErrStaleState = errors.New("stale state file: its local stack is no longer running")

// State is what a running local stack records.
type State struct {
	PID         int    `json:"pid"`
	WebhookURL  string `json:"webhook_url"`  // e.g. http://127.0.0.1:3000/api/webhooks/payment
	Endpoint    string `json:"endpoint"`     // the AWS emulator
	Region      string `json:"region"`       //
	EventsTable string `json:"events_table"` //
	OrdersTable string `json:"orders_table"` //
	QueueURL    string `json:"queue_url"`    //
	DLQURL      string `json:"dlq_url"`      //
	Secret      string `json:"secret"`       // the first signing secret the stack accepts
	// EmailQueueURL and EmailDLQURL are the email queue and its
	// dead-letter queue; empty in the files of earlier versions.
	EmailQueueURL string `json:"email_queue_url,omitempty"`
	EmailDLQURL   string `json:"email_dlq_url,omitempty"`
}

// StatePath returns the state file's path under the user's cache directory
// ($XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches on macOS).
func StatePath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("state file: %w", err)
	}
	return filepath.Join(dir, StateDir, StateFileName), nil
}

// WriteState stores s at path, readable by its owner only. The file is written
// under a temporary name and renamed, so a reader never sees half of it.
func WriteState(path string, s State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), StateFileName+".*")
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	// CreateTemp makes the file 0600 already; say so for the reader.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("state file: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("state file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	return nil
}

// ReadState returns the state at path. It returns an error wrapping ErrNoState
// when there is no file, and one wrapping ErrStaleState (with the state read)
// when alive says the file's process is gone.
func ReadState(path string, alive func(pid int) bool) (State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, fmt.Errorf("%w: %s", ErrNoState, path)
	}
	if err != nil {
		return State{}, fmt.Errorf("state file: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("state file %s: %w", path, err)
	}
	if alive != nil && !alive(s.PID) {
		return s, fmt.Errorf("%w: %s (pid %d)", ErrStaleState, path, s.PID)
	}
	return s, nil
}

// RemoveState deletes the file at path if it still belongs to pid: a second
// stack started later may have replaced it, and its file stays.
func RemoveState(path string, pid int) error {
	s, err := ReadState(path, nil)
	if errors.Is(err, ErrNoState) {
		return nil
	}
	if err == nil && s.PID != pid {
		return nil
	}
	// Unreadable or ours: remove it.
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state file: %w", err)
	}
	return nil
}

// ProcessAlive reports whether a process with id pid exists (signal 0 reaches it,
// or it exists but belongs to another user).
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
