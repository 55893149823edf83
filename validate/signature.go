package validate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/modelpkg/sshsig"
)

// Sentinels of the signature findings (codes unsigned, untrusted_signer,
// bad_signature).
var (
	// ErrUnsigned: a trust policy is configured and the package carries no
	// signature.
	ErrUnsigned = modelpkg.NewError("unsigned", "validate: package is not signed")
	// ErrUntrustedSigner: the signature is valid but no line of the trust
	// policy trusts its key (for this namespace, at this time).
	ErrUntrustedSigner = modelpkg.NewError("untrusted_signer", "validate: untrusted signer")
	// ErrBadSignature: the signature is malformed or does not verify over
	// the manifest's bytes.
	ErrBadSignature = modelpkg.NewError("bad_signature", "validate: bad signature")
)

// maxSignatureFile bounds the signature file read.
const maxSignatureFile = 64 << 10

// Signer describes a package's verified signature.
type Signer struct {
	// Principal is the trusting policy line's principals (as `ssh-keygen
	// -Y find-principals` prints them), or "" without a policy.
	Principal string `json:"principal,omitempty"`
	// Fingerprint is the signing key's SHA256 fingerprint.
	Fingerprint string `json:"fingerprint"`
	// Trusted says whether a trust policy vouched for the key.
	Trusted bool `json:"trusted"`
}

// SignatureOptions configures [Signature].
type SignatureOptions struct {
	// Policy is the trust policy (an OpenSSH allowed_signers file parsed
	// by sshsig.ParseAllowedSigners). With a policy, an unsigned package
	// (unsigned), one signed by a key the policy does not trust
	// (untrusted_signer) and a bad signature (bad_signature) are errors.
	// Without one, a signature is verified when present (a bad one is an
	// error) and its key reported, and an unsigned package is fine.
	Policy *sshsig.AllowedSigners
	// Now returns the time the policy's valid-after and valid-before are
	// checked against (default time.Now).
	Now func() time.Time
}

// Signature verifies the package's SSH signature
// (deployment_manifest.json.sig over the manifest's exact bytes, see
// package modelpkg/sshsig) and records the signer in Report.Signer. The
// manifest pins every file's SHA-256 (checked by [SHA256]), so a valid
// signature covers every file.
func Signature(opts *SignatureOptions) Validator {
	var o SignatureOptions
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return Func(func(ctx context.Context, pkg *Package, r *Report) {
		if ctxDone(ctx, r) {
			return
		}
		mname := layoutOf(pkg).ManifestFile
		sname := mname + modelpkg.SignatureSuffix
		armored, err := readCappedFile(pkg.FS, sname, maxSignatureFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if o.Policy != nil {
				r.Errorf(ErrUnsigned, sname, "the package is not signed (%s is missing) and a trust policy is set", sname)
			}
			return
		case err != nil:
			r.Errorf(ErrBadSignature, sname, "%s: %v", sname, err)
			return
		}
		sig, err := sshsig.Parse(armored)
		if err != nil {
			r.Errorf(ErrBadSignature, sname, "%v", err)
			return
		}
		manifest, err := readCappedFile(pkg.FS, mname, 64<<20)
		if errors.Is(err, fs.ErrNotExist) {
			return // reported by RequiredFiles
		}
		if err != nil {
			r.AddError(mname, err)
			return
		}
		s := &Signer{Fingerprint: sig.Fingerprint()}
		if o.Policy == nil {
			if err := sig.Verify(bytes.NewReader(manifest), sshsig.Namespace); err != nil {
				r.Errorf(ErrBadSignature, sname, "%v", err)
				return
			}
			r.Signer = s
			return
		}
		who, err := o.Policy.Verify(sig, bytes.NewReader(manifest), sshsig.Namespace, o.Now())
		switch {
		case errors.Is(err, sshsig.ErrUntrustedSigner):
			r.Errorf(ErrUntrustedSigner, sname, "%v", err)
		case err != nil:
			r.Errorf(ErrBadSignature, sname, "%v", err)
		default:
			s.Principal, s.Trusted = who, true
			r.Signer = s
		}
	})
}

// readCappedFile reads name from fsys, failing beyond limit bytes.
func readCappedFile(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return data, nil
}
