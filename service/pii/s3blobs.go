package pii

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// maxBlob bounds what a Get reads back: photos are capped far below it at
// intake, so anything larger is not ours.
const maxBlob = 32 << 20

// S3Blobs keeps ID-card photos sealed as objects of an S3-compatible store
// (Tencent COS, Aliyun OSS, MinIO, SeaweedFS). Objects are sealed before
// they leave the process, with their key as associated data, and written
// private (no ACL, no public URL): the store holds ciphertext only.
//
// The client is minio-go: a small, maintained S3 client that speaks to
// every S3-compatible service, path-style or virtual-host, signing v4,
// with far fewer dependencies than the AWS SDK.
type S3Blobs struct {
	client *minio.Client
	bucket string
	prefix string
	seal   Sealer
}

// S3Location is where a REALNAME_BLOB_URL of s3://bucket/prefix?… points.
type S3Location struct {
	Endpoint  string // host:port
	Secure    bool   // https (the default)
	Region    string
	Bucket    string
	Prefix    string // object key prefix, ending in "/" when set
	PathStyle bool   // bucket in the path, not the host name
}

// ParseS3URL reads s3://bucket/prefix?endpoint=host:port&region=…&secure=false&path_style=true.
func ParseS3URL(raw string) (S3Location, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return S3Location{}, errors.New("pii: the blob URL must be s3://bucket/prefix?endpoint=host:port")
	}
	q := u.Query()
	loc := S3Location{Endpoint: q.Get("endpoint"), Region: q.Get("region"), Bucket: u.Host, Secure: true,
		Prefix: strings.Trim(u.Path, "/")}
	if loc.Endpoint == "" {
		return loc, errors.New("pii: the blob URL needs endpoint=host:port")
	}
	if loc.Prefix != "" {
		loc.Prefix += "/"
	}
	for key, dst := range map[string]*bool{"secure": &loc.Secure, "path_style": &loc.PathStyle} {
		if v := q.Get(key); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return loc, fmt.Errorf("pii: blob URL %s=%q is not true or false", key, v)
			}
			*dst = b
		}
	}
	return loc, nil
}

// NewS3Blobs connects to the store at loc with the access key pair and
// checks that the bucket exists.
func NewS3Blobs(ctx context.Context, loc S3Location, accessKey, secretKey string, seal Sealer) (*S3Blobs, error) {
	lookup := minio.BucketLookupDNS
	if loc.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(loc.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(accessKey, secretKey, ""), Secure: loc.Secure, Region: loc.Region, BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("pii: s3 client: %w", err)
	}
	ok, err := client.BucketExists(ctx, loc.Bucket)
	if err != nil {
		return nil, fmt.Errorf("pii: s3 bucket %s: %w", loc.Bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("pii: s3 bucket %s does not exist", loc.Bucket)
	}
	return &S3Blobs{client: client, bucket: loc.Bucket, prefix: loc.Prefix, seal: seal}, nil
}

func (b *S3Blobs) key(ref string) string { return b.prefix + ref }

// Put seals data and stores it as a new private object.
func (b *S3Blobs) Put(ctx context.Context, data []byte) (string, error) {
	ref := NewRef()
	return ref, b.PutRef(ctx, ref, data)
}

// PutRef seals data and stores it under ref (from NewRef).
func (b *S3Blobs) PutRef(ctx context.Context, ref string, data []byte) error {
	if !validRef(ref) {
		return ErrNoBlob
	}
	sealed, err := sealBlob(b.seal, ref, data)
	if err != nil {
		return err
	}
	return b.put(ctx, ref, sealed)
}

func (b *S3Blobs) put(ctx context.Context, ref string, sealed []byte) error {
	_, err := b.client.PutObject(ctx, b.bucket, b.key(ref), bytes.NewReader(sealed), int64(len(sealed)),
		minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("pii: write blob: %w", err)
	}
	return nil
}

// readSealed returns the object's bytes, or ErrNoBlob.
func (b *S3Blobs) readSealed(ctx context.Context, ref string) ([]byte, error) {
	if !validRef(ref) {
		return nil, ErrNoBlob
	}
	obj, err := b.client.GetObject(ctx, b.bucket, b.key(ref), minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("pii: read blob: %w", err)
	}
	defer obj.Close()
	sealed, err := io.ReadAll(io.LimitReader(obj, maxBlob+1))
	if err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil, ErrNoBlob
		}
		return nil, fmt.Errorf("pii: read blob: %w", err)
	}
	if len(sealed) > maxBlob {
		return nil, fmt.Errorf("pii: blob %s is over %d bytes", ref, maxBlob)
	}
	return sealed, nil
}

// Get returns the data stored under ref.
func (b *S3Blobs) Get(ctx context.Context, ref string) ([]byte, error) {
	sealed, err := b.readSealed(ctx, ref)
	if err != nil {
		return nil, err
	}
	return openBlob(b.seal, ref, sealed)
}

// Delete removes the object; a missing one is not an error.
func (b *S3Blobs) Delete(ctx context.Context, ref string) error {
	if !validRef(ref) {
		return nil
	}
	if err := b.client.RemoveObject(ctx, b.bucket, b.key(ref), minio.RemoveObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil
		}
		return fmt.Errorf("pii: delete blob: %w", err)
	}
	return nil
}

// Walk calls fn with the reference of every stored object.
func (b *S3Blobs) Walk(ctx context.Context, fn func(ref string) error) error {
	for obj := range b.client.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: b.prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("pii: list blobs: %w", obj.Err)
		}
		if ref := strings.TrimPrefix(obj.Key, b.prefix); validRef(ref) {
			if err := fn(ref); err != nil {
				return err
			}
		}
	}
	return nil
}

// Reseal re-encrypts the object with the primary key when needs says its
// current sealing is outdated. It reports whether it rewrote it.
func (b *S3Blobs) Reseal(ctx context.Context, ref string, needs func([]byte) bool) (bool, error) {
	sealed, err := b.readSealed(ctx, ref)
	if err != nil {
		return false, err
	}
	if !needs(sealed) {
		return false, nil
	}
	fresh, err := resealBlob(b.seal, ref, sealed)
	if err != nil {
		return false, err
	}
	return true, b.put(ctx, ref, fresh)
}

// Import stores sealed, already sealed under ref by a store that seals the
// same way (a FileBlobs being moved); an existing object is overwritten
// with the same bytes.
func (b *S3Blobs) Import(ctx context.Context, ref string, sealed []byte) error {
	if !validRef(ref) {
		return ErrNoBlob
	}
	return b.put(ctx, ref, sealed)
}
