// Package sshsig signs and verifies model packages with SSH signatures:
// the SSHSIG format of `ssh-keygen -Y sign` (which git uses for signed
// commits), over the exact bytes of deployment_manifest.json. The
// manifest pins every file's SHA-256, so one signature covers the whole
// package. The signature travels in the package as
// deployment_manifest.json.sig ([SignatureFile]), made for the namespace
// [Namespace].
//
// [Sign] signs with any ssh.Signer or crypto.Signer (Ed25519, ECDSA, RSA
// with rsa-sha2-512), so keys held by an ssh-agent work through
// golang.org/x/crypto/ssh/agent, and hardware-token keys work by letting
// ssh-keygen sign. [Parse] reads an armored signature; [Signature.Verify]
// checks it against its own key; [AllowedSigners] is a trust policy in
// OpenSSH's allowed_signers format (principals, keys, namespaces=,
// valid-after=, valid-before=) and [AllowedSigners.Verify] returns the
// trusted principals. Signatures made here verify with `ssh-keygen -Y
// verify`, and ssh-keygen's verify here; the tests run both directions.
//
// # Errors
//
// [ErrMalformed] for a document that is not SSHSIG, [ErrBadSignature] for
// one that does not verify (wrong key, namespace, message or hash),
// [ErrUntrustedSigner] for a valid signature no policy line trusts at the
// verification time, [ErrInvalidPolicy] for an allowed-signers file that
// does not parse.
//
// # Security and limits
//
// Keys are parsed by golang.org/x/crypto/ssh. An armored signature is at
// most 64 KiB and a policy at most 4 MiB. Certificates (cert-authority
// lines, certificate signers) are not supported: such lines never match.
// RSA signatures made with SHA-1 are rejected, as OpenSSH does.
package sshsig

// Namespace is the SSHSIG namespace of package signatures: a signature
// made for another purpose (a git commit, a file) never verifies as a
// package signature.
const Namespace = "modelvault-package"

// SignatureFile is the package entry that carries the signature of
// deployment_manifest.json.
const SignatureFile = "deployment_manifest.json.sig"
