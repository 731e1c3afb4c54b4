package authz

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// fileStoreStepHook, when set, is called after each step of a change to a policy file: the crash
// test sets it to pause, so that the kills it sends land between any two steps.
var fileStoreStepHook func(step string)

func afterStep(step string) {
	if fileStoreStepHook != nil {
		fileStoreStepHook(step)
	}
}

// DefaultPollInterval is how often a FileStore's Watch looks at the policy file.
const DefaultPollInterval = time.Second

// FileStore is the embedded Store: the policy in a policy file that people also edit by hand
// (see ParsePolicyFile), and the audit log in a JSON-lines file beside it, path+".audit.jsonl".
// A FileStore made by NewMemoryStore keeps both in memory instead.
//
// The store edits the policy file the way a careful person would: a new rule or API key is a
// line appended at the end, a removed rule is exactly its line deleted, a revoked key is its
// line rewritten with REVOKED_AT set, and every other byte (comments, blank lines, order, line
// breaks) stays as it was. It reads the file again for every call, so edits by hand take effect
// at once; a file that no longer parses fails Load and Apply with a *PolicyFileError and is not
// written to.
//
// Crash safety. A change takes three durable steps: the new policy file is written beside the
// old one (path+".koujing-tmp") and synced; the change's audit record, which carries the
// SHA-256 of the policy file before and after the change, is appended to the audit log and
// synced; the new file is renamed over the old one and the directory synced. The audit record
// is the commit point, as in a write-ahead log. Before each call the store checks the last
// record it has not checked yet against the policy file:
//
//   - the file has the record's after-content, or content neither before nor after (edited by
//     hand since): the change is in the file;
//   - the file has the record's before-content and the temporary file the after-content: the
//     process stopped between the record and the rename, and the store finishes the change by
//     renaming (rolling forward);
//   - the file has the record's before-content and the temporary file is gone (a power failure
//     lost it before the directory was synced): the change cannot be finished, so the store
//     appends a compensating record marking it not applied, and Audit leaves both out.
//
// A temporary file that no record accounts for is removed, and a record cut short at the end of
// the log is cut off. So after a crash at any instant the policy file and the audit log agree.
// (A hand edit that restores exactly the content before the last change, made before the store
// has checked that change, reads as the third case.)
//
// When path is a symbolic link, the store works on the file it points to, and the audit log and
// lock file are beside that file.
//
// A FileStore is safe for concurrent use. Processes sharing one file are serialised by an
// advisory lock on path+".lock" (flock, on Unix systems; elsewhere several processes must not
// write one file at once). A person saving the policy file in the milliseconds between the
// store reading it and renaming the new one over it loses that edit.
type FileStore struct {
	path, auditPath, tempPath string
	poll                      time.Duration

	mu     sync.Mutex
	closed bool
	// lock is the open lock file; nil in memory.
	lock *os.File
	// memory is the whole state of a store in memory; nil for a file.
	memory *State
	// log is the audit log as far as it has been read.
	log auditLog
	// checkedSeq is the last change record checked against the policy file.
	checkedSeq int64
	// known is the policy file as the store last read or wrote it, and changes counts the
	// times it has found it otherwise: changes made by someone else, which Watch reports.
	known   fileStamp
	changes uint64

	stopWatching context.CancelFunc
	watchersCtx  context.Context
	watchers     sync.WaitGroup
}

var _ Store = (*FileStore)(nil)

// FileStoreOption changes how OpenFileStore opens a store.
type FileStoreOption func(*FileStore)

// WithPollInterval sets how often Watch looks at the policy file for changes made by others;
// DefaultPollInterval unless set.
func WithPollInterval(d time.Duration) FileStoreOption {
	return func(s *FileStore) {
		if d > 0 {
			s.poll = d
		}
	}
}

// OpenFileStore opens the policy file at path, creating it empty if it does not exist, and
// brings it and its audit log into agreement after a crash (see FileStore). A file that does not
// parse gives a *PolicyFileError listing every problem with its line, and no store. A path of ""
// gives a store in memory, as NewMemoryStore(nil).
func OpenFileStore(path string, opts ...FileStoreOption) (*FileStore, error) {
	if path == "" {
		return NewMemoryStore(nil), nil
	}
	s := newFileStore()
	s.path = path
	for _, o := range opts {
		o(s)
	}
	if err := createEmpty(path); err != nil {
		return nil, s.unavailable("create the policy file", err)
	}
	// A link to the policy file stays a link: the store replaces the file it points to.
	path, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, s.unavailable("resolve the path", err)
	}
	s.path, s.auditPath, s.tempPath = path, path+".audit.jsonl", path+".koujing-tmp"
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, s.unavailable("open the lock file", err)
	}
	s.lock = lock
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := s.lockFile()
	if err == nil {
		_, err = s.load()
		unlock()
	}
	if err != nil {
		s.closeLocked()
		return nil, err
	}
	return s, nil
}

// NewMemoryStore returns a store that keeps the policy and the audit log in memory, starting from
// a copy of initial (nil for none), such as the demo's policy. Nothing is checked or kept beyond
// the store's life, and Watch never reports a change.
func NewMemoryStore(initial *State) *FileStore {
	s := newFileStore()
	s.memory = &State{}
	if initial != nil {
		s.memory = cloneState(initial)
	}
	return s
}

func newFileStore() *FileStore {
	s := &FileStore{poll: DefaultPollInterval}
	s.watchersCtx, s.stopWatching = context.WithCancel(context.Background())
	return s
}

// Load returns every tenant's rules, with the lines they are on, and API keys.
func (s *FileStore) Load(ctx context.Context) (*State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return nil, err
	}
	if s.memory != nil {
		return cloneState(s.memory), nil
	}
	unlock, err := s.lockFile()
	if err != nil {
		return nil, err
	}
	defer unlock()
	f, err := s.load()
	if err != nil {
		return nil, err
	}
	return f.state, nil
}

// Apply makes the change in the policy file and appends its audit record; see FileStore for how
// the two stay together.
func (s *FileStore) Apply(ctx context.Context, c Change) (AuditRecord, error) {
	if err := ctx.Err(); err != nil {
		return AuditRecord{}, err
	}
	c, err := prepareChange(c, time.Now())
	if err != nil {
		return AuditRecord{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return AuditRecord{}, err
	}
	if s.memory != nil {
		if err := applyToState(s.memory, &c); err != nil {
			return AuditRecord{}, err
		}
		rec := auditOf(c)
		rec.Seq = s.log.lastSeq + 1
		s.log.add(changeLine(rec))
		return rec, nil
	}
	unlock, err := s.lockFile()
	if err != nil {
		return AuditRecord{}, err
	}
	defer unlock()
	f, err := s.load()
	if err != nil {
		return AuditRecord{}, fmt.Errorf("%s: %w", c.Op, err)
	}
	return s.applyToFile(f, c)
}

// Audit returns the tenant's audit records after q.AfterSeq, oldest first, leaving out changes
// that never reached the policy file.
func (s *FileStore) Audit(ctx context.Context, q AuditQuery) ([]AuditRecord, error) {
	limit, err := auditLimit(q)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return nil, err
	}
	if s.memory == nil {
		unlock, err := s.lockFile()
		if err != nil {
			return nil, err
		}
		defer unlock()
		if _, err := s.reconcile(); err != nil {
			return nil, err
		}
	}
	var out []AuditRecord
	for _, r := range s.log.records {
		if r.Tenant == q.Tenant && r.Seq > q.AfterSeq && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

// Watch looks at the policy file's size, modification time and identity every poll interval
// and calls changed when someone other than this store changed it: a person, another process,
// or another FileStore on the same file. It returns at once; the calls stop when ctx ends or the
// store is closed. A store in memory never calls changed.
func (s *FileStore) Watch(ctx context.Context, changed func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if s.memory != nil {
		return nil
	}
	seen := s.changes
	s.watchers.Add(1)
	go func() {
		defer s.watchers.Done()
		tick := time.NewTicker(s.poll)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.watchersCtx.Done():
				return
			case <-tick.C:
			}
			if n := s.lookForChanges(); n != seen {
				seen = n
				changed()
			}
		}
	}()
	return nil
}

// Close stops the store's watchers and releases its lock file. Calls after Close fail.
func (s *FileStore) Close() error {
	s.mu.Lock()
	s.closeLocked()
	s.mu.Unlock()
	s.watchers.Wait()
	return nil
}

func (s *FileStore) closeLocked() {
	s.closed = true
	s.stopWatching()
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

func (s *FileStore) usable() error {
	if s.closed {
		return fmt.Errorf("%w: the policy store %s is closed", ErrStoreUnavailable, s.path)
	}
	return nil
}

func (s *FileStore) unavailable(what string, err error) error {
	return fmt.Errorf("policy file %s: %s: %w: %w", s.path, what, ErrStoreUnavailable, err)
}

// lookForChanges notices a change to the policy file made by someone else and returns how many
// such changes the store has noticed.
func (s *FileStore) lookForChanges() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.notice(statFile(s.path))
	}
	return s.changes
}

// notice records that the policy file is now as stamp says; a difference from what the store
// last read or wrote is a change made by someone else.
func (s *FileStore) notice(stamp fileStamp) {
	if !stamp.same(s.known) {
		s.known = stamp
		s.changes++
	}
}

// policyFile is the policy file's content as read, and what it holds.
type policyFile struct {
	data  []byte
	state *State
}

// load brings the store up to date with its files (see reconcile) and reads the policy file.
// The caller holds s.mu and the file lock.
func (s *FileStore) load() (policyFile, error) {
	data, err := s.reconcile()
	if err != nil {
		return policyFile{}, err
	}
	st, err := ParsePolicyFile(s.path, data)
	if err != nil {
		return policyFile{}, err
	}
	return policyFile{data: data, state: st}, nil
}

// reconcile reads what is new in the audit log and the policy file, checks the last change
// record against the policy file as the FileStore comment describes, and returns the policy
// file's content. It writes only when a crash left a change half made. The caller holds s.mu
// and the file lock.
func (s *FileStore) reconcile() ([]byte, error) {
	if err := s.readAuditLog(); err != nil {
		return nil, err
	}
	stamp := statFile(s.path)
	data, err := os.ReadFile(s.path)
	if err != nil {
		return nil, s.unavailable("read", err)
	}
	s.notice(stamp)
	temp, err := os.ReadFile(s.tempPath)
	tempFound := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, s.unavailable("read the temporary file", err)
	}
	last := s.log.last
	if last.Seq > s.checkedSeq && last.Voids == 0 && last.After != "" {
		switch now := contentHash(data); {
		case now != last.Before:
			// The change is in the file, or the file was edited by hand after it.
		case tempFound && contentHash(temp) == last.After:
			if err := os.Rename(s.tempPath, s.path); err != nil {
				return nil, s.unavailable("finish the change interrupted by a crash", err)
			}
			syncDir(s.path)
			tempFound = false
			data = temp
			s.notice(statFile(s.path))
		default:
			if err := s.appendAuditLog(voidLine(s.log.lastSeq+1, storeTime(time.Now()), last.Seq)); err != nil {
				return nil, err
			}
		}
		s.checkedSeq = last.Seq
	}
	if tempFound {
		// A change that stopped before its audit record was written: it never happened.
		if err := os.Remove(s.tempPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, s.unavailable("remove the temporary file", err)
		}
	}
	return data, nil
}

// applyToFile makes a prepared change to the policy file f and appends its audit record. The
// caller holds s.mu and the file lock.
func (s *FileStore) applyToFile(f policyFile, c Change) (AuditRecord, error) {
	if err := applyToState(f.state, &c); err != nil {
		return AuditRecord{}, err
	}
	next, err := editPolicyFile(f.data, c)
	if err == nil {
		err = checkEdit(s.path, next, f.state)
	}
	if err != nil {
		return AuditRecord{}, fmt.Errorf("%s: edit the policy file %s: %w; nothing was changed", c.Op, s.path, err)
	}
	rec := auditOf(c)
	rec.Seq = s.log.lastSeq + 1
	mode := fs.FileMode(0o600)
	if s.known.info != nil {
		mode = s.known.info.Mode().Perm()
	}
	if err := writeSynced(s.tempPath, next, mode); err != nil {
		os.Remove(s.tempPath)
		return AuditRecord{}, s.unavailable("write the new policy file", err)
	}
	afterStep("temporary file written")
	line := changeLine(rec)
	line.Before, line.After = contentHash(f.data), contentHash(next)
	if err := s.appendAuditLog(line); err != nil {
		os.Remove(s.tempPath)
		return AuditRecord{}, err
	}
	afterStep("audit record written")
	if err := os.Rename(s.tempPath, s.path); err != nil {
		// The record is written but its change cannot be made. Without the temporary file the
		// next reconcile would find the policy file as it was before the change and mark the
		// record not applied; mark it now if the log can be written.
		os.Remove(s.tempPath)
		if s.appendAuditLog(voidLine(rec.Seq+1, rec.At, rec.Seq)) == nil {
			s.checkedSeq = rec.Seq
		}
		return AuditRecord{}, s.unavailable("replace the policy file", err)
	}
	// If the directory cannot be synced the change is made and visible but may not survive a
	// power failure; failing the call would tell the caller it was not made, which is worse.
	afterStep("policy file replaced")
	syncDir(s.path)
	s.known = statFile(s.path)
	s.checkedSeq = rec.Seq
	return rec, nil
}

// editPolicyFile returns the policy file data with the applied change c made, every other line
// left as it was.
func editPolicyFile(data []byte, c Change) ([]byte, error) {
	var line string
	var match func(fields []string) bool
	switch c.Op {
	case AddRule:
		return appendLine(data, c.Rule.String()), nil
	case CreateAPIKey:
		return appendLine(data, FormatAPIKeyLine(c.Key)), nil
	case RemoveRule:
		key := c.Rule.Key()
		match = func(fields []string) bool {
			if strings.TrimSpace(fields[0]) == apiKeyKind {
				return false
			}
			r, err := ParseRule(fields)
			return err == nil && r.Key() == key
		}
	case RevokeAPIKey:
		line = FormatAPIKeyLine(c.Key)
		match = func(fields []string) bool {
			return len(fields) > 2 && strings.TrimSpace(fields[0]) == apiKeyKind &&
				strings.TrimSpace(fields[1]) == c.Key.Tenant && strings.TrimSpace(fields[2]) == c.Key.ID
		}
	}
	start, end, err := findRecord(data, match)
	if err != nil {
		return nil, err
	}
	if line != "" {
		line += string(lineBreak(data[start:end]))
	}
	return slices.Concat(data[:start], []byte(line), data[end:]), nil
}

// findRecord returns where the first record of data that match accepts starts and ends, line
// breaks included. A record is usually one line, but a quoted field may hold line breaks.
func findRecord(data []byte, match func(fields []string) bool) (start, end int, err error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	for {
		fields, err := r.Read()
		if err != nil {
			return 0, 0, fmt.Errorf("find the line to change: %w", err)
		}
		if match(fields) {
			line, _ := r.FieldPos(0)
			return lineStart(data, line), int(r.InputOffset()), nil
		}
	}
}

// lineStart returns the offset of the first byte of line n (from 1) of data.
func lineStart(data []byte, n int) int {
	off := 0
	for ; n > 1; n-- {
		off += bytes.IndexByte(data[off:], '\n') + 1
	}
	return off
}

// appendLine returns data with line added at its end, ended the way the file's lines end.
func appendLine(data []byte, line string) []byte {
	br := lineBreak(data)
	out := slices.Clip(data)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, br...)
	}
	out = append(out, line...)
	return append(out, br...)
}

// lineBreak returns how the first line of data ends: "\r\n" or "\n" (also when it does not end).
func lineBreak(data []byte) []byte {
	if i := bytes.IndexByte(data, '\n'); i > 0 && data[i-1] == '\r' {
		return []byte("\r\n")
	}
	return []byte("\n")
}

// checkEdit checks that the edited policy file reads back as exactly the state the change
// makes, so that the file never disagrees with its audit log.
func checkEdit(name string, data []byte, want *State) error {
	got, err := ParsePolicyFile(name, data)
	if err != nil {
		return err
	}
	ruleKeys := func(st *State) []string {
		keys := make([]string, len(st.Rules))
		for i, r := range st.Rules {
			keys[i] = r.Key()
		}
		return keys
	}
	keyLines := func(st *State) []string {
		lines := make([]string, len(st.Keys))
		for i, k := range st.Keys {
			lines[i] = FormatAPIKeyLine(k)
		}
		return lines
	}
	if !slices.Equal(ruleKeys(got), ruleKeys(want)) || !slices.Equal(keyLines(got), keyLines(want)) {
		return errors.New("the edited file does not read back as the changed policy")
	}
	return nil
}

// auditLog is the audit log as the store has read it.
type auditLog struct {
	// records are the change records in order, without those marked not applied.
	records []AuditRecord
	lastSeq int64
	// last is the last line read; size is the bytes read, up to the end of that line, and lines
	// how many lines they hold.
	last  auditLine
	size  int64
	lines int
}

// auditLine is one line of the audit log file: a change record with the SHA-256 (hex) of the
// policy file before and after the change, or a compensating record, which sets Voids to the
// sequence number of a change that never reached the policy file.
type auditLine struct {
	Seq    int64     `json:"seq"`
	At     time.Time `json:"at"`
	Tenant string    `json:"tenant,omitempty"`
	Actor  string    `json:"actor,omitempty"`
	Op     ChangeOp  `json:"op,omitempty"`
	Detail string    `json:"detail,omitempty"`
	Before string    `json:"before,omitempty"`
	After  string    `json:"after,omitempty"`
	Voids  int64     `json:"voids,omitempty"`
}

func changeLine(r AuditRecord) auditLine {
	return auditLine{Seq: r.Seq, At: r.At, Tenant: r.Tenant, Actor: r.Actor, Op: r.Op, Detail: r.Detail}
}

func voidLine(seq int64, at time.Time, voids int64) auditLine {
	return auditLine{Seq: seq, At: at, Voids: voids}
}

func (l *auditLog) add(line auditLine) {
	l.lastSeq = max(l.lastSeq, line.Seq)
	l.last = line
	if line.Voids == 0 {
		l.records = append(l.records, AuditRecord{Seq: line.Seq, At: line.At, Tenant: line.Tenant, Actor: line.Actor, Op: line.Op, Detail: line.Detail})
		return
	}
	l.records = slices.DeleteFunc(l.records, func(r AuditRecord) bool { return r.Seq == line.Voids })
}

// readAuditLog reads the lines appended to the audit log since it last did. A last line without
// its line break is a record cut short by a crash: it is left unread, and the next append
// writes over it.
func (s *FileStore) readAuditLog() error {
	f, err := os.Open(s.auditPath)
	if errors.Is(err, fs.ErrNotExist) {
		s.log = auditLog{}
		return nil
	}
	if err != nil {
		return s.unavailable("open the audit log", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return s.unavailable("read the audit log", err)
	}
	if info.Size() < s.log.size {
		// Only a person shortens the log; read it again from the start.
		s.log = auditLog{}
	}
	if info.Size() == s.log.size {
		return nil
	}
	data, err := io.ReadAll(io.NewSectionReader(f, s.log.size, info.Size()-s.log.size))
	if err != nil {
		return s.unavailable("read the audit log", err)
	}
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return nil
		}
		var line auditLine
		if err := json.Unmarshal(data[:i], &line); err != nil || line.Seq <= s.log.lastSeq {
			return fmt.Errorf("%w: audit log %s: line %d is not a record following record %d; the log is damaged: %v",
				ErrStoreUnavailable, s.auditPath, s.log.lines+1, s.log.lastSeq, err)
		}
		s.log.add(line)
		s.log.size += int64(i + 1)
		s.log.lines++
		data = data[i+1:]
	}
}

// appendAuditLog writes line at the end of the audit log, over a record cut short by a crash if
// there is one, and syncs it.
func (s *FileStore) appendAuditLog(line auditLine) error {
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("audit log %s: %w", s.auditPath, err)
	}
	b = append(b, '\n')
	f, err := os.OpenFile(s.auditPath, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return s.unavailable("open the audit log", err)
	}
	defer f.Close()
	err = f.Truncate(s.log.size)
	if err == nil {
		_, err = f.WriteAt(b, s.log.size)
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		// Best effort: a record that was not synced is not written.
		f.Truncate(s.log.size)
		return s.unavailable("append to the audit log", err)
	}
	s.log.add(line)
	s.log.size += int64(len(b))
	s.log.lines++
	return nil
}

// contentHash is the SHA-256 of a policy file's content, in hex, as audit records carry it.
func contentHash(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// fileStamp is what Watch compares to tell that a file changed: its identity (a replaced file
// is another file), size and modification time. info is nil when the file could not be read.
type fileStamp struct{ info fs.FileInfo }

func statFile(path string) fileStamp {
	info, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{info}
}

func (a fileStamp) same(b fileStamp) bool {
	if a.info == nil || b.info == nil {
		return a.info == b.info
	}
	return os.SameFile(a.info, b.info) && a.info.Size() == b.info.Size() && a.info.ModTime().Equal(b.info.ModTime())
}

// createEmpty creates an empty file at path unless there is one.
func createEmpty(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	syncDir(path)
	return err
}

// writeSynced writes data to a new file at path and syncs it.
func writeSynced(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir syncs the directory holding path, so that a file created or renamed in it survives a
// power failure. Errors are ignored: some systems cannot sync a directory, and the change is
// made either way.
func syncDir(path string) {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}

// lockFile takes the advisory lock that serialises processes writing the same policy file and
// returns its release.
func (s *FileStore) lockFile() (unlock func(), err error) {
	if err := lockExclusive(s.lock); err != nil {
		return nil, s.unavailable("lock", err)
	}
	return func() { unlockFile(s.lock) }, nil
}
