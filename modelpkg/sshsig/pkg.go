package sshsig

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/modelvault/modelvault/modelpkg"
)

// SignFunc signs a manifest's bytes and returns the armored signature.
// [KeySigner] signs in process; a host may instead run `ssh-keygen -Y
// sign` (agent or hardware keys), as modelctl does.
type SignFunc func(manifest []byte) ([]byte, error)

// KeySigner returns a SignFunc that signs with key (an ssh.Signer or a
// crypto.Signer) for [Namespace].
func KeySigner(key any) SignFunc {
	return func(manifest []byte) ([]byte, error) {
		return Sign(key, Namespace, bytes.NewReader(manifest))
	}
}

// maxManifest bounds the manifest read for signing, as modelpkg bounds it.
const maxManifest = 64 << 20

// SignPackage writes to w the package read from r with sign's signature
// of its manifest added as [SignatureFile] (a previous signature is
// replaced). The package is opened with modelpkg.Open first, so only a
// well-formed package is signed; entries are copied without recompressing.
// It returns the parsed signature.
func SignPackage(ctx context.Context, w io.Writer, r io.ReaderAt, size int64, sign SignFunc) (*Signature, error) {
	pkg, err := modelpkg.Open(r, size, nil)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	mf, err := pkg.Open(modelpkg.DefaultManifestFile)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	manifest, err := io.ReadAll(io.LimitReader(mf, maxManifest))
	mf.Close()
	if err != nil {
		return nil, fmt.Errorf("sign: read manifest: %w", err)
	}
	armored, err := sign(manifest)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	sig, err := Parse(armored)
	if err != nil {
		return nil, fmt.Errorf("sign: the signer returned %w", err)
	}
	if err := sig.Verify(bytes.NewReader(manifest), Namespace); err != nil {
		return nil, fmt.Errorf("sign: the signer returned %w", err)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	zw := zip.NewWriter(w)
	var mod time.Time
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if f.Name == SignatureFile {
			continue
		}
		if f.Name == modelpkg.DefaultManifestFile {
			mod = f.Modified
		}
		if err := zw.Copy(f); err != nil {
			return nil, fmt.Errorf("sign: copy %s: %w", f.Name, err)
		}
	}
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: SignatureFile, Method: zip.Store, Modified: mod})
	if err != nil {
		return nil, err
	}
	if _, err := fw.Write(armored); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return sig, nil
}
