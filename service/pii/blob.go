package pii

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoBlob means the blob was never stored or has been deleted.
var ErrNoBlob = errors.New("pii: no such blob")

// Sealer is the key ring as the blob store uses it.
type Sealer interface {
	Encrypt(plaintext, aad []byte) ([]byte, error)
	Decrypt(ciphertext, aad []byte) ([]byte, error)
}

// FileBlobs keeps ID-card photos as AES-GCM sealed files under a directory.
// Each file is sealed with its own name as associated data, so a file
// copied over another's name does not decrypt.
type FileBlobs struct {
	dir  string
	seal Sealer
}

// NewFileBlobs returns a store in dir, creating it (owner-only) if needed.
func NewFileBlobs(dir string, seal Sealer) (*FileBlobs, error) {
	b := &FileBlobs{dir: dir, seal: seal}
	// The staged directory with it, once, not on every upload.
	if err := os.MkdirAll(b.stagedDir(), 0o700); err != nil {
		return nil, fmt.Errorf("pii: blob dir: %w", err)
	}
	return b, nil
}

// validRef keeps refs to the names Put makes, so a ref from the database
// can never walk out of the directory.
func validRef(ref string) bool {
	if len(ref) != 32 {
		return false
	}
	_, err := hex.DecodeString(ref)
	return err == nil && strings.ToLower(ref) == ref
}

func (b *FileBlobs) path(ref string) string {
	return filepath.Join(b.dir, ref[:2], ref)
}

// NewRef is a fresh blob reference: 128 random bits in hex, the names
// every store accepts. A caller that must record a photo before writing
// it (the blob journal) takes one and writes with PutRef.
func NewRef() string {
	raw := make([]byte, 16)
	_, _ = rand.Read(raw)
	return hex.EncodeToString(raw)
}

// Put seals data and returns its reference.
func (b *FileBlobs) Put(ctx context.Context, data []byte) (string, error) {
	ref := NewRef()
	return ref, b.PutRef(ctx, ref, data)
}

// PutRef seals data and stores it under ref (from NewRef).
func (b *FileBlobs) PutRef(ctx context.Context, ref string, data []byte) error {
	sealed, err := b.sealRef(ctx, ref, data)
	if err != nil {
		return err
	}
	p := b.path(ref)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("pii: blob dir: %w", err)
	}
	// Write, sync, then rename: neither a crash of the process nor one of
	// the machine leaves a half-written or empty photo under a reference
	// the database holds. (Without the sync, a power loss after the rename
	// can leave the name pointing at no data.) At worst the rename itself is
	// lost, and the photo reads as missing.
	tmp := p + ".tmp"
	if err := writeSynced(tmp, sealed); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("pii: write blob: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("pii: write blob: %w", err)
	}
	return nil
}

// Get returns the data stored under ref.
func (b *FileBlobs) Get(ctx context.Context, ref string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sealed, err := b.ReadSealed(ref)
	if err != nil {
		return nil, err
	}
	return openBlob(b.seal, ref, sealed)
}

// Delete removes the blob; deleting a missing blob is not an error, so
// sweepers can retry safely.
func (b *FileBlobs) Delete(ctx context.Context, ref string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validRef(ref) {
		return nil
	}
	for _, p := range []string{b.path(ref), b.stagedPath(ref)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("pii: delete blob: %w", err)
		}
	}
	return nil
}

// Walk calls fn with the reference of every stored blob.
func (b *FileBlobs) Walk(ctx context.Context, fn func(ref string) error) error {
	return filepath.WalkDir(b.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if d.IsDir() && path == b.stagedDir() {
			return filepath.SkipDir // not stored until published
		}
		if d.IsDir() || !validRef(d.Name()) {
			return nil
		}
		return fn(d.Name())
	})
}

// sealRef checks ref (from NewRef) and seals data for it: what PutRef and
// Stage do before they write.
func (b *FileBlobs) sealRef(ctx context.Context, ref string, data []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !validRef(ref) {
		return nil, ErrNoBlob
	}
	return sealBlob(b.seal, ref, data)
}

// Reseal re-encrypts the blob with the primary key when needs says its
// current sealing is outdated. It reports whether it rewrote the file.
func (b *FileBlobs) Reseal(ctx context.Context, ref string, needs func([]byte) bool) (bool, error) {
	if !validRef(ref) {
		return false, ErrNoBlob
	}
	p := b.path(ref)
	sealed, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) && b.Publish(ref) == nil {
		// Named by a step whose process died before publishing it.
		sealed, err = os.ReadFile(p)
	}
	if err != nil {
		return false, fmt.Errorf("pii: read blob: %w", err)
	}
	if !needs(sealed) {
		return false, nil
	}
	fresh, err := resealBlob(b.seal, ref, sealed)
	if err != nil {
		return false, err
	}
	// Synced before the rename replaces the only copy (see Put).
	tmp := p + ".tmp"
	if err := writeSynced(tmp, fresh); err != nil {
		_ = os.Remove(tmp)
		return false, err
	}
	return true, os.Rename(tmp, p)
}

// writeSynced writes data to a new file at path and flushes it to disk.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadSealed returns the stored bytes of ref as they are, sealed, for a
// move to another store that seals the same way.
func (b *FileBlobs) ReadSealed(ref string) ([]byte, error) {
	if !validRef(ref) {
		return nil, ErrNoBlob
	}
	sealed, err := os.ReadFile(b.path(ref))
	if errors.Is(err, os.ErrNotExist) {
		// Named by a step whose commit was not followed by Publish (a
		// crash in between): still staged until the sweeper publishes it.
		sealed, err = os.ReadFile(b.stagedPath(ref))
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoBlob
	}
	if err != nil {
		return nil, fmt.Errorf("pii: read blob: %w", err)
	}
	return sealed, nil
}

// blobAAD binds a sealed photo to its reference, so a copy stored under
// another reference does not open.
func blobAAD(ref string) []byte { return []byte("blob:" + ref) }

// sealBlob seals data for storage under ref.
func sealBlob(seal Sealer, ref string, data []byte) ([]byte, error) {
	sealed, err := seal.Encrypt(data, blobAAD(ref))
	if err != nil {
		return nil, fmt.Errorf("pii: seal blob: %w", err)
	}
	return sealed, nil
}

// openBlob opens what is stored under ref.
func openBlob(seal Sealer, ref string, sealed []byte) ([]byte, error) {
	data, err := seal.Decrypt(sealed, blobAAD(ref))
	if err != nil {
		return nil, fmt.Errorf("pii: open blob: %w", err)
	}
	return data, nil
}

// resealBlob opens what is stored under ref and seals it again with the
// primary key.
func resealBlob(seal Sealer, ref string, sealed []byte) ([]byte, error) {
	data, err := openBlob(seal, ref, sealed)
	if err != nil {
		return nil, err
	}
	return sealBlob(seal, ref, data)
}
